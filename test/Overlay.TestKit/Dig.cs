using System.Globalization;
using System.Text.RegularExpressions;

namespace Overlay.TestKit;

/// <summary>How <see cref="Dig"/> asks.</summary>
public sealed record DigOptions
{
    public int Port { get; init; } = 53;

    /// <summary>+tcp: ask over TCP from the start.</summary>
    public bool Tcp { get; init; }

    /// <summary>+bufsize=N: the EDNS UDP size dig advertises (512 makes a large answer come back truncated).</summary>
    public int? BufferSize { get; init; }

    /// <summary>+noedns: a plain query without an OPT record (the classic 512-byte UDP limit).</summary>
    public bool NoEdns { get; init; }

    /// <summary>+ignore: keep a truncated UDP answer (TC set) instead of retrying over TCP.</summary>
    public bool IgnoreTruncation { get; init; }

    /// <summary>+time=N: seconds to wait for the reply; with +tries=1 a server that never answers costs this long.</summary>
    public int TimeoutSeconds { get; init; } = 2;

    /// <summary>More dig arguments, e.g. "+norecurse" or "-x" forms.</summary>
    public IReadOnlyList<string> Extra { get; init; } = [];
}

/// <summary>One resource record as dig prints it: owner name (without its trailing dot), TTL, type and data as printed.</summary>
public sealed record DigRecord(string Name, int Ttl, string Type, string Data);

/// <summary>
/// What dig saw. <see cref="Answered"/> is false when no reply came (dig exits 9: "no servers could be reached");
/// then <see cref="Status"/> is empty.
/// </summary>
public sealed record DigResult
{
    public required bool Answered { get; init; }

    /// <summary>The response code as dig names it: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR, NOTIMP.</summary>
    public required string Status { get; init; }

    /// <summary>The header flags dig lists: qr, aa, tc, rd, ra, ad, cd.</summary>
    public required IReadOnlySet<string> Flags { get; init; }

    public required IReadOnlyList<DigRecord> Answer { get; init; }

    public required IReadOnlyList<DigRecord> Authority { get; init; }

    /// <summary>The additional section without the OPT pseudo-record (dig prints that apart).</summary>
    public required IReadOnlyList<DigRecord> Additional { get; init; }

    /// <summary>";; Query time: N msec"; null without a reply.</summary>
    public int? QueryTimeMs { get; init; }

    /// <summary>The transport of the reply dig kept: "UDP" or "TCP" (from ";; SERVER: ... (UDP)").</summary>
    public string? Transport { get; init; }

    public required int ExitCode { get; init; }

    /// <summary>dig's whole output, for failure messages.</summary>
    public required string Output { get; init; }

    public bool Authoritative => Flags.Contains("aa");

    public bool Truncated => Flags.Contains("tc");

    public bool RecursionAvailable => Flags.Contains("ra");

    /// <summary>The data of the answer records of one type, e.g. the addresses of the A records.</summary>
    public IReadOnlyList<string> AnswerData(string type) =>
        [.. Answer.Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase)).Select(r => r.Data)];

    public override string ToString() => Output;
}

/// <summary>
/// `dig` (bind9-dnsutils), the independent DNS client of the tests: runs it (in a namespace, or on the host), always with
/// +tries=1 so that a lost reply shows as one, and parses its default output.
/// </summary>
public static partial class Dig
{
    /// <summary>Asks <paramref name="server"/> for <paramref name="name"/>'s <paramref name="type"/> records, from inside <paramref name="ns"/>.</summary>
    public static DigResult Query(NetNs? ns, string server, string name, string type = "A", DigOptions? options = null) =>
        Query(ns?.Name, server, name, type, options);

    /// <summary>As above, in the namespace named <paramref name="nsName"/> (a pod's, which no lab owns); null: on the host.</summary>
    public static DigResult Query(string? nsName, string server, string name, string type = "A", DigOptions? options = null)
    {
        (string file, string[] argv) = Command(nsName, server, name, type, options ?? new DigOptions());
        CommandResult result = Shell.RunCore(file, argv, environment: null, Shell.DefaultTimeout);
        return Parse(result.StdOut, result.ExitCode);
    }

    public static async Task<DigResult> QueryAsync(NetNs? ns, string server, string name, string type = "A", DigOptions? options = null, CancellationToken ct = default)
    {
        (string file, string[] argv) = Command(ns?.Name, server, name, type, options ?? new DigOptions());
        CommandResult result = await Shell.RunCoreAsync(file, argv, environment: null, Shell.DefaultTimeout, ct).ConfigureAwait(false);
        return Parse(result.StdOut, result.ExitCode);
    }

