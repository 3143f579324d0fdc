using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace Overlay.TestKit;

public sealed class EtcdServerOptions
{
    /// <summary>Run etcd inside this namespace (via `ip netns exec`); ListenAddress must then be an address there.</summary>
    public NetNs? Namespace { get; init; }

    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>Serve clients over https with these certificates (peers stay on plain http: there is only one member).</summary>
    public TestCertificates? Tls { get; init; }

    /// <summary>Require client certificates signed by the test CA (only with Tls).</summary>
    public bool ClientCertAuth { get; init; }

    /// <summary>etcd's --name: this member's name in its cluster.</summary>
    public string Name { get; init; } = "ovt-etcd";

    /// <summary>Serve clients on this port instead of a free one (both ports must be given, or neither).</summary>
    public int? ClientPort { get; init; }

    /// <summary>Talk to peers on this port instead of a free one.</summary>
    public int? PeerPort { get; init; }

    /// <summary>
    /// etcd's --initial-cluster ("name=http://address:port,...") when this server is one member of a cluster
    /// (<see cref="EtcdCluster"/>); null: this member alone. Its health check then waits for a quorum.
    /// </summary>
    public string? InitialCluster { get; init; }
}

/// <summary>
/// A real single-member etcd 3.4 on free ports with a temporary data dir, for lease tests and end-to-end tests.
/// It can be stopped and started again on the same ports and data to simulate an outage.
/// </summary>
public sealed class EtcdServer : IAsyncDisposable
{
    /// <summary>How long StartAsync/StartAgainAsync wait for etcd to answer a health check.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private const string DataDirPrefix = "ovt-etcd-";
    private const int PortAttempts = 5;

    private static readonly Dictionary<string, string> EtcdctlEnvironment = new() { ["ETCDCTL_API"] = "3" };

    private readonly EtcdServerOptions options;
    private readonly StringBuilder log = new();
    private readonly SemaphoreSlim lifecycle = new(1, 1);
    private Process? process;
    private bool disposed;

    private EtcdServer(EtcdServerOptions options, string dataDir)
    {
        this.options = options;
        DataDir = dataDir;
    }

    public string Endpoint => $"{(options.Tls is null ? "http" : "https")}://{UrlHost}:{ClientPort.ToString(CultureInfo.InvariantCulture)}";

    public string PeerUrl => $"http://{UrlHost}:{PeerPort.ToString(CultureInfo.InvariantCulture)}";

    public int ClientPort { get; private set; }

    public int PeerPort { get; private set; }

    public string DataDir { get; }

    public NetNs? Namespace => options.Namespace;

    public TestCertificates? Tls => options.Tls;

    /// <summary>The pid of the running etcd, or null while stopped.</summary>
    public int? ProcessId => process is { HasExited: false } running ? running.Id : null;

    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    private string UrlHost => options.ListenAddress.Contains(':', StringComparison.Ordinal) ? $"[{options.ListenAddress}]" : options.ListenAddress;

