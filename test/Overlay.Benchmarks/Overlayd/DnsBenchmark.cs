using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Overlay.Core.Processes;
using Overlay.TestKit;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// Cluster DNS under load, side by side in one run: S services in etcd (as the services benchmark puts them), one node
/// running overlayd, a pod on it running dnsperf. Against overlayd's DNS at the cluster DNS address (198.19.0.10,
/// DNATed to the node's listener) and against dnsmasq serving the same S names from a hosts file in a namespace on
/// the node's pod bridge. Two query mixes: every service's name (NOERROR) and as many names in the zone that do not
/// exist (NXDOMAIN). Each (server, mix) runs unthrottled for queries per second, then at fixed rates with dnsperf -v
/// for the per-query latencies (p50/p99). Then overlayd's VmRSS with DNS and with --dns=false.
/// </summary>
internal static partial class DnsBenchmark
{
    public const string ClusterDns = "198.19.0.10";
    public const string Zone = "cluster.local";

    public static async Task<int> Run(string[] args)
    {
        int services = Option(args, "--services", 10_000);
        int seconds = Option(args, "--seconds", 10);
        int clients = Option(args, "--clients", 4);
        int outstanding = Option(args, "--outstanding", 100);
        int[] latencyRates = [.. StringOption(args, "--latency-qps", "2000,10000").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(r => int.Parse(r, CultureInfo.InvariantCulture))];
        int settle = Option(args, "--settle", 10);
        int rounds = Option(args, "--rounds", 1);
        string[] targets = StringOption(args, "--targets", "dnsmasq,overlayd").Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (!RequireRoot("dns"))
        {
            return 1;
        }

        foreach (string overlayd in OverlaydPaths(args))
        {
            bool measureOverlayd = targets.Contains("overlayd");
            if (measureOverlayd && !await SupportsDnsAsync(overlayd))
            {
                Console.Error.WriteLine($"{overlayd} has no --dns flag (it does not serve DNS yet): not measuring overlayd's DNS");
                measureOverlayd = false;
            }

            await RunOnceAsync(overlayd, services, targets.Contains("dnsmasq"), measureOverlayd,
                new DnsperfLoad(seconds, clients, outstanding, latencyRates), settle, rounds);
        }

        return 0;
    }

