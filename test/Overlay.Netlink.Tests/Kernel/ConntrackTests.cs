using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Overlay.TestKit;

namespace Overlay.Netlink.Tests.Kernel;

/// <summary>
/// Conntrack entries made with <c>conntrack -I</c> in a namespace of the test's own, deleted through ctnetlink, and
/// <c>conntrack -L</c> as the oracle. The entries stand for a client pod (198.18.1.x) talking to a DNS ClusterIP
/// (198.19.0.10:53) DNATed to endpoints (198.18.2.x).
/// </summary>
public class ConntrackTests
{
    private const string DeadEndpoint = "198.18.2.7";
    private const string LiveEndpoint = "198.18.2.8";
    private const string ClusterIP = "198.19.0.10";

    private NetworkLab? _lab;
    private ConntrackHandle? _handle;

    private NetNs Ns { get; set; } = null!;

    private ConntrackHandle Handle => _handle!;

    [SetUp]
    public void CreateNamespace()
    {
        _lab = NetworkLab.Create();
        if (!Shell.Run("sh", "-c", "command -v conntrack").Succeeded)
        {
            Requirement.Unmet("needs the conntrack tool (Debian package conntrack; scripts/install-deps.sh installs it)");
        }
        Ns = _lab.AddNamespace("ct");
        _handle = ConntrackHandle.OpenInNamespace(Ns.Name);
    }

    [TearDown]
    public void DeleteNamespace()
    {
        _handle?.Dispose();
        _lab?.Dispose();
    }

    [Test]
    public void Deleting_an_endpoints_udp_flows_removes_exactly_those_whose_replies_come_from_it()
    {
        string first = Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53);
        string second = Insert("udp", "198.18.1.3", 40001, ClusterIP, 53, DeadEndpoint, 53);
        string direct = Insert("udp", "198.18.1.4", 40002, DeadEndpoint, 5353, DeadEndpoint, 5353);
        string tcp = Insert("tcp", "198.18.1.2", 40003, "198.19.0.11", 80, DeadEndpoint, 8080);
        string otherEndpoint = Insert("udp", "198.18.1.5", 40004, ClusterIP, 53, LiveEndpoint, 53);
        // The dead endpoint as a client: its address is in the original tuple only, so this flow stays.
        string asClient = Insert("udp", DeadEndpoint, 41000, ClusterIP, 53, "198.18.2.9", 53);
        Assert.That(Oracle(), Is.EquivalentTo(new[] { first, second, direct, tcp, otherEndpoint, asClient }));

        int deleted = Handle.DeleteUdpFlows(IPAddress.Parse(DeadEndpoint));