    public static async Task<EtcdServer> StartAsync(EtcdServerOptions? options = null, CancellationToken ct = default)
    {
        options ??= new EtcdServerOptions();
        if (options.ClientCertAuth && options.Tls is null)
        {
            throw new ArgumentException("ClientCertAuth needs Tls", nameof(options));
        }
        TempLeftovers.Sweep();
        var dataDir = Directory.CreateTempSubdirectory($"{DataDirPrefix}{Environment.ProcessId}-").FullName;
        var server = new EtcdServer(options, dataDir);
        ExitCleanup.Register(server, server.KillAndDeleteNow);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                server.PickPorts();
                try
                {
                    await server.LaunchAndWaitHealthyAsync(ct).ConfigureAwait(false);
                    return server;
                }
                catch (EtcdStartException) when (attempt < PortAttempts && server.Log.Contains("address already in use", StringComparison.Ordinal))
                {
                    // Another process took a port between probing and binding; etcd binds before touching the data dir.
                    server.AppendLog($"--- retrying with other ports (attempt {attempt.ToString(CultureInfo.InvariantCulture)} hit a taken port) ---");
                }
            }
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task StopAsync()
    {
        await lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await KillAsync().ConfigureAwait(false);
        }
        finally
        {
            lifecycle.Release();
        }
    }

    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        await lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (process is { HasExited: false })
            {
                throw new InvalidOperationException("etcd is still running; StopAsync first");
            }
        }
        finally
        {
            lifecycle.Release();
        }
        AppendLog("--- started again ---");
        await LaunchAndWaitHealthyAsync(ct).ConfigureAwait(false);
    }

    public async Task CompactAsync(long revision) =>
        (await EtcdctlAsync("compact", "--physical", revision.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>etcdctl (API v3) against this server with its TLS flags, run where etcd runs (its namespace, if any).</summary>
    public CommandResult Etcdctl(params string[] args)
    {
        var (file, argv) = EtcdctlCommand(args);
        return Shell.RunCore(file, argv, EtcdctlEnvironment, Shell.DefaultTimeout);
    }

    public Task<CommandResult> EtcdctlAsync(params string[] args)
    {
        var (file, argv) = EtcdctlCommand(args);
        return Shell.RunCoreAsync(file, argv, EtcdctlEnvironment, Shell.DefaultTimeout, CancellationToken.None);
    }

    /// <summary>The etcdctl flags that reach this server (endpoint and TLS), for running etcdctl from elsewhere.</summary>
    public IReadOnlyList<string> EtcdctlConnectionFlags()
    {
        var flags = new List<string> { "--endpoints", Endpoint };
        if (options.Tls is { } tls)
        {
            flags.AddRange(["--cacert", tls.CaFile, "--cert", tls.ClientCertFile, "--key", tls.ClientKeyFile]);
        }
        return flags;
    }

    public void AttachLogIfFailed()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed)
        {
            TestContext.Out.WriteLine($"etcd log ({Endpoint}, data dir {DataDir}):");
            TestContext.Out.WriteLine(Log);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        await StopAsync().ConfigureAwait(false);
        DeleteDataDir();
        ExitCleanup.Unregister(this);
    }

    private (string File, string[] Argv) EtcdctlCommand(string[] args)
    {
        string[] etcdctl = ["etcdctl", .. EtcdctlConnectionFlags(), .. args];
        return options.Namespace is { } ns ? ("ip", ["netns", "exec", ns.Name, .. etcdctl]) : ("etcdctl", etcdctl[1..]);
    }

    private void PickPorts()
    {
        if (options is { ClientPort: int fixedClient, PeerPort: int fixedPeer })
        {
            ClientPort = fixedClient;
            PeerPort = fixedPeer;
            return;
        }
        if (options.Namespace is not null)
        {
            // The host cannot probe ports inside another namespace; a fresh namespace has nothing listening, and a
            // collision with a second etcd there is caught by the "address already in use" retry.
            ClientPort = Random.Shared.Next(20000, 32000);
            do
            {
                PeerPort = Random.Shared.Next(20000, 32000);
            }
            while (PeerPort == ClientPort);
            return;
        }
        var address = IPAddress.Parse(options.ListenAddress);
        var client = new TcpListener(address, 0);
        var peer = new TcpListener(address, 0);
        try
        {
            client.Start();
            peer.Start();
            ClientPort = ((IPEndPoint)client.LocalEndpoint).Port;
            PeerPort = ((IPEndPoint)peer.LocalEndpoint).Port;
        }
        finally
        {
            client.Stop();
            peer.Stop();
        }
    }

    private string[] EtcdArguments()
    {
        var args = new List<string>
        {
            "--name", options.Name,
            "--data-dir", DataDir,
            "--listen-client-urls", Endpoint,
            "--advertise-client-urls", Endpoint,
            "--listen-peer-urls", PeerUrl,
            "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", options.InitialCluster ?? $"{options.Name}={PeerUrl}",
            "--initial-cluster-state", "new",
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--log-level", "warn",
        };
        if (options.Tls is { } tls)
        {
            args.AddRange(["--cert-file", tls.ServerCertFile, "--key-file", tls.ServerKeyFile]);
            if (options.ClientCertAuth)
            {
                args.AddRange(["--client-cert-auth", "--trusted-ca-file", tls.CaFile]);
            }
        }
        return [.. args];
    }

    private async Task LaunchAndWaitHealthyAsync(CancellationToken ct)
    {
        await lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var args = EtcdArguments();
            var started = options.Namespace is { } ns
                ? Shell.StartRedirected("ip", ["netns", "exec", ns.Name, "etcd", .. args], environment: null)
                : Shell.StartRedirected("etcd", args, environment: null);
            process = started;
            _ = ProcessOutput.Pump(started.StandardOutput, log);
            _ = ProcessOutput.Pump(started.StandardError, log);
        }
        finally
        {
            lifecycle.Release();
        }

        var (healthFile, healthArgv) = EtcdctlCommand(["endpoint", "health", "--dial-timeout", "1s", "--command-timeout", "2s"]);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(StartTimeout);
        try
        {
            while (true)
            {
                var running = process;
                if (running is null || running.HasExited)
                {
                    var code = running?.ExitCode.ToString(CultureInfo.InvariantCulture) ?? "?";
                    // Let the output pumps drain what etcd printed before dying.
                    await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                    throw new EtcdStartException($"etcd at {Endpoint} exited with {code} before becoming healthy. Log:\n{Log}");
                }
                var health = await Shell.RunCoreAsync(healthFile, healthArgv, EtcdctlEnvironment, TimeSpan.FromSeconds(10), deadline.Token)
                    .ConfigureAwait(false);
                if (health.ExitCode == 0)
                {
                    return;
                }
                await Task.Delay(100, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await StopAsync().ConfigureAwait(false);
            throw new EtcdStartException($"etcd at {Endpoint} was not healthy within {StartTimeout}. Log:\n{Log}");
        }
        catch (EtcdStartException)
        {
            await StopAsync().ConfigureAwait(false);
            throw;
        }
        catch (OperationCanceledException)
        {
            await StopAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task KillAsync()
    {
        var running = process;
        process = null;
        if (running is null)
        {
            return;
        }
        try
        {
            running.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        await running.WaitForExitAsync().ConfigureAwait(false);
        running.Dispose();
    }

    private void KillAndDeleteNow()
    {
        if (process is { } running)
        {
            Shell.KillQuietly(running);
        }
        DeleteDataDir();
    }

    private void DeleteDataDir()
    {
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }

    private void AppendLog(string line)
    {
        lock (log)
        {
            log.Append(line).Append('\n');
        }
    }
}

/// <summary>etcd did not come up (it exited or never became healthy); the message carries its log.</summary>
public sealed class EtcdStartException(string message) : Exception(message);

/// <summary>
/// Temp folders named "ovt-etcd-&lt;pid&gt;-*", "ovt-pki-&lt;pid&gt;-*" and "ovt-dnsmasq-&lt;pid&gt;-*" of test hosts that died
/// without cleaning up: kills any process still using such a folder (an orphaned etcd or dnsmasq) and deletes the folder.
/// </summary>
public static class TempLeftovers
{
    public static void Sweep()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), "ovt-*-*-*"))
        {
            var parts = System.IO.Path.GetFileName(dir).Split('-');
            if (parts.Length < 4 || parts[1] is not ("etcd" or "pki" or "dnsmasq")
                || !int.TryParse(parts[2], CultureInfo.InvariantCulture, out var pid)
                || pid == Environment.ProcessId || ProcessState.IsAlive(pid))
            {
                continue;
            }
            var users = ProcessesMentioning(dir);
            foreach (var user in users)
            {
                ProcessState.Kill(user);
            }
            ProcessState.WaitUntilDead(users, TimeSpan.FromSeconds(5));
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // A concurrent sweeper got there first.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours to delete.
            }
        }
    }

    private static List<int> ProcessesMentioning(string path)
    {
        var pids = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(entry), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                var cmdline = File.ReadAllText(System.IO.Path.Combine(entry, "cmdline"));
                if (cmdline.Contains(path, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process exited while we looked.
            }
            catch (UnauthorizedAccessException)
            {
                // Not readable; cannot be an etcd we started as root anyway.
            }
        }
        return pids;
    }
}
