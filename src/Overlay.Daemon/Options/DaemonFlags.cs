using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Overlay.Core.Addressing;
using Overlay.Core.Text;
using Overlay.Daemon.Dns;
using Overlay.Leases;
using Overlay.Leases.Etcd;

namespace Overlay.Daemon.Options;

/// <summary>A usage error: exit status 2, and a message naming the flag and what is valid.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// flannel's flags (and Overlay's own), read from the environment (FLANNELD_X, then OVERLAYD_X, which wins)
/// and then from the command line, which wins over both. Accepts <c>--flag=value</c>, <c>--flag value</c> and
/// Go's single-dash <c>-flag</c>; a boolean flag alone means true.
/// </summary>
public static partial class DaemonFlags
{
    private enum Kind
    {
        Text,
        Bool,
        List,
    }

    private sealed record Flag(string Name, Kind Kind, string Help, Action<DaemonOptions, string> Apply)
    {
        public string EnvironmentSuffix => Name.ToUpperInvariant().Replace('-', '_');

        /// <summary>Set for an etcd flag: its value is kept for <see cref="EtcdFlags.Resolve"/>, which reads the environment itself.</summary>
        public EtcdFlag? Etcd { get; init; }

        /// <summary>Set for a flanneld flag overlayd accepts without effect: why it has none (the start-up warning says it).</summary>
        public string? NoEffect { get; init; }
    }

    private static readonly Flag[] Flags =
    [
        // The etcd flags are overlayctl's too: their names, variables, help and checks come from one table.
        .. EtcdFlags.All.Select(etcd => new Flag(etcd.Name, Kind.Text, etcd.Help, static (_, _) => { }) { Etcd = etcd }),
        new("iface", Kind.List, "interface name or IP to use for inter-node traffic (repeatable; tried in order)",
            (o, v) => o.Iface.AddRange(SplitList(v, "iface"))),
        new("iface-regex", Kind.List, "regex matched against interface IPs, then names (repeatable)",
            (o, v) => o.IfaceRegex.AddRange(SplitList(v, "iface-regex").Select(r => ValidRegex(r)))),
        new("iface-can-reach", Kind.Text, "use the interface that routes to this IP", (o, v) => o.IfaceCanReach = Address(v, "iface-can-reach", null)),
        new("public-ip", Kind.Text, "IPv4 address other nodes reach this node at (default: the interface's)",
            (o, v) => o.PublicIP = Address(v, "public-ip", AddressFamily.InterNetwork)),
        new("public-ipv6", Kind.Text, "IPv6 address other nodes reach this node at",
            (o, v) => o.PublicIPv6 = Address(v, "public-ipv6", AddressFamily.InterNetworkV6)),
        new("subnet-file", Kind.Text, "where to write the subnet file (default /run/flannel/subnet.env)",
            (o, v) => o.SubnetFile = NonEmpty(v, "subnet-file", "a file path")),
        new("subnet-lease-renew-margin", Kind.Text, "minutes before expiry to renew the lease, 1..1439 (default 60)",
            (o, v) => o.SubnetLeaseRenewMargin = Integer(v, "subnet-lease-renew-margin", 1, 1439)),
        new("subnet-lease-ttl", Kind.Text, "lease time to live, e.g. 24h or 90m (default 24h; Overlay only)",
            (o, v) => o.SubnetLeaseTtl = Duration(v, "subnet-lease-ttl", TimeSpan.FromMinutes(5))),
        new("ip-masq", Kind.Bool, "masquerade traffic leaving the pod network", (o, v) => o.IpMasq = Boolean(v, "ip-masq")),
        new("iptables-forward-rules", Kind.Bool, "accept forwarded pod-network traffic (default true)",
            (o, v) => o.IptablesForwardRules = Boolean(v, "iptables-forward-rules")),
        new("healthz-ip", Kind.Text, "address for /healthz, /readyz and /metrics (default 0.0.0.0)",
            (o, v) => o.HealthzIP = Address(v, "healthz-ip", null).ToString()),
        new("healthz-port", Kind.Text, "port for /healthz, /readyz and /metrics; 0 = off (default 0)",
            (o, v) => o.HealthzPort = Integer(v, "healthz-port", 0, 65535)),
        new("node-name", Kind.Text, "this node's identity in its lease (default: derived from machine-id and public IP; Overlay only)",
            (o, v) => o.NodeName = NonEmpty(v, "node-name", "a node name")),
        new("resync-interval", Kind.Text, "full kernel-against-etcd comparison interval, e.g. 30s (default 30s; Overlay only)",
            (o, v) => o.ResyncInterval = Duration(v, "resync-interval", TimeSpan.FromSeconds(1))),
        new("machine-id-file", Kind.Text, "machine-id file for the derived identity (default /etc/machine-id; Overlay only)",
            (o, v) => o.MachineIdFile = v),
        new("pods-dir", Kind.Text, "folder the CNI plugin writes pod records to, published to etcd (default: the subnet file's folder + /pods; Overlay only)",
            (o, v) => o.PodsDir = NonEmpty(v, "pods-dir", "a folder path")),
        new("pod-ttl", Kind.Text, "TTL of the etcd lease this node's pods are bound to, e.g. 30s (default 30s; Overlay only)",
            (o, v) => o.PodTtl = Duration(v, "pod-ttl", TimeSpan.FromSeconds(1))),
        new("dns", Kind.Bool, "answer DNS for the cluster zone on port 53 of this node's VXLAN address and forward other names (default true; Overlay only)",
            (o, v) => o.Dns = Boolean(v, "dns")),
        new("dns-upstream", Kind.Text, "resolvers for names outside the cluster zone: comma-separated IP, IP:port or [IPv6]:port (default: /etc/resolv.conf's nameservers; Overlay only)",
            (o, v) => o.DnsUpstream = Upstreams(v)),
        new("help", Kind.Bool, "show this help", (o, v) => o.Help = Boolean(v, "help")),
        new("version", Kind.Bool, "print the version", (o, v) => o.Version = Boolean(v, "version")),
    ];

