using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Overlay.Netlink;

namespace Overlay.Benchmarks;

/// <summary>
/// Programs N remote peers (route + neighbour + FDB entry each, as the daemon does) into a fresh namespace holding a
/// vxlan device, once through <see cref="NetlinkHandle.Apply"/> and once through `ip -batch` + `bridge -batch`, and
/// times a dump of the three tables plus the diff against the desired set.
/// </summary>
internal static class NetlinkBenchmark
{
    private const string Device = "flannel.1";

    private sealed record Peer(IPNetwork Subnet, IPAddress Gateway, MacAddress Mac, IPAddress PublicIp);

    public static int Run(string[] args)
    {
        int peers = Option(args, "--peers", 5000);
        int rounds = Option(args, "--rounds", 3);
        if (!IsRoot())
        {
            Console.Error.WriteLine("the netlink benchmark needs root (network namespaces)");
            return 1;
        }
        Peer[] desired = Peers(peers);
        var results = new Dictionary<string, List<double>>();
        void Record(string name, TimeSpan elapsed) =>
            (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(elapsed.TotalMilliseconds);

        for (int round = 1; round <= rounds; round++)
        {
            // Alternate which side goes first so neither always runs on a warmer machine.
            if (round % 2 == 1)
            {
                RunNetlink(desired, Record);
                RunIpBatch(desired, Record);
            }
            else
            {
                RunIpBatch(desired, Record);
                RunNetlink(desired, Record);
            }
            Console.Error.WriteLine($"round {round}/{rounds} done");
        }

        Console.WriteLine($"peers: {peers} (= {3 * peers} kernel entries), rounds: {rounds}, {Environment.ProcessorCount} cores, kernel {Environment.OSVersion.Version}");
        Console.WriteLine();
        Console.WriteLine("| step | median ms | min ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach ((string name, List<double> times) in results)
        {
            times.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {times[times.Count / 2]:F1} | {times[0]:F1} | {times[^1]:F1} |"));
        }
        return 0;
    }

    private static void RunNetlink(Peer[] desired, Action<string, TimeSpan> record)
    {
        using var ns = new BenchNamespace();
        using NetlinkHandle handle = NetlinkHandle.OpenInNamespace(ns.Name);
        int link = CreateDevice(handle, ns);

        var batch = new NetlinkBatch();
        foreach (Peer peer in desired)
        {
            batch.Replace(RouteOf(peer, link)).Replace(NeighbourOf(peer, link)).Replace(FdbOf(peer, link));
        }
        var cpu = CpuMs();
        var clock = Stopwatch.StartNew();
        BatchResult result = handle.Apply(batch);
        record($"netlink: program {desired.Length} peers (one NetlinkBatch, {batch.Count} replaces)", clock.Elapsed);
        record($"netlink: program {desired.Length} peers, CPU time (user+sys, this process)", TimeSpan.FromMilliseconds(CpuMs().Self - cpu.Self));
        result.ThrowIfAnyFailed();

        clock.Restart();
        IReadOnlyList<RouteEntry> routes = handle.ListRoutes(interfaceIndex: link, family: AddressFamily.InterNetwork);
        IReadOnlyList<NeighbourEntry> neighbours = handle.ListNeighbours(link, AddressFamily.InterNetwork);
        IReadOnlyList<FdbEntry> fdb = handle.ListFdb(link);
        TimeSpan dump = clock.Elapsed;
        record("netlink: dump routes + neighbours + fdb of the device", dump);

        clock.Restart();
        int differences = Diff(desired.Select(p => RouteOf(p, link)), routes)
            + Diff(desired.Select(p => NeighbourOf(p, link)), neighbours)
            + Diff(desired.Select(p => FdbOf(p, link)), fdb);
        record("netlink: diff dumped tables against the desired set", clock.Elapsed);
        record("netlink: dump + diff", dump + clock.Elapsed);
        if (routes.Count != desired.Length || neighbours.Count != desired.Length || fdb.Count != desired.Length || differences != 0)
        {
            throw new InvalidOperationException(
                $"after programming: {routes.Count} routes, {neighbours.Count} neighbours, {fdb.Count} fdb entries, {differences} differences");
        }

        // The same batch again: what a resync that finds nothing to change but replaces anyway would cost.
        clock.Restart();
        handle.Apply(batch).ThrowIfAnyFailed();
        record($"netlink: re-apply the same {batch.Count} replaces", clock.Elapsed);
    }

    private static void RunIpBatch(Peer[] desired, Action<string, TimeSpan> record)
    {
        using var ns = new BenchNamespace();
        using (NetlinkHandle handle = NetlinkHandle.OpenInNamespace(ns.Name))
        {
            CreateDevice(handle, ns);
        }
        var ipLines = new StringBuilder();
        var bridgeLines = new StringBuilder();
        foreach (Peer p in desired)
        {
            ipLines.Append(CultureInfo.InvariantCulture, $"route replace {p.Subnet} via {p.Gateway} dev {Device} onlink\n");
            ipLines.Append(CultureInfo.InvariantCulture, $"neigh replace {p.Gateway} lladdr {p.Mac} dev {Device} nud permanent\n");
            bridgeLines.Append(CultureInfo.InvariantCulture, $"fdb replace {p.Mac} dev {Device} dst {p.PublicIp} self permanent\n");
        }
        string ipFile = Path.GetTempFileName();
        string bridgeFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(ipFile, ipLines.ToString());
            File.WriteAllText(bridgeFile, bridgeLines.ToString());
            var cpu = CpuMs();
            var clock = Stopwatch.StartNew();
            Shell.Run("ip", "-n", ns.Name, "-batch", ipFile);
            Shell.Run("bridge", "-n", ns.Name, "-batch", bridgeFile);
            record($"ip -batch + bridge -batch: program {desired.Length} peers", clock.Elapsed);
            record($"ip -batch + bridge -batch: program {desired.Length} peers, CPU time (user+sys, the two children)",
                TimeSpan.FromMilliseconds(CpuMs().Children - cpu.Children));

            clock.Restart();
            string routes = Shell.Run("ip", "-n", ns.Name, "-j", "-4", "route", "show", "dev", Device);
            string neighbours = Shell.Run("ip", "-n", ns.Name, "-j", "-4", "neigh", "show", "dev", Device);
            string fdb = Shell.Run("bridge", "-n", ns.Name, "-j", "fdb", "show", "dev", Device);
            record("ip -j / bridge -j: dump routes + neighbours + fdb (JSON text, not parsed)", clock.Elapsed);
            int entries = Count(routes, "\"dst\"") + Count(neighbours, "\"dst\"") + Count(fdb, "\"mac\"");
            if (entries != 3 * desired.Length) throw new InvalidOperationException($"ip/bridge programmed {entries} entries, expected {3 * desired.Length}");
        }
        finally
        {
            File.Delete(ipFile);
            File.Delete(bridgeFile);
        }
    }

    private static int CreateDevice(NetlinkHandle handle, BenchNamespace ns)
    {
        Shell.Run("ip", "-n", ns.Name, "link", "add", "under0", "type", "veth", "peer", "name", "under0p");
        Shell.Run("ip", "-n", ns.Name, "addr", "add", "192.0.2.1/24", "dev", "under0");
        Shell.Run("ip", "-n", ns.Name, "link", "set", "under0p", "up");
        Shell.Run("ip", "-n", ns.Name, "link", "set", "under0", "up");
        int underlay = handle.GetRequiredLink("under0").Index;
        LinkInfo link = handle.CreateVxlan(new VxlanLinkSpec(Device, new VxlanInfo(1, IPAddress.Parse("192.0.2.1"), underlay)) { Mtu = 1450 });
        handle.SetLinkUp(link.Index);
        return link.Index;
    }

    private static Peer[] Peers(int count)
    {
        // 100.64.0.0/10 holds 16384 /24s; remote VTEPs sit on the underlay documentation nets.
        if (count > 16384) throw new ArgumentOutOfRangeException(nameof(count), "at most 16384 peers fit in 100.64.0.0/10 as /24s");
        var peers = new Peer[count];
        for (int i = 0; i < count; i++)
        {
            var subnet = new IPAddress(new byte[] { 100, (byte)(64 + (i >> 8)), (byte)(i & 0xff), 0 });
            var mac = MacAddress.FromBytes([0x0e, 0x4a, 0x00, 0x00, (byte)(i >> 8), (byte)(i & 0xff)]);
            var publicIp = new IPAddress(i % 2 == 0 ? new byte[] { 203, 0, 113, (byte)(i % 254 + 1) } : new byte[] { 198, 51, 100, (byte)(i % 254 + 1) });
            peers[i] = new Peer(new IPNetwork(subnet, 24), subnet, mac, publicIp);
        }
        return peers;
    }

    private static RouteEntry RouteOf(Peer p, int link) => RouteEntry.ViaGateway(p.Subnet, p.Gateway, link, onLink: true);

    private static NeighbourEntry NeighbourOf(Peer p, int link) => new(link, p.Gateway, p.Mac);

    private static FdbEntry FdbOf(Peer p, int link) => new(link, p.Mac, p.PublicIp);

    /// <summary>Entries to add plus entries to delete, as the daemon's reconciler would compute them.</summary>
    private static int Diff<T>(IEnumerable<T> desired, IEnumerable<T> actual)
    {
        var want = new HashSet<T>(desired);
        var have = new HashSet<T>(actual);
        int toAdd = want.Count(e => !have.Contains(e));
        int toDelete = have.Count(e => !want.Contains(e));
        return toAdd + toDelete;
    }

    private static int Count(string text, string needle)
    {
        int count = 0;
        for (int at = text.IndexOf(needle, StringComparison.Ordinal); at >= 0; at = text.IndexOf(needle, at + 1, StringComparison.Ordinal)) count++;
        return count;
    }

    /// <summary>
    /// CPU time (user + system, 10 ms ticks) of this process and of its reaped children, from /proc/self/stat.
    /// The kernel's work for a netlink request runs in the sending thread, so it is counted here; on a loaded
    /// machine this is steadier than wall time.
    /// </summary>
    private static (double Self, double Children) CpuMs()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command name: state is field 3; utime, stime, cutime, cstime are fields 14..17.
        double Ticks(int field) => double.Parse(fields[field - 3], CultureInfo.InvariantCulture) * 10;
        return (Ticks(14) + Ticks(15), Ticks(16) + Ticks(17));
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static bool IsRoot() => File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t')[2] == "0");

    /// <summary>A namespace named after this process, deleted on dispose.</summary>
    private sealed class BenchNamespace : IDisposable
    {
        private static int counter;

        public BenchNamespace()
        {
            Name = string.Create(CultureInfo.InvariantCulture, $"nlbench{Environment.ProcessId}-{Interlocked.Increment(ref counter)}");
            Shell.Run("ip", "netns", "add", Name);
            Shell.Run("ip", "-n", Name, "link", "set", "lo", "up");
        }

        public string Name { get; }

        public void Dispose() => Shell.Run("ip", "netns", "delete", Name);
    }
}
