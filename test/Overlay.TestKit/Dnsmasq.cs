using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Overlay.TestKit;

/// <summary>An address record dnsmasq serves (--host-record): A for an IPv4 address, AAAA for an IPv6 one.</summary>
public sealed record DnsmasqHostRecord(string Name, string Address);

/// <summary>A TXT record dnsmasq serves (--txt-record), one character-string per element (each at most 255 bytes).</summary>
public sealed record DnsmasqTxtRecord(string Name, IReadOnlyList<string> Strings)
{
    /// <summary>
    /// A TXT record of about <paramref name="bytes"/> bytes of text (strings of 200 'x'), too large for a 512-byte
    /// UDP answer: a query with +bufsize=512 gets TC set and the whole record only over TCP.
    /// </summary>
    public static DnsmasqTxtRecord Large(string name, int bytes = 1000) =>
        new(name, [.. Enumerable.Range(0, (bytes + 199) / 200).Select(_ => new string('x', 200))]);
}

/// <summary>How to run a <see cref="Dnsmasq"/>.</summary>
public sealed class DnsmasqOptions
{
    /// <summary>The namespace dnsmasq runs in (via `ip netns exec`); <see cref="ListenAddress"/> must be an address there.</summary>
    public required NetNs Namespace { get; init; }

    /// <summary>The one address it listens on (--listen-address with --bind-interfaces), IPv4 or IPv6.</summary>
    public required string ListenAddress { get; init; }

    public int Port { get; init; } = 53;

    /// <summary>
    /// The zone dnsmasq answers alone (--local=/zone/): a name in it that no record names is NXDOMAIN. Null: no such
    /// zone. Nothing is forwarded anywhere (--no-resolv).
    /// </summary>
    public string? Zone { get; init; } = "example.test";

    public IReadOnlyList<DnsmasqHostRecord> HostRecords { get; init; } = [];

    public IReadOnlyList<DnsmasqTxtRecord> TxtRecords { get; init; } = [];

    /// <summary>A hosts-format file of further names (--addn-hosts), e.g. the benchmark's 10,000 service names.</summary>
    public string? HostsFile { get; init; }

    /// <summary>The TTL of the answers from its own records (--local-ttl; dnsmasq's default is 0).</summary>
    public int LocalTtl { get; init; } = 5;

    /// <summary>Log every query and its answer (--log-queries) into <see cref="Dnsmasq.Log"/>; costly under load.</summary>
    public bool LogQueries { get; init; }

    /// <summary>More dnsmasq arguments, as dnsmasq takes them.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>How long <see cref="Dnsmasq.StartAsync"/> waits for the first answer.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A real dnsmasq (Debian's dnsmasq-base) in a namespace, serving a test zone from the records a test gives and
/// nothing else: no /etc/hosts, no resolv.conf, no configuration file, nothing forwarded. The upstream resolver of the
/// DNS end-to-end tests and the comparison of the DNS benchmark. It runs in the foreground, logs to stderr (captured
/// in <see cref="Log"/>), keeps its pid file and anything it needs in a temporary folder, and is killed and its folder
/// removed on Dispose, and when the test host exits without disposing it.
/// </summary>
public sealed class Dnsmasq : IAsyncDisposable, IDisposable
{
    private const string FolderPrefix = "ovt-dnsmasq-";

    private readonly DnsmasqOptions options;
    private readonly Process process;
    private bool disposed;

    private Dnsmasq(DnsmasqOptions options, string folder, Process process)
    {
        this.options = options;
        Folder = folder;
        this.process = process;
    }

    public NetNs Namespace => options.Namespace;

    public string Address => options.ListenAddress;

    public int Port => options.Port;

    /// <summary>The temporary folder holding the pid file (and whatever a test puts there, e.g. a hosts file).</summary>
    public string Folder { get; }