    private const string KubeSubnetManagerRefusal =
        "overlayd keeps leases and the network config in etcd only; drop --kube-subnet-mgr and pass --etcd-endpoints";

    private const string KubeSubnetManagerSetting =
        "it configures flanneld's Kubernetes subnet manager (--kube-subnet-mgr), which overlayd does not have; leases and the network config are in etcd";

    private const string KlogOnly = "it is a klog option; overlayd does not use klog";

    private const string NoLogFiles = "overlayd writes no log files; it logs to standard error (the journal under systemd)";

    /// <summary>
    /// The rest of what flanneld v0.22 accepts (Go's flag package: flannel's own flags plus klog's -v, -vmodule and
    /// -log_backtrace_at), and klog's other flags, which flanneld itself refuses but operators carry over: accepted,
    /// each with one warning at start. Only <c>--kube-subnet-mgr</c> (true) is refused: it is the one that would make
    /// flanneld use the Kubernetes API; the other Kubernetes settings do nothing without it, in flanneld too.
    /// </summary>
    private static readonly Flag[] WithoutEffect =
    [
        new("kube-subnet-mgr", Kind.Bool, "flanneld's Kubernetes subnet manager: refused when true",
            (_, v) =>
            {
                if (Boolean(v, "kube-subnet-mgr"))
                {
                    throw new UsageException($"flag --kube-subnet-mgr is not supported: {KubeSubnetManagerRefusal}");
                }
            })
        { NoEffect = "leases are kept in etcd, as with flanneld's --kube-subnet-mgr=false" },
        Inert("kube-api-url", Kind.Text, KubeSubnetManagerSetting),
        Inert("kubeconfig-file", Kind.Text, KubeSubnetManagerSetting),
        Inert("kube-annotation-prefix", Kind.Text, KubeSubnetManagerSetting),
        Inert("net-config-path", Kind.Text, KubeSubnetManagerSetting + " (<etcd-prefix>/config)"),
        Inert("set-node-network-unavailable", Kind.Bool, KubeSubnetManagerSetting),
        Inert("use-multi-cluster-cidr", Kind.Bool, KubeSubnetManagerSetting),
        Inert("iptables-resync", Kind.Text, "overlayd checks its nftables tables every 5 s and restores them when changed; the period is fixed",
            v => Integer(v, "iptables-resync", 0, int.MaxValue)),
        Inert("v", Kind.Text, "overlayd's log has no verbosity levels; filter by priority instead (journalctl -p)",
            v => Integer(v, "v", 0, int.MaxValue)),
        Inert("vmodule", Kind.Text, KlogOnly),
        Inert("log_backtrace_at", Kind.Text, KlogOnly),
        Inert("logtostderr", Kind.Bool, "overlayd always logs to standard error (the journal under systemd)"),
        Inert("alsologtostderr", Kind.Bool, "overlayd always logs to standard error (the journal under systemd)"),
        Inert("log_dir", Kind.Text, NoLogFiles),
        Inert("log_file", Kind.Text, NoLogFiles),
        Inert("log_file_max_size", Kind.Text, NoLogFiles),
        Inert("one_output", Kind.Bool, NoLogFiles),
        Inert("skip_log_headers", Kind.Bool, NoLogFiles),
        Inert("stderrthreshold", Kind.Text, NoLogFiles),
        Inert("add_dir_header", Kind.Bool, KlogOnly),
        Inert("skip_headers", Kind.Bool, KlogOnly),
    ];

