using System.Collections;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;
using Grpc.Core;
using Overlay.Cli.Commands;
using Overlay.Cli.Output;
using Overlay.Core.Config;
using Overlay.Leases;
using Overlay.Leases.Etcd;

namespace Overlay.Cli;

/// <summary>What one run hands the commands beyond the library's output streams.</summary>
internal sealed class CliInvocation(IReadOnlyDictionary<string, string?> environment, TextReader input, TimeProvider time) : InvocationConfiguration
{
    public IReadOnlyDictionary<string, string?> Environment { get; } = environment;

    public TextReader Input { get; } = input;

    public TimeProvider Time { get; } = time;
}

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
        ParseResult parse = CommandLine.Parse(args);
        if (parse.Action is ParseErrorAction errors)
        {
            return ParseErrors(parse, errors, stderr);
        }

        var invocation = new CliInvocation(environment, stdin, time)
        {
            Output = stdout,
            Error = stderr,
            // Program.cs handles SIGINT/SIGTERM (a watch ends with exit 0), and RunCommandAsync every exception.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parse.InvokeAsync(invocation, ct);
        }
        catch (UsageException e)
        {
            // From the root, or a group named without a verb.
            return Usage(stderr, e, CommandLine.PathOf(parse.CommandResult.Command));
        }
    }

    /// <summary>Runs one command's handler with its context, and turns what went wrong into a message and an exit status.</summary>
    internal static async Task<int> RunCommandAsync(ParseResult parse, CommandHandler handler, CancellationToken ct)
    {
        var invocation = (CliInvocation)parse.InvocationConfiguration;
        TextWriter stderr = invocation.Error;
        await using var context = new CliContext(parse, invocation.Input, invocation.Output, stderr, invocation.Time, () => EtcdFlagOptions.Resolve(parse, invocation.Environment));
        try
        {
            return await handler(context, ct);
        }
        catch (UsageException e)
        {
            return Usage(stderr, e, context.CommandPath);
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
        catch (Exception e) when (EtcdErrors.TlsProblem(e, context.Connection.Options.OverTls) is { } tls)
        {
            return Fail(stderr, $"cannot reach etcd at {string.Join(",", context.Connection.Options.Endpoints)} (endpoints from {context.Connection.EndpointsSource}) over TLS: {tls}");
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

    private static int Usage(TextWriter stderr, UsageException e, string command)
    {
        stderr.Write($"error: {e.Message}\n{SeeHelp(e.CommandPath ?? command)}");
        return UsageError;
    }

    /// <summary>
    /// The parser's errors, each as <c>error: ...</c>, then the library's typo corrections (e.g. 'lst' → list) and
    /// where help is; all on stderr, exit status 2.
    /// </summary>
    private static int ParseErrors(ParseResult parse, ParseErrorAction action, TextWriter stderr)
    {
        // An unknown flag's value ('--ouptut json') is not a second mistake: one error and one suggestion per flag.
        HashSet<string> values = ValuesOfUnknownFlags(parse);
        bool misplaced = false;
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (ParseError error in parse.Errors)
        {
            if (values.Any(v => error.Message == $"Unrecognized command or argument '{v}'."))
            {
                continue;
            }

            string line = $"error: {error.Message}{Hint(error, parse, ref misplaced)}\n";
            if (written.Add(line))
            {
                stderr.Write(line);
            }
        }

        // The library writes its corrections to Output and the errors (written above already) to Error. A
        // misplaced flag would only be "corrected" to itself.
        var corrections = new StringWriter();
        action.ShowHelp = false;
        action.ShowTypoCorrections = !misplaced;
        _ = parse.Invoke(new InvocationConfiguration { Output = corrections, Error = TextWriter.Null });
        string suggested = TypoCorrections.Without(corrections.ToString(), values);
        if (suggested.Length > 0)
        {
            stderr.Write(suggested + "\n");
        }

        stderr.Write(SeeHelp(CommandLine.PathOf(parse.CommandResult.Command)));
        return UsageError;
    }

    /// <summary>
    /// The unmatched tokens that directly follow an unmatched flag without '=' (<c>--ouptut json</c>): most likely that
    /// flag's value, which the library reports and "corrects" as an argument of its own.
    /// </summary>
    private static HashSet<string> ValuesOfUnknownFlags(ParseResult parse)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        var unmatched = new Queue<string>(parse.UnmatchedTokens);
        string? previousUnknownFlag = null;
        foreach (Token token in parse.Tokens)
        {
            bool isUnmatched = unmatched.Count > 0 && unmatched.Peek() == token.Value;
            if (!isUnmatched)
            {
                previousUnknownFlag = null;
                continue;
            }

            unmatched.Dequeue();
            if (previousUnknownFlag is not null && !token.Value.StartsWith('-'))
            {
                values.Add(token.Value);
                previousUnknownFlag = null;
                continue;
            }

            previousUnknownFlag = token.Value.Length > 1 && token.Value[0] == '-' && !token.Value.Contains('=', StringComparison.Ordinal) ? token.Value : null;
        }

        return values;
    }

    /// <summary>
    /// What the library cannot say about an unrecognised flag: Go's single-dash long flags (<c>-etcd-prefix=/x</c>)
    /// are not taken, and a command's own flags go after its words (<c>leases list -o json</c>).
    /// </summary>
    private static string Hint(ParseError error, ParseResult parse, ref bool misplaced)
    {
        Command command = parse.CommandResult.Command;
        foreach (string token in parse.UnmatchedTokens)
        {
            if (token.Length < 2 || token[0] != '-' || !error.Message.Contains($"'{token}'", StringComparison.Ordinal))
            {
                continue;
            }

            string name = token.Split('=')[0];
            if (command.Options.Any(o => o.Name == name || o.Aliases.Contains(name)))
            {
                misplaced = true;
                string path = CommandLine.PathOf(command);
                return $" ({name} is a flag of '{path}': put it after '{path}')";
            }

            if (name[1] != '-' && command.Options.Concat(CommandLine.Root.Options).Any(o => o.Name == "-" + name))
            {
                return $" (did you mean -{name}? long flags take two dashes)";
            }
        }

        return "";
    }

    private static string SeeHelp(string command) => $"See 'overlayctl {(command.Length == 0 ? "" : command + " ")}--help' for usage.\n";

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.Write($"error: {message}\n");
        return Failed;
    }

    private static Dictionary<string, string?> ProcessEnvironment() =>
        Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
}