    public string PidFile => Path.Combine(Folder, "dnsmasq.pid");

    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>Everything dnsmasq logged so far (start-up, warnings, and the queries with <see cref="DnsmasqOptions.LogQueries"/>).</summary>
    public string Log => ProcessOutput.Of(process);

    /// <summary>A resolv.conf naming this server, for <see cref="NetNs.SetResolvConf"/> (only port 53 can be named there).</summary>
    public string ResolvConf => $"nameserver {Address}\n";

    /// <summary>Starts dnsmasq and returns once it answers a query (checked with dig from its namespace).</summary>
    public static async Task<Dnsmasq> StartAsync(DnsmasqOptions options, CancellationToken ct = default)
    {
        Root.Require();
        TempLeftovers.Sweep();
        string folder = Directory.CreateTempSubdirectory($"{FolderPrefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-").FullName;
        Process process;
        try
        {
            process = options.Namespace.Start("dnsmasq", Arguments(options, Path.Combine(folder, "dnsmasq.pid")));
        }
        catch
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }
        var server = new Dnsmasq(options, folder, process);
        ExitCleanup.Register(server, server.Dispose);
        try
        {
            await server.WaitUntilAnsweringAsync(ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>dnsmasq's command line after "dnsmasq".</summary>
    public static IReadOnlyList<string> Arguments(DnsmasqOptions options, string pidFile)
    {
        var args = new List<string>
        {
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file=" + pidFile,
            "--log-facility=-",
            // Stay root: the pid file and hosts file live in a folder only root can read.
            "--user=root",
            "--listen-address=" + options.ListenAddress,
            "--bind-interfaces",
            "--port=" + options.Port.ToString(CultureInfo.InvariantCulture),
            "--local-ttl=" + options.LocalTtl.ToString(CultureInfo.InvariantCulture),
        };
        if (options.Zone is { } zone)
        {
            args.Add($"--local=/{zone}/");
        }
        if (options.LogQueries)
        {
            args.Add("--log-queries");
        }
        foreach (DnsmasqHostRecord record in options.HostRecords)
        {
            args.Add($"--host-record={record.Name},{record.Address}");
        }
        foreach (DnsmasqTxtRecord record in options.TxtRecords)
        {
            if (record.Strings.Any(s => s.Contains(',', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(s) > 255))
            {
                throw new ArgumentException($"TXT strings of {record.Name} must be at most 255 bytes without commas", nameof(options));
            }
            args.Add($"--txt-record={record.Name},{string.Join(',', record.Strings)}");
        }
        if (options.HostsFile is { } hosts)
        {
            args.Add("--addn-hosts=" + hosts);
        }
        args.AddRange(options.ExtraArgs);
        return args;
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        ExitCleanup.Unregister(this);
        // Its TCP answers come from forked children: the whole tree goes. The lab disposes the Process object.
        Shell.KillQuietly(process);
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }

    private async Task WaitUntilAnsweringAsync(CancellationToken ct)
    {
        var probe = new DigOptions { Port = options.Port, TimeoutSeconds = 1 };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                ProcessOutput.WaitForEnd(process, TimeSpan.FromSeconds(5));
                throw new InvalidOperationException(
                    $"dnsmasq on {options.ListenAddress} port {options.Port.ToString(CultureInfo.InvariantCulture)} in {options.Namespace} exited with {process.ExitCode.ToString(CultureInfo.InvariantCulture)}:\n{Log}");
            }
            // Any reply will do (NXDOMAIN included): it proves the socket is bound and served.
            DigResult reply = await Dig.QueryAsync(options.Namespace, options.ListenAddress, options.Zone ?? "probe.invalid", "SOA", probe, ct).ConfigureAwait(false);
            if (reply.Answered)
            {
                return;
            }
            if (clock.Elapsed > options.StartTimeout)
            {
                throw new TimeoutException($"dnsmasq on {options.ListenAddress} did not answer within {options.StartTimeout}:\n{Log}");
            }
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }
}