    private static Flag Inert(string name, Kind kind, string why, Action<string>? check = null) =>
        new(name, kind, "accepted for flanneld's sake, without effect", (options, v) =>
        {
            if (kind == Kind.Bool)
            {
                _ = Boolean(v, name);
            }

            check?.Invoke(v);
        })
        { NoEffect = why };

    public static DaemonOptions Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var options = new DaemonOptions();
        bool ifaceFromCommandLine = args.Any(a => NameOf(a) is "iface");
        bool regexFromCommandLine = args.Any(a => NameOf(a) is "iface-regex");

        var etcdGiven = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Flag flag in Flags.Where(f => f.Etcd is null).Concat(WithoutEffect))
        {
            foreach (string prefix in EnvironmentPrefixes)
            {
                string variable = prefix + flag.EnvironmentSuffix;

                // An empty variable is unset, as in flanneld (an environment file's "FLANNELD_IFACE=" line).
                if (!environment.TryGetValue(variable, out string? value) || string.IsNullOrEmpty(value))
                {
                    continue;
                }

                // A list flag given on the command line replaces the environment's list rather than adding to it.
                if ((flag.Name == "iface" && ifaceFromCommandLine) || (flag.Name == "iface-regex" && regexFromCommandLine))
                {
                    continue;
                }

                if (flag.Kind == Kind.List)
                {
                    (flag.Name == "iface" ? options.Iface : options.IfaceRegex).Clear();
                }

                try
                {
                    Give(options, flag, value, $"environment variable {variable}");
                }
                catch (UsageException e)
                {
                    throw new UsageException($"environment variable {variable}: {e.Message}");
                }
            }
        }

        options.UnknownVariables.AddRange(environment.Keys
            .Where(k => EnvironmentPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal)) && !IsFlagVariable(k))
            .Order(StringComparer.Ordinal));

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith('-') || arg == "-" || arg == "--")
            {
                throw new UsageException($"unexpected argument '{arg}': overlayd takes only flags; see --help");
            }

            string body = arg.TrimStart('-');
            int equals = body.IndexOf('=', StringComparison.Ordinal);
            string name = equals < 0 ? body : body[..equals];
            string? value = equals < 0 ? null : body[(equals + 1)..];
            if (name == "h")
            {
                name = "help"; // Go's flag package answers -h with the usage, as flanneld does
            }

            Flag? flag = Flags.Concat(WithoutEffect).FirstOrDefault(f => f.Name == name)
                ?? throw new UsageException($"unknown flag --{name}{Suggest(name)}; see --help for the flags overlayd takes");

            if (value is null)
            {
                // As in Go: a boolean flag alone means true (-ip-masq), and takes a value only after '=' (-ip-masq=false).
                if (flag.Kind == Kind.Bool)
                {
                    value = "true";
                }
                else if (i + 1 < args.Count)
                {
                    value = args[++i];
                }
                else
                {
                    throw new UsageException($"flag --{name} needs a value: {flag.Help}");
                }
            }

            if (flag.Etcd is not null)
            {
                etcdGiven[flag.Name] = value;
            }
            else
            {
                Give(options, flag, value, $"flag --{flag.Name}");
            }
        }

        ResolvedEtcdFlags etcd = EtcdFlags.Resolve(etcdGiven, environment);
        if (!etcd.IsValid)
        {
            throw new UsageException(etcd.Problems[0]);
        }

        options.Etcd = etcd.Options!;
        return options;
    }

    /// <summary>
    /// Every flag flanneld v0.22 accepts (its own, klog's -v, -vmodule and -log_backtrace_at), with what overlayd
    /// does with it: the table docs/configuration-reference.md shows.
    /// </summary>
    public static IReadOnlyList<FlanneldFlag> FlanneldFlags =>
    [
        .. FlanneldOwn.Select(name => Flags.Concat(WithoutEffect).Single(f => f.Name == name) switch
        {
            { Name: "kube-subnet-mgr" } => new FlanneldFlag(name, FlanneldFlagHandling.Refused, KubeSubnetManagerRefusal),
            { NoEffect: { } why } => new FlanneldFlag(name, FlanneldFlagHandling.WithoutEffect, why),
            { Help: var help } => new FlanneldFlag(name, FlanneldFlagHandling.Implemented, help),
        }),
    ];

    /// <summary>klog's flags that flanneld v0.22 does not copy into its flag set (it refuses them); overlayd accepts them without effect.</summary>
    public static IEnumerable<string> KlogOnlyFlags => WithoutEffect.Select(f => f.Name).Except(FlanneldOwn, StringComparer.Ordinal);

    /// <summary>The flags of flanneld v0.22's main.go, in its order, and the three klog flags it copies.</summary>
    private static readonly string[] FlanneldOwn =
    [
        "etcd-endpoints", "etcd-prefix", "etcd-keyfile", "etcd-certfile", "etcd-cafile", "etcd-username", "etcd-password",
        "iface", "iface-regex", "iface-can-reach", "subnet-file", "public-ip", "public-ipv6", "subnet-lease-renew-margin",
        "ip-masq", "kube-subnet-mgr", "kube-api-url", "kube-annotation-prefix", "kubeconfig-file", "version", "healthz-ip",
        "healthz-port", "iptables-resync", "iptables-forward-rules", "net-config-path", "set-node-network-unavailable",
        "use-multi-cluster-cidr", "v", "vmodule", "log_backtrace_at",
    ];

    private static readonly string[] EnvironmentPrefixes = ["FLANNELD_", "OVERLAYD_"];

    private static bool IsFlagVariable(string variable)
    {
        string suffix = variable[(variable.IndexOf('_', StringComparison.Ordinal) + 1)..];
        return Flags.Concat(WithoutEffect).Any(f => f.EnvironmentSuffix == suffix);
    }

    /// <summary>Applies a flag's value; a flag without effect is checked as flanneld would and noted once for the start-up warning.</summary>
    private static void Give(DaemonOptions options, Flag flag, string value, string source)
    {
        flag.Apply(options, value);
        if (flag.NoEffect is { } why && !options.FlagsWithoutEffect.Any(f => f.Flag == flag.Name))
        {
            options.FlagsWithoutEffect.Add(new FlagWithoutEffect(flag.Name, source, why));
        }
    }

    public static string HelpText()
    {
        var text = new StringBuilder();
        text.Append("overlayd: a flannel-compatible VXLAN overlay network daemon\n\nUsage: overlayd [flags]\n\nFlags (each also from FLANNELD_<FLAG> or OVERLAYD_<FLAG>; the command line wins):\n");
        foreach (Flag flag in Flags)
        {
            string shown = flag.Kind == Kind.Bool ? $"--{flag.Name}" : $"--{flag.Name}=VALUE";
            text.Append(CultureInfo.InvariantCulture, $"  {shown,-36} {flag.Help}\n");
        }

        text.Append("\nAccepted for flanneld's sake, without effect (a warning at start names each one given):\n");
        int column = 0;
        foreach (string name in WithoutEffect.Where(f => f.Name != "kube-subnet-mgr").Select(f => "--" + f.Name))
        {
            if (column > 0 && column + name.Length > 100)
            {
                text.Append('\n');
                column = 0;
            }

            text.Append(column == 0 ? "  " : " ").Append(name);
            column += name.Length + (column == 0 ? 2 : 1);
        }

        text.Append(CultureInfo.InvariantCulture, $"\nRefused: --kube-subnet-mgr ({KubeSubnetManagerRefusal})\n");
        return text.ToString();
    }

    public static IEnumerable<string> FlagNames => Flags.Select(f => f.Name);

    private static string? NameOf(string arg)
    {
        if (!arg.StartsWith('-'))
        {
            return null;
        }

        string body = arg.TrimStart('-');
        int equals = body.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? body : body[..equals];
    }

    private static string Suggest(string name)
    {
        string? close = Flags.Concat(WithoutEffect).Select(f => f.Name).Where(f => f.Length > 2).FirstOrDefault(f => f.Contains(name, StringComparison.Ordinal) || name.Contains(f, StringComparison.Ordinal));
        return close is null ? "" : $" (did you mean --{close}?)";
    }

    private static List<string> SplitList(string value, string flag)
    {
        List<string> items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (items.Count == 0)
        {
            throw new UsageException($"flag --{flag} is empty: give at least one value");
        }

        return items;
    }

    private static string ValidRegex(string pattern)
    {
        try
        {
            _ = new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
            return pattern;
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"flag --iface-regex: '{pattern}' is not a regular expression ({e.Message})");
        }
    }

    private static string NonEmpty(string value, string flag, string expected) =>
        string.IsNullOrWhiteSpace(value) ? throw new UsageException($"flag --{flag} is empty: give {expected}") : value;

    private static IPAddress Address(string value, string flag, AddressFamily? family)
    {
        if (!IPAddressMath.TryParseAddress(value, out IPAddress? address) || (family is { } f && address.AddressFamily != f))
        {
            string expected = family switch
            {
                AddressFamily.InterNetwork => "an IPv4 address such as 192.0.2.10",
                AddressFamily.InterNetworkV6 => "an IPv6 address such as 2001:db8::10",
                _ => "an IP address such as 192.0.2.10",
            };
            throw new UsageException($"flag --{flag}: '{value}' is not valid; give {expected}");
        }

        return address;
    }

    private static List<IPEndPoint> Upstreams(string value) =>
        UpstreamResolvers.TryParseList(value, out IReadOnlyList<IPEndPoint> upstreams, out string problem)
            ? [.. upstreams]
            : throw new UsageException($"flag --dns-upstream: {problem}");

    private static int Integer(string value, string flag, int min, int max)
    {
        if (!DecimalText.TryParse(value, out int number) || number < min || number > max)
        {
            throw new UsageException($"flag --{flag}: '{value}' is not valid; give a whole number from {min} to {max}");
        }

        return number;
    }

    private static bool Boolean(string value, string flag) =>
        FlagValues.TryParseBoolean(value, out bool parsed) ? parsed : throw new UsageException($"flag --{flag}: '{value}' is not valid; give true or false");

    /// <summary>Go-style durations: 24h, 90m, 30s, 1h30m, 500ms.</summary>
    internal static TimeSpan Duration(string value, string flag, TimeSpan minimum)
    {
        if (!FlagValues.TryParseGoDuration(value, out TimeSpan total, out string problem))
        {
            throw new UsageException($"flag --{flag}: '{value}' {problem}; give e.g. 24h, 90m or 30s");
        }

        if (total < minimum)
        {
            throw new UsageException($"flag --{flag}: '{value}' is too short; give at least {minimum}");
        }

        return total;
    }
}