    private static async Task RunOnceAsync(string overlayd, int services, bool measureDnsmasq, bool measureOverlayd, DnsperfLoad load, int settle, int rounds)
    {
        string title = string.Create(CultureInfo.InvariantCulture,
            $"dns: {Path.GetFileName(overlayd)}, {services} services, dnsperf -l {load.Seconds} -c {load.Clients} -q {load.Outstanding}; latency at -Q {string.Join(", ", load.LatencyRates)}; {Machine()}");
        await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = overlayd,
            Nodes = 0,
            NetworkConfig = "{\"Network\":\"" + PodNetwork + "\",\"ServiceNetwork\":\"" + ServicesBenchmark.ServiceNetwork + "\",\"Backend\":{\"Type\":\"vxlan\"}}",
            Prefix = Prefix,
            StartDaemons = false,
        });
        string folder = Directory.CreateTempSubdirectory("ovt-dnsbench-").FullName;
        try
        {
            using NamespacedEtcd etcd = EtcdClient(cluster);
            var clock = Stopwatch.StartNew();
            await etcd.PutAllAsync([.. Enumerable.Range(0, services).SelectMany(i => ServicesBenchmark.ServiceKeys(ServicesBenchmark.Service(i, 1)))], 0);
            Console.Error.WriteLine($"put {services} services in {clock.ElapsedMilliseconds} ms");

            ClusterNode node = cluster.AddNode();
            Process daemon = StartOverlayd(node, services, dns: measureOverlayd);
            NetNs pod = node.AddPod();

            string inZone = WriteQueries(folder, "in-zone.txt", services, i => $"{ServiceName(i)} A");
            string missing = WriteQueries(folder, "nxdomain.txt", services, i => $"nosuch-{i.ToString(CultureInfo.InvariantCulture)}.{ServicesBenchmark.Namespace}.svc.{Zone} A");
            string hosts = WriteQueries(folder, "hosts", services, i => $"{ServicesBenchmark.ClusterIP(i)} {ServiceName(i)}");

            var servers = new List<(string Name, string Address)>();
            Dnsmasq? dnsmasq = null;
            if (measureDnsmasq)
            {
                NetNs dnsmasqNs = AddNamespaceOnPodBridge(cluster, node, "dnsmasq", hostOffset: 3);
                dnsmasq = await Dnsmasq.StartAsync(new DnsmasqOptions
                {
                    Namespace = dnsmasqNs,
                    ListenAddress = PodBridgeAddress(node, 3),
                    Zone = Zone,
                    HostsFile = hosts,
                });
                servers.Add(("dnsmasq (hosts file)", dnsmasq.Address));
            }

            (double Rss, double Hwm)? idleWithDns = null;
            if (measureOverlayd)
            {
                Thread.Sleep(TimeSpan.FromSeconds(settle));
                idleWithDns = Memory(daemon.Id);
                servers.Add(("overlayd", ClusterDns));
            }

            try
            {
                foreach ((string name, string address) in servers)
                {
                    CheckAnswers(pod, name, address, services);
                }

                // Rounds and servers alternate, so that both see the same machine (its load changes by the minute).
                var rows = new List<DnsperfRow>();
                for (int round = 1; round <= rounds; round++)
                {
                    foreach ((string mix, string file) in new[] { ("in zone (NOERROR)", inZone), ("NXDOMAIN", missing) })
                    {
                        foreach ((string name, string address) in servers)
                        {
                            string label = rounds > 1 ? $"{name}, round {round.ToString(CultureInfo.InvariantCulture)}" : name;
                            rows.AddRange(await MeasureAsync(pod, label, address, mix, file, load));
                        }
                    }
                }

                PrintTable(title, rows);
            }
            finally
            {
                dnsmasq?.Dispose();
            }

            var memory = new Table($"dns: overlayd VmRSS with {services} services, {settle} s after ready, {Machine()}");
            if (measureOverlayd)
            {
                (double rss, double hwm) = Memory(daemon.Id);
                memory.Add("DNS on, idle (MiB)", idleWithDns!.Value.Rss);
                memory.Add("DNS on, after the dnsperf runs (MiB)", rss);
                memory.Add("DNS on, VmHWM (MiB)", hwm);
                node.StopDaemon();
            }
            else
            {
                node.StopDaemon();
            }

            Process without = StartOverlayd(node, services, dns: false, extra: measureOverlayd ? ["--dns=false"] : []);
            Thread.Sleep(TimeSpan.FromSeconds(settle));
            (double rssOff, double hwmOff) = Memory(without.Id);
            memory.Add(measureOverlayd ? "--dns=false (MiB)" : "this build (no DNS) (MiB)", rssOff, measureOverlayd ? "DNS on ≤ this + 5 MB" : "");
            memory.Add(measureOverlayd ? "--dns=false, VmHWM (MiB)" : "this build, VmHWM (MiB)", hwmOff);
            memory.Print();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string ServiceName(int index) =>
        $"{ServicesBenchmark.Service(index, 1).Name}.{ServicesBenchmark.Namespace}.svc.{Zone}";

    /// <summary>Starts overlayd and waits until every service's ClusterIP is in its rules (and so in its registry).</summary>
    private static Process StartOverlayd(ClusterNode node, int services, bool dns, string[]? extra = null)
    {
        Process daemon = node.StartDaemon(extra ?? []);
        node.WaitForSubnetFile(TimeSpan.FromSeconds(60));
        if (ServicesBenchmark.WaitForAllClusterIPs(node, services, TimeSpan.FromSeconds(120)) is null)
        {
            throw new TimeoutException($"overlayd did not load {services} services:\n{node.DaemonOutput}");
        }

        if (dns && !Poll.Until(() => Dig.Query(node.Ns, ClusterDns, ServiceName(0), options: new DigOptions { TimeoutSeconds = 1 }).Answered, TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"overlayd's DNS does not answer at {ClusterDns}:\n{node.DaemonOutput}");
        }

        return daemon;
    }

    /// <summary>Both servers must give every service's ClusterIP (a sample) and NXDOMAIN for a name that does not exist.</summary>
    private static void CheckAnswers(NetNs pod, string server, string address, int services)
    {
        foreach (int i in new[] { 0, services / 2, services - 1 })
        {
            DigResult answer = Dig.Query(pod, address, ServiceName(i));
            string expected = ServicesBenchmark.ClusterIP(i).ToString();
            if (answer.AnswerData("A") is not [var only] || only != expected)
            {
                throw new InvalidOperationException($"{server} at {address} did not answer {ServiceName(i)} with {expected}:\n{answer.Output}");
            }
        }

        DigResult nx = Dig.Query(pod, address, $"nosuch.{ServicesBenchmark.Namespace}.svc.{Zone}");
        if (nx.Status != "NXDOMAIN")
        {
            throw new InvalidOperationException($"{server} at {address} did not answer NXDOMAIN:\n{nx.Output}");
        }
    }

    private static async Task<List<DnsperfRow>> MeasureAsync(NetNs pod, string server, string address, string mix, string file, DnsperfLoad load)
    {
        var rows = new List<DnsperfRow>();
        foreach (int? rate in load.LatencyRates.Select(r => (int?)r).Prepend(null))
        {
            string loadBefore = LoadAverage();
            DnsperfSummary summary = await RunDnsperfAsync(pod, address, file, load, rate);
            string offered = rate is { } qps ? "-Q " + qps.ToString(CultureInfo.InvariantCulture) + " -v" : "unthrottled";
            Console.Error.WriteLine($"{server}, {mix}, {offered}: {summary.ResponseCodes}; load average {loadBefore} → {LoadAverage()}");
            rows.Add(new DnsperfRow(server, mix, offered, summary));
        }

        return rows;
    }

    /// <summary>
    /// dnsperf from the pod. Unthrottled: its summary (queries/s, average latency, lost). With a rate: -v as well, which
    /// prints every query's latency ("&gt; NOERROR name A 0.000425"), from which the percentiles are taken.
    /// </summary>
    internal static async Task<DnsperfSummary> RunDnsperfAsync(NetNs pod, string address, string file, DnsperfLoad load, int? rate)
    {
        List<string> argv =
        [
            "netns", "exec", pod.Name, "dnsperf",
            "-s", address, "-p", "53", "-d", file,
            "-l", load.Seconds.ToString(CultureInfo.InvariantCulture),
            "-c", load.Clients.ToString(CultureInfo.InvariantCulture),
            "-q", load.Outstanding.ToString(CultureInfo.InvariantCulture),
        ];
        if (rate is { } qps)
        {
            argv.AddRange(["-Q", qps.ToString(CultureInfo.InvariantCulture), "-v"]);
        }

        ChildProcessResult result = (await ChildProcess.RunAsync("ip", argv, timeout: TimeSpan.FromSeconds(load.Seconds + 60))).EnsureSuccess();
        return DnsperfSummary.Parse(result.StandardOutput);
    }

    /// <summary>A namespace on the node's cni0 bridge with the pod subnet's .N (a second pod, for a server).</summary>
    private static NetNs AddNamespaceOnPodBridge(OverlayCluster cluster, ClusterNode node, string role, int hostOffset)
    {
        string[] gateway = node.Subnet.Split('/');
        string veth = "veth" + role[..Math.Min(role.Length, 6)] + node.Number.ToString(CultureInfo.InvariantCulture);
        NetNs ns = cluster.Lab.AddNamespace(role);
        cluster.Lab.AddVethPair(ns, node.Ns, "eth0", veth);
        cluster.Lab.AttachToBridge(node.Ns, veth, "cni0");
        ns.AddAddress("eth0", $"{PodBridgeAddress(node, hostOffset)}/{gateway[1]}");
        ns.ExecChecked("ip", "route", "add", "default", "via", gateway[0]);
        return ns;
    }

    /// <summary>The pod subnet's address .N (the gateway, FLANNEL_SUBNET, is .1).</summary>
    private static string PodBridgeAddress(ClusterNode node, int hostOffset)
    {
        byte[] bytes = System.Net.IPAddress.Parse(node.Subnet.Split('/')[0]).GetAddressBytes();
        bytes[3] = (byte)hostOffset;
        return new System.Net.IPAddress(bytes).ToString();
    }

    private static string WriteQueries(string folder, string name, int count, Func<int, string> line)
    {
        string path = Path.Combine(folder, name);
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            text.Append(line(i)).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>Whether this overlayd knows --dns (its usage text names it).</summary>
    private static async Task<bool> SupportsDnsAsync(string overlayd)
    {
        bool isDll = overlayd.EndsWith(".dll", StringComparison.Ordinal);
        ChildProcessResult help = await ChildProcess.RunAsync(isDll ? "dotnet" : overlayd, isDll ? [overlayd, "--help"] : ["--help"], timeout: TimeSpan.FromSeconds(30));
        return DnsFlagPattern().IsMatch(help.StandardOutput + help.StandardError);
    }

    private static string StringOption(string[] args, string name, string fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static void PrintTable(string title, List<DnsperfRow> rows)
    {
        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine();
        Console.WriteLine("| server | queries | load | queries/s | avg latency (ms) | p50 (ms) | p99 (ms) | max (ms) | lost |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (DnsperfRow row in rows)
        {
            // Percentiles only where dnsperf -v printed every query's latency.
            double[] sorted = [.. row.Summary.Latencies.Order()];
            string p50 = sorted.Length > 0 ? Ms(Percentile(sorted, 50)) : "–";
            string p99 = sorted.Length > 0 ? Ms(Percentile(sorted, 99)) : "–";
            string max = sorted.Length > 0 ? Ms(sorted[^1]) : Ms(row.Summary.MaxLatencySeconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Server} | {row.Mix} | {row.Load} | {row.Summary.QueriesPerSecond:F0} | {Ms(row.Summary.AverageLatencySeconds)} | {p50} | {p99} | {max} | {row.Summary.Lost} |"));
        }

        static string Ms(double seconds) => (seconds * 1000).ToString("F3", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"--dns(?![\w-])")]
    private static partial Regex DnsFlagPattern();

    private sealed record DnsperfRow(string Server, string Mix, string Load, DnsperfSummary Summary);
}

/// <summary>dnsperf's load: -l seconds, -c clients, -q outstanding queries; the latency runs' -Q rates.</summary>
internal sealed record DnsperfLoad(int Seconds, int Clients, int Outstanding, IReadOnlyList<int> LatencyRates);

/// <summary>What one dnsperf run reported: its statistics, and with -v every completed query's latency in seconds.</summary>
internal sealed partial record DnsperfSummary(
    long Sent, long Completed, long Lost, double QueriesPerSecond, double AverageLatencySeconds, double MaxLatencySeconds, string ResponseCodes,
    IReadOnlyList<double> Latencies)
{
    public static DnsperfSummary Parse(string output)
    {
        long sent = 0, completed = 0, lost = 0;
        double qps = 0, average = 0, max = 0;
        string codes = "";
        var latencies = new List<double>();
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.Trim();
            if (VerbosePattern().Match(line) is { Success: true } query)
            {
                latencies.Add(double.Parse(query.Groups["seconds"].Value, CultureInfo.InvariantCulture));
            }
            else if (StatisticPattern().Match(line) is { Success: true } statistic)
            {
                string value = statistic.Groups["value"].Value;
                string first = value.Split(' ', 2)[0];
                switch (statistic.Groups["name"].Value)
                {
                    case "Queries sent":
                        sent = long.Parse(first, CultureInfo.InvariantCulture);
                        break;
                    case "Queries completed":
                        completed = long.Parse(first, CultureInfo.InvariantCulture);
                        break;
                    case "Queries lost":
                        lost = long.Parse(first, CultureInfo.InvariantCulture);
                        break;
                    case "Queries per second":
                        qps = double.Parse(first, CultureInfo.InvariantCulture);
                        break;
                    case "Average Latency (s)":
                        average = double.Parse(first, CultureInfo.InvariantCulture);
                        if (MaxPattern().Match(value) is { Success: true } highest)
                        {
                            max = double.Parse(highest.Groups["seconds"].Value, CultureInfo.InvariantCulture);
                        }

                        break;
                    case "Response codes":
                        codes = value;
                        break;
                }
            }
        }

        return new DnsperfSummary(sent, completed, lost, qps, average, max, codes, latencies);
    }

    // "> NOERROR svc-1.bench.svc.cluster.local A 0.000425"
    [GeneratedRegex(@"^> [A-Z]+ \S+ \S+ (?<seconds>\d+\.\d+)$")]
    private static partial Regex VerbosePattern();

    [GeneratedRegex(@"max (?<seconds>\d+\.\d+)\)")]
    private static partial Regex MaxPattern();

    // "Queries per second:   9.996226", "Average Latency (s):  0.000322 (min 0.000151, max 0.000734)"
    [GeneratedRegex(@"^(?<name>[A-Z][A-Za-z ()]+):\s+(?<value>.+)$")]
    private static partial Regex StatisticPattern();
}