        Assert.That(deleted, Is.EqualTo(3));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { tcp, otherEndpoint, asClient }));
    }

    [Test]
    public void Deleting_with_a_port_keeps_the_endpoints_flows_from_its_other_ports()
    {
        Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53);
        string otherPort = Insert("udp", "198.18.1.2", 40001, "198.19.0.12", 5353, DeadEndpoint, 5353);

        int deleted = Handle.DeleteUdpFlows(IPAddress.Parse(DeadEndpoint), 53);

        Assert.That(deleted, Is.EqualTo(1));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { otherPort }));
    }

    [Test]
    public void Deleting_an_ipv6_endpoints_udp_flows_leaves_ipv4_and_other_ipv6_flows()
    {
        string first = Insert("udp", "2001:db8:1::2", 40000, "2001:db8:19::10", 53, "2001:db8:2::7", 53);
        string second = Insert("udp", "2001:db8:1::3", 40001, "2001:db8:19::10", 53, "2001:db8:2::7", 53);
        string otherEndpoint = Insert("udp", "2001:db8:1::2", 40002, "2001:db8:19::10", 53, "2001:db8:2::8", 53);
        string tcp = Insert("tcp", "2001:db8:1::2", 40003, "2001:db8:19::11", 80, "2001:db8:2::7", 8080);
        string ipv4 = Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53);
        Assert.That(Oracle(), Has.Member(first).And.Member(second));

        int deleted = Handle.DeleteUdpFlows(IPAddress.Parse("2001:db8:2::7"));

        Assert.That(deleted, Is.EqualTo(2));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { otherEndpoint, tcp, ipv4 }));
    }

    [Test]
    public void An_ipv6_endpoint_with_a_port_deletes_only_that_ports_flows()
    {
        Insert("udp", "2001:db8:1::2", 40000, "2001:db8:19::10", 53, "2001:db8:2::7", 53);
        string otherPort = Insert("udp", "2001:db8:1::2", 40001, "2001:db8:19::12", 5353, "2001:db8:2::7", 5353);

        int deleted = Handle.DeleteUdpFlows(IPAddress.Parse("2001:db8:2::7"), 53);

        Assert.That(deleted, Is.EqualTo(1));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { otherPort }));
    }

    [Test]
    public void Flows_in_another_zone_are_deleted_too()
    {
        Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53);
        string zoned = Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53, zone: 7);
        Assert.That(zoned, Does.EndWith("zone=7"));
        Assert.That(Oracle(), Has.Count.EqualTo(2));

        int deleted = Handle.DeleteUdpFlows(IPAddress.Parse(DeadEndpoint));

        Assert.That(deleted, Is.EqualTo(2));
        Assert.That(Oracle(), Is.Empty);
    }

    [Test]
    public void A_second_deletion_and_an_endpoint_without_flows_delete_nothing()
    {
        string kept = Insert("udp", "198.18.1.5", 40004, ClusterIP, 53, LiveEndpoint, 53);
        Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53);

        int first = Handle.DeleteUdpFlows(IPAddress.Parse(DeadEndpoint));
        int again = Handle.DeleteUdpFlows(IPAddress.Parse(DeadEndpoint));
        int unknown = Handle.DeleteUdpFlows(IPAddress.Parse("198.18.2.200"));

        Assert.That((first, again, unknown), Is.EqualTo((1, 0, 0)));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { kept }));
    }

    [Test]
    public void An_ipv4_mapped_ipv6_endpoint_is_the_ipv4_endpoint()
    {
        Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53);
        string kept = Insert("udp", "198.18.1.5", 40004, ClusterIP, 53, LiveEndpoint, 53);

        int deleted = Handle.DeleteUdpFlows(IPAddress.Parse("::ffff:" + DeadEndpoint));

        Assert.That(deleted, Is.EqualTo(1));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { kept }));
    }

    /// <summary>More flows than one send carries (256 deletes), so the acks of several sends are collected.</summary>
    [Test]
    public void Six_hundred_flows_of_one_endpoint_are_all_deleted_and_counted()
    {
        var commands = new StringBuilder();
        for (int i = 0; i < 600; i++)
        {
            string client = "198.18.1." + (2 + i / 200).ToString(CultureInfo.InvariantCulture);
            string port = (30000 + i).ToString(CultureInfo.InvariantCulture);
            commands.Append(CultureInfo.InvariantCulture,
                $"-I -p udp -s {client} -d {ClusterIP} --sport {port} --dport 53 -r {DeadEndpoint} -q {client} --reply-port-src 53 --reply-port-dst {port} -t 120\n");
        }
        string kept = Insert("udp", "198.18.1.5", 40004, ClusterIP, 53, LiveEndpoint, 53);
        string file = Path.Combine(Path.GetTempPath(), $"overlay-ct-{Environment.ProcessId}-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(file, commands.ToString());
            Ns.ExecChecked("conntrack", "-R", file);
        }
        finally
        {
            File.Delete(file);
        }
        Assert.That(Oracle(), Has.Count.EqualTo(601));

        int deleted = Handle.DeleteUdpFlows(IPAddress.Parse(DeadEndpoint), 53);

        Assert.That(deleted, Is.EqualTo(600));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { kept }));
    }

    [Test]
    public void Listing_returns_the_entries_the_conntrack_tool_shows()
    {
        string[] inserted =
        [
            Insert("udp", "198.18.1.2", 40000, ClusterIP, 53, DeadEndpoint, 53),
            Insert("tcp", "198.18.1.2", 40003, "198.19.0.11", 80, DeadEndpoint, 8080),
            Insert("udp", "2001:db8:1::2", 40000, "2001:db8:19::10", 53, "2001:db8:2::7", 53, zone: 3),
        ];

        IReadOnlyList<ConntrackFlow> all = Handle.ListFlows();
        IReadOnlyList<ConntrackFlow> ipv6 = Handle.ListFlows(AddressFamily.InterNetworkV6);

        Assert.That(all.Select(Describe), Is.EquivalentTo(inserted));
        Assert.That(all.Select(Describe), Is.EquivalentTo(Oracle()));
        Assert.That(ipv6.Select(Describe), Is.EqualTo(new[] { inserted[2] }));
        Assert.That(all.Select(f => f.Id), Has.All.Not.Null);
    }

    [Test]
    public void Deleting_listed_flows_skips_those_already_gone()
    {
        Insert("tcp", "198.18.1.2", 40003, "198.19.0.11", 80, DeadEndpoint, 8080);
        string kept = Insert("udp", "198.18.1.5", 40004, ClusterIP, 53, LiveEndpoint, 53);
        ConntrackFlow[] tcp = Handle.ListFlows().Where(f => f.Protocol == ProtocolType.Tcp).ToArray();

        int first = Handle.DeleteFlows(tcp);
        int second = Handle.DeleteFlows(tcp);

        Assert.That((first, second), Is.EqualTo((1, 0)));
        Assert.That(Oracle(), Is.EquivalentTo(new[] { kept }));
    }

    /// <summary>Adds an entry with conntrack -I and returns how <see cref="Oracle"/> will show it.</summary>
    private string Insert(string protocol, string source, int sourcePort, string destination, int destinationPort, string replySource, int replySourcePort, int zone = 0)
    {
        string sport = sourcePort.ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            "conntrack", "-I", "-p", protocol, "-s", source, "-d", destination, "--sport", sport,
            "--dport", destinationPort.ToString(CultureInfo.InvariantCulture), "-r", replySource, "-q", source,
            "--reply-port-src", replySourcePort.ToString(CultureInfo.InvariantCulture), "--reply-port-dst", sport, "-t", "120",
        };
        if (protocol == "tcp") args.AddRange(["--state", "ESTABLISHED"]);
        if (zone != 0) args.AddRange(["-w", zone.ToString(CultureInfo.InvariantCulture)]);
        Ns.ExecChecked([.. args]);
        return Line(protocol, source, destination, sport, destinationPort.ToString(CultureInfo.InvariantCulture),
            replySource, source, replySourcePort.ToString(CultureInfo.InvariantCulture), sport, zone);
    }

    /// <summary>The namespace's conntrack table by <c>conntrack -L -o extended</c>, both families, one line per entry.</summary>
    private List<string> Oracle()
    {
        var entries = new List<string>();
        string output = Ns.ExecChecked("conntrack", "-L", "-o", "extended").StdOut;
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // "ipv4 2 udp 17 119 src=.. dst=.. sport=.. dport=.. [UNREPLIED] src=.. dst=.. sport=.. dport=.. mark=0 [zone=7] use=1"
            string[] tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] values = tokens.Where(t => t.StartsWith("src=", StringComparison.Ordinal) || t.StartsWith("dst=", StringComparison.Ordinal)
                    || t.StartsWith("sport=", StringComparison.Ordinal) || t.StartsWith("dport=", StringComparison.Ordinal))
                .Select(t => t[(t.IndexOf('=', StringComparison.Ordinal) + 1)..]).ToArray();
            Assert.That(values, Has.Length.EqualTo(8), line);
            string? zone = tokens.FirstOrDefault(t => t.StartsWith("zone=", StringComparison.Ordinal));
            int zoneNumber = zone is null ? 0 : int.Parse(zone["zone=".Length..], CultureInfo.InvariantCulture);
            entries.Add(Line(tokens[2], values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7], zoneNumber));
        }
        return entries;
    }

    private static string Describe(ConntrackFlow flow) =>
        Line(flow.Protocol.ToString().ToLowerInvariant(),
            flow.Original.Source.ToString(), flow.Original.Destination.ToString(), Text(flow.Original.SourcePort), Text(flow.Original.DestinationPort),
            flow.Reply.Source.ToString(), flow.Reply.Destination.ToString(), Text(flow.Reply.SourcePort), Text(flow.Reply.DestinationPort), flow.Zone);

    private static string Text(ushort port) => port.ToString(CultureInfo.InvariantCulture);

    private static string Line(string protocol, string source, string destination, string sport, string dport,
        string replySource, string replyDestination, string replySport, string replyDport, int zone) =>
        $"{protocol} src={source} dst={destination} sport={sport} dport={dport} reply src={replySource} dst={replyDestination} sport={replySport} dport={replyDport}"
        + (zone == 0 ? "" : " zone=" + zone.ToString(CultureInfo.InvariantCulture));
}