    /// <summary>The argument list dig gets (after "dig").</summary>
    public static IReadOnlyList<string> Arguments(string server, string name, string type, DigOptions options)
    {
        var args = new List<string>
        {
            "@" + server,
            "-p", options.Port.ToString(CultureInfo.InvariantCulture),
            "+tries=1",
            "+time=" + options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        };
        if (options.Tcp)
        {
            args.Add("+tcp");
        }
        if (options.NoEdns)
        {
            args.Add("+noedns");
        }
        if (options.BufferSize is { } size)
        {
            args.Add("+bufsize=" + size.ToString(CultureInfo.InvariantCulture));
        }
        if (options.IgnoreTruncation)
        {
            args.Add("+ignore");
        }
        args.AddRange(options.Extra);
        args.Add(name);
        args.Add(type);
        return args;
    }

    /// <summary>
    /// Parses dig's default output. When dig printed more than one reply (a truncated UDP answer retried over TCP
    /// prints ";; Truncated, retrying in TCP mode." and then the TCP reply), the last one counts.
    /// </summary>
    public static DigResult Parse(string output, int exitCode)
    {
        string status = "";
        var flags = new HashSet<string>(StringComparer.Ordinal);
        var answer = new List<DigRecord>();
        var authority = new List<DigRecord>();
        var additional = new List<DigRecord>();
        List<DigRecord>? section = null;
        int? queryTime = null;
        string? transport = null;
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (HeaderPattern().Match(line) is { Success: true } header)
            {
                // A new reply starts: forget what an earlier (truncated) one said.
                status = header.Groups["status"].Value;
                flags.Clear();
                answer.Clear();
                authority.Clear();
                additional.Clear();
                section = null;
                continue;
            }
            if (FlagsPattern().Match(line) is { Success: true } flagLine)
            {
                flags.UnionWith(flagLine.Groups["flags"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
                continue;
            }
            if (line.StartsWith(";; ", StringComparison.Ordinal) && line.EndsWith(" SECTION:", StringComparison.Ordinal))
            {
                section = line switch
                {
                    ";; ANSWER SECTION:" => answer,
                    ";; AUTHORITY SECTION:" => authority,
                    ";; ADDITIONAL SECTION:" => additional,
                    _ => null, // QUESTION
                };
                continue;
            }
            if (QueryTimePattern().Match(line) is { Success: true } time)
            {
                queryTime = int.Parse(time.Groups["ms"].Value, CultureInfo.InvariantCulture);
                continue;
            }
            if (ServerPattern().Match(line) is { Success: true } server)
            {
                transport = server.Groups["transport"].Value;
                continue;
            }
            if (line.Length == 0 || line.StartsWith(';'))
            {
                if (line.Length == 0)
                {
                    section = null;
                }
                continue;
            }
            if (section is not null && RecordPattern().Match(line) is { Success: true } record)
            {
                section.Add(new DigRecord(
                    record.Groups["name"].Value.TrimEnd('.'),
                    int.Parse(record.Groups["ttl"].Value, CultureInfo.InvariantCulture),
                    record.Groups["type"].Value,
                    record.Groups["data"].Value.Trim()));
            }
        }

        return new DigResult
        {
            Answered = status.Length > 0,
            Status = status,
            Flags = flags,
            Answer = answer,
            Authority = authority,
            Additional = additional,
            QueryTimeMs = queryTime,
            Transport = transport,
            ExitCode = exitCode,
            Output = output,
        };
    }

    private static (string File, string[] Argv) Command(string? nsName, string server, string name, string type, DigOptions options)
    {
        IReadOnlyList<string> args = Arguments(server, name, type, options);
        return nsName is null ? ("dig", [.. args]) : ("ip", ["netns", "exec", nsName, "dig", .. args]);
    }

    [GeneratedRegex(@"^;; ->>HEADER<<- opcode: \S+, status: (?<status>[A-Z]+), id: \d+")]
    private static partial Regex HeaderPattern();

    [GeneratedRegex(@"^;; flags:(?<flags>[a-z ]*);")]
    private static partial Regex FlagsPattern();

    [GeneratedRegex(@"^;; Query time: (?<ms>\d+) msec")]
    private static partial Regex QueryTimePattern();

    [GeneratedRegex(@"^;; SERVER: .*\((?<transport>[A-Z]+)\)$")]
    private static partial Regex ServerPattern();

    // "www.example.test.	5	IN	A	198.51.100.80": owner, TTL, class, type, then the data as printed.
    [GeneratedRegex(@"^(?<name>\S+)\s+(?<ttl>\d+)\s+(?<class>IN|CH|HS|CLASS\d+)\s+(?<type>\S+)\s*(?<data>.*)$")]
    private static partial Regex RecordPattern();
}
