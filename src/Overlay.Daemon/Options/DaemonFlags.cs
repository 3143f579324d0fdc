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
public static class DaemonFlags
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

    /// <summary>flannel flags that select features Overlay does not have; they are refused, not ignored.</summary>
    private static readonly Dictionary<string, string> Unsupported = new(StringComparer.Ordinal)
    {
        ["kube-subnet-mgr"] = "Overlay keeps leases in etcd only; drop --kube-subnet-mgr and pass --etcd-endpoints",
        ["kubeconfig-file"] = "Overlay keeps leases in etcd only",
        ["kube-api-url"] = "Overlay keeps leases in etcd only",
        ["net-config-path"] = "the network config is read from <etcd-prefix>/config",
    };

    public static DaemonOptions Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var options = new DaemonOptions();
        bool ifaceFromCommandLine = args.Any(a => NameOf(a) is "iface");
        bool regexFromCommandLine = args.Any(a => NameOf(a) is "iface-regex");

        var etcdGiven = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Flag flag in Flags.Where(f => f.Etcd is null))
        {
            foreach (string prefix in (string[])["FLANNELD_", "OVERLAYD_"])
            {
                string variable = prefix + flag.EnvironmentSuffix;
                if (!environment.TryGetValue(variable, out string? value) || value is null)
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
                    flag.Apply(options, value);
                }
                catch (UsageException e)
                {
                    throw new UsageException($"environment variable {variable}: {e.Message}");
                }
            }
        }

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

            if (Unsupported.TryGetValue(name, out string? why))
            {
                throw new UsageException($"flag --{name} is not supported: {why}");
            }

            Flag? flag = Flags.FirstOrDefault(f => f.Name == name)
                ?? throw new UsageException($"unknown flag --{name}{Suggest(name)}; see --help for the flags overlayd takes");

            if (value is null)
            {
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
                flag.Apply(options, value);
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

    public static string HelpText()
    {
        var text = new StringBuilder();
        text.Append("overlayd: a flannel-compatible VXLAN overlay network daemon\n\nUsage: overlayd [flags]\n\nFlags (each also from FLANNELD_<FLAG> or OVERLAYD_<FLAG>; the command line wins):\n");
        foreach (Flag flag in Flags)
        {
            string shown = flag.Kind == Kind.Bool ? $"--{flag.Name}" : $"--{flag.Name}=VALUE";
            text.Append(CultureInfo.InvariantCulture, $"  {shown,-36} {flag.Help}\n");
        }

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
        string? close = Flags.Select(f => f.Name).FirstOrDefault(f => f.Contains(name, StringComparison.Ordinal) || name.Contains(f, StringComparison.Ordinal));
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
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number < min || number > max)
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
