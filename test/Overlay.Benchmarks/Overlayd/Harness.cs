using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Overlay.TestKit;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>What the overlayd benchmarks share: options, the cluster, fake flannel leases, timing and tables.</summary>
internal static partial class Harness
{
    public const string PodNetwork = "100.64.0.0/10";
    public const string NetworkConfigJson = "{\"Network\":\"100.64.0.0/10\",\"Backend\":{\"Type\":\"vxlan\"}}";
    public const string Prefix = "/coreos.com/network";

    public static readonly IPNetwork Pod = IPNetwork.Parse(PodNetwork);

    /// <summary>overlayd.dll built beside the benchmark (the project references src/Overlay.Daemon), or --overlayd PATH.</summary>
    public static IReadOnlyList<string> OverlaydPaths(string[] args)
    {
        var paths = new List<string>();
        for (int i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--overlayd")
            {
                paths.Add(Path.GetFullPath(args[i + 1]));
            }
        }

        return paths.Count > 0 ? paths : [Path.Combine(AppContext.BaseDirectory, "overlayd.dll")];
    }

    public static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public static bool RequireRoot(string what)
    {
        if (Root.IsRoot)
        {
            return true;
        }

        Console.Error.WriteLine($"the {what} benchmark needs root (network namespaces, etcd, overlayd)");
        return false;
    }

    /// <summary>A cluster with etcd and the pod network config, no nodes yet; overlayd is started by the benchmark.</summary>
    public static Task<OverlayCluster> StartClusterAsync(string overlayd) =>
        OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = overlayd,
            Nodes = 0,
            NetworkConfig = NetworkConfigJson,
            Prefix = Prefix,
            StartDaemons = false,
        });

    public static NamespacedEtcd EtcdClient(OverlayCluster cluster) => new(cluster.Etcd.Endpoint, cluster.Switch.Path);

    /// <summary>
    /// The lease of fake remote node <paramref name="index"/> (0..16383): subnet 100.(64+i/256).(i%256).0/24, a VtepMAC
    /// unique to the index (and to <paramref name="family"/>, so sets never share MACs), and a public IP spread over
    /// 203.0.113.1-254 and 198.51.100.1-254 (several MACs may share one IP; no MAC is claimed by two IPs).
    /// </summary>
    public static (IPNetwork Subnet, string Key, string Value) FakeLease(int index, byte family = 0)
    {
        var subnet = new IPNetwork(new IPAddress([100, (byte)(64 + (index >> 8)), (byte)(index & 0xff), 0]), 24);
        string mac = string.Create(CultureInfo.InvariantCulture, $"0e:4b:{family:x2}:00:{index >> 8:x2}:{index & 0xff:x2}");
        string publicIp = index % 2 == 0
            ? string.Create(CultureInfo.InvariantCulture, $"203.0.113.{index / 2 % 254 + 1}")
            : string.Create(CultureInfo.InvariantCulture, $"198.51.100.{index / 2 % 254 + 1}");
        string key = string.Create(CultureInfo.InvariantCulture, $"{Prefix}/subnets/{subnet.BaseAddress}-24");
        string value = "{\"PublicIP\":\"" + publicIp + "\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"" + mac + "\"}}";
        return (subnet, key, value);
    }

    /// <summary>The node's own /24 from its subnet.env (FLANNEL_SUBNET=100.x.y.1/24).</summary>
    public static IPNetwork OwnSubnet(ClusterNode node)
    {
        byte[] octets = IPAddress.Parse(node.Subnet.Split('/')[0]).GetAddressBytes();
        octets[3] = 0;
        return new IPNetwork(new IPAddress(octets), 24);
    }

    /// <summary>Puts fake leases 0..count-1 under one long lease; returns when etcd holds them all.</summary>
    public static async Task LoadLeasesAsync(NamespacedEtcd etcd, int count, long lease)
    {
        var clock = Stopwatch.StartNew();
        var pairs = Enumerable.Range(0, count).Select(i => FakeLease(i)).Select(l => KeyValuePair.Create(l.Key, l.Value)).ToList();
        await etcd.PutAllAsync(pairs, lease);
        long inEtcd = await etcd.CountAsync(Prefix + "/subnets/");
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"put {count} leases in {clock.Elapsed.TotalMilliseconds:F0} ms ({inEtcd} lease keys in etcd)"));
    }

    /// <summary>Waits (polling every millisecond) until the condition holds; returns the elapsed time or null on timeout.</summary>
    public static TimeSpan? WaitFor(long startedAt, Func<bool> condition, TimeSpan timeout)
    {
        while (true)
        {
            if (condition())
            {
                return Stopwatch.GetElapsedTime(startedAt);
            }

            if (Stopwatch.GetElapsedTime(startedAt) > timeout)
            {
                return null;
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>How many "ready:" lines this run of overlayd printed, and the last one's "in M ms".</summary>
    public static (int Count, double? Milliseconds, int? Peers) ReadyLines(Process daemon)
    {
        MatchCollection matches = ReadyPattern().Matches(ProcessOutput.Of(daemon));
        if (matches.Count == 0)
        {
            return (0, null, null);
        }

        Match last = matches[^1];
        return (matches.Count, double.Parse(last.Groups["ms"].Value, CultureInfo.InvariantCulture), int.Parse(last.Groups["peers"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>VmRSS and VmHWM of a process in MiB, from /proc/PID/status.</summary>
    public static (double Rss, double Hwm) Memory(int pid)
    {
        double rss = 0, hwm = 0;
        foreach (string line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kib(line) / 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kib(line) / 1024;
            }
        }

        return (rss, hwm);

        static double Kib(string line) => double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>A markdown table of timings: n, p50, p99 (nearest rank), min, max.</summary>
    public sealed class Table(string title)
    {
        private readonly List<(string Name, List<double> Values, string Goal)> _rows = [];

        public void Add(string name, double value, string goal = "")
        {
            var row = _rows.FirstOrDefault(r => r.Name == name);
            if (row.Values is null)
            {
                row = (name, [], goal);
                _rows.Add(row);
            }

            row.Values.Add(value);
        }

        public void Print()
        {
            Console.WriteLine();
            Console.WriteLine(title);
            Console.WriteLine();
            Console.WriteLine("| measurement | n | p50 | p99 | min | max | goal |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
            foreach ((string name, List<double> values, string goal) in _rows)
            {
                double[] sorted = [.. values.Order()];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {sorted.Length} | {Percentile(sorted, 50):F1} | {Percentile(sorted, 99):F1} | {sorted[0]:F1} | {sorted[^1]:F1} | {goal} |"));
            }
        }
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double percent)
    {
        int rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static string Machine()
    {
        string load = File.ReadAllText("/proc/loadavg").Split(' ') is var f ? $"{f[0]} {f[1]} {f[2]}" : "?";
        return $"{Environment.ProcessorCount} cores, kernel {Environment.OSVersion.Version}, load average {load}";
    }

    [GeneratedRegex(@"ready: (?<peers>\d+) peers programmed, (?<ms>\d+) ms after the process started")]
    private static partial Regex ReadyPattern();
}
