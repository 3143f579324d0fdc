using System.Globalization;
using System.Net;
using Overlay.Core.Dns;
using Overlay.Core.Services;

namespace Overlay.Core.Tests.Dns;

/// <summary>A cluster as the zone tests see it: its networks, services, pods, and answers written as zone-file lines.</summary>
internal static class ZoneFixtures
{
    public const string Domain = "cluster.local";

    public static readonly IPAddress DnsAddress = IPAddress.Parse("198.19.0.10");

    /// <summary>Service network 198.19.0.0/16 and 2001:db8:1::/112; pod network 198.18.0.0/16 and 2001:db8:2::/64.</summary>
    public static readonly IPNetwork[] Networks =
    [
        IPNetwork.Parse("198.19.0.0/16"),
        IPNetwork.Parse("2001:db8:1::/112"),
        IPNetwork.Parse("198.18.0.0/16"),
        IPNetwork.Parse("2001:db8:2::/64"),
    ];

    public static readonly ServicePort Http = new("http", 80, 8080, ServiceProtocol.Tcp);

    public static readonly ServicePort Metrics = new("metrics", 9090, 9091, ServiceProtocol.Tcp);

    public static readonly ServicePort DnsPort = new("dns", 53, 5353, ServiceProtocol.Udp);

    public static readonly ServicePort Unnamed = new(null, 7000, 7001, ServiceProtocol.Tcp);

    public static ClusterZone NewZone(ManualClock? clock = null, uint ttl = ClusterZone.DefaultTtl) =>
        new(Domain, DnsAddress, Networks, ttl, clock ?? new ManualClock());

    public static ServiceSpec Service(string name, string ns = "default", string? clusterIP = "198.19.0.23", string? clusterIPv6 = null, params ServicePort[] ports) => new()
    {
        Namespace = ns,
        Name = name,
        ClusterIP = clusterIP is null ? null : IPAddress.Parse(clusterIP),
        ClusterIPv6 = clusterIPv6 is null ? null : IPAddress.Parse(clusterIPv6),
        Ports = ports.Length == 0 ? [Http] : ports,
        Selector = new Dictionary<string, string> { ["app"] = name },
    };

    public static ServiceSpec Headless(string name, string ns = "default", params ServicePort[] ports) => Service(name, ns, null, null, ports);

    public static PodRecord Pod(string name, string ns = "default", params string[] addresses) => new()
    {
        Namespace = ns,
        Name = name,
        Node = "198.18.34.0-24",
        Addresses = addresses.Select(IPAddress.Parse).ToList(),
    };

    public static IReadOnlyList<IPAddress> Addresses(params string[] addresses) => addresses.Select(IPAddress.Parse).ToList();

    public static IReadOnlyList<IPAddress> None => [];

    /// <summary>The answer section as zone-file lines: <c>name ttl TYPE data</c>.</summary>
    public static string[] Answers(ZoneAnswer? answer) => Lines(Known(answer).Answers);

    public static string[] Authority(ZoneAnswer? answer) => Lines(Known(answer).Authority);

    public static string[] Additional(ZoneAnswer? answer) => Lines(Known(answer).Additional);

    public static string[] Lines(IEnumerable<DnsRecord> records) => records.Select(Line).ToArray();

    public static string Line(DnsRecord record) => $"{record.Name} {record.Ttl} {record.Type} " + record.Data switch
    {
        AddressData a => a.Address.ToString(),
        NameData n => n.Target,
        SrvData s => $"{s.Priority} {s.Weight} {s.Port} {s.Target}",
        TxtData t => string.Join(' ', t.Strings.Select(s => $"\"{s}\"")),
        SoaData soa => string.Create(CultureInfo.InvariantCulture, $"{soa.PrimaryServer} {soa.Mailbox} {soa.Serial} {soa.Refresh} {soa.Retry} {soa.Expire} {soa.Minimum}"),
        _ => record.Data.ToString(),
    };

    private static ZoneAnswer Known(ZoneAnswer? answer) =>
        answer ?? throw new AssertionException("the zone forwarded the name (null) instead of answering it");
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    public DateTimeOffset Now { get; set; } = new(2026, 11, 30, 19, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;
}
