using System.Collections;
using System.Reflection;
using Grpc.Core;
using Overlay.Cli.Commands;
using Overlay.Core.Config;
using Overlay.Leases;
using Overlay.Leases.Etcd;

namespace Overlay.Cli;

/// <summary>
/// overlayctl as a function: arguments, environment and streams in, exit status out (0 done, 1 the operation
/// failed, 2 usage error). <c>Program.cs</c> calls it with the console; tests call it directly.
/// </summary>
public static class OverlayCtl
{
    public const int Done = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    public static string Version =>
        typeof(OverlayCtl).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, TimeProvider time, CancellationToken ct) =>
        RunAsync(args, ProcessEnvironment(), stdin, stdout, stderr, time, ct);

    public static async Task<int> RunAsync(
        string[] args,
        IReadOnlyDictionary<string, string?> environment,
        TextReader stdin,
        TextWriter stdout,
        TextWriter stderr,
        TimeProvider time,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        ParsedCommandLine line;
        try
        {
            line = CommandLine.Parse(args);
        }
        catch (UsageException e)
        {
            return Usage(stderr, e, null);
        }

        if (line.Command is null)
        {
            stdout.Write(CommandLine.HelpText(line.HelpTopic));
            return Done;
        }

        await using var context = new CliContext(line, stdin, stdout, stderr, time, () => Connection.Resolve(line, environment));
        try
        {
            return await DispatchAsync(context, ct);
        }
        catch (UsageException e)
        {
            return Usage(stderr, e, line.Command.Path);
        }
        catch (CommandFailedException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Fail(stderr, "interrupted");
        }
        catch (InvalidNetworkConfigException e)
        {
            return Fail(stderr, e.Message);
        }
        // A plain IOException is our own output failing (a closed pipe), not etcd: the last catch reports it.
        catch (Exception e) when (e is not IOException && EtcdErrors.IsTransient(e, ct))
        {
            return Fail(stderr, Unreachable(context.Connection, e));
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.InvalidArgument)
        {
            return Fail(stderr, $"etcd refused the request ({EtcdErrors.Describe(e)}); check --etcd-username and --etcd-password (or OVERLAYD_ETCD_USERNAME / OVERLAYD_ETCD_PASSWORD) and the user's permissions on {context.Connection.Options.Prefix}");
        }
        catch (RpcException e)
        {
            return Fail(stderr, $"etcd call failed: {EtcdErrors.Describe(e)}");
        }
        catch (Exception e) when (e is ArgumentException or IOException or System.Security.Cryptography.CryptographicException or InvalidOperationException)
        {
            return Fail(stderr, e.Message);
        }
    }

    private static Task<int> DispatchAsync(CliContext c, CancellationToken ct) => c.Line.Command!.Path switch
    {
        "leases list" => LeasesCommands.ListAsync(c, ct),
        "leases get" => LeasesCommands.GetAsync(c, ct),
        "leases watch" => LeasesCommands.WatchAsync(c, ct),
        "leases reserve" => LeasesCommands.ReserveAsync(c, ct),
        "leases release" => LeasesCommands.ReleaseAsync(c, ct),
        "leases gc" => LeasesCommands.GcAsync(c, ct),
        "config get" => ConfigCommands.GetAsync(c, ct),
        "config set" => ConfigCommands.SetAsync(c, ct),
        "config validate" => ConfigCommands.ValidateAsync(c, ct),
        "status" => StatusCommand.RunAsync(c, ct),
        "pod run" => Pods.PodCommands.RunAsync(c, ct),
        "pod rm" => Pods.PodCommands.RemoveAsync(c, ct),
        "pod list" => Pods.PodCommands.ListAsync(c, ct),
        "version" => PrintVersion(c),
        string path => throw new InvalidOperationException($"command '{path}' has no handler"),
    };

    private static Task<int> PrintVersion(CliContext c)
    {
        c.Out.Write($"overlayctl {Version}\n");
        return Task.FromResult(Done);
    }

    /// <summary>Which endpoints were tried, where they came from, what went wrong, and how to point elsewhere.</summary>
    internal static string Unreachable(Connection connection, Exception e)
    {
        string detail = EtcdErrors.Describe(e);
        if (e is RpcException { Status.DebugException: { } cause } && !detail.Contains(cause.Message, StringComparison.Ordinal))
        {
            detail += $" ({cause.Message})";
        }

        string endpoints = string.Join(",", connection.Options.Endpoints);
        return $"cannot reach etcd at {endpoints} (endpoints from {connection.EndpointsSource}): {detail}\n"
            + $"Check that etcd is running there and reachable from this host, or point overlayctl at your etcd with --etcd-endpoints=https://HOST:2379 "
            + "(or OVERLAYD_ETCD_ENDPOINTS / FLANNELD_ETCD_ENDPOINTS), plus --etcd-cafile/--etcd-certfile/--etcd-keyfile for TLS.";
    }

    private static int Usage(TextWriter stderr, UsageException e, string? command)
    {
        string? path = e.CommandPath ?? command;
        stderr.Write($"error: {e.Message}\nSee 'overlayctl {(path is null ? "" : path + " ")}--help' for usage.\n");
        return UsageError;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.Write($"error: {message}\n");
        return Failed;
    }

    private static Dictionary<string, string?> ProcessEnvironment() =>
        Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
}
