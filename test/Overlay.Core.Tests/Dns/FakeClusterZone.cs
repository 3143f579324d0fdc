using System.Net;
using Overlay.Core.Dns;

namespace Overlay.Core.Tests.Dns;

/// <summary>
/// A small cluster zone by hand: a service with A, AAAA, SRV (with its address as additional data) and PTR, a headless
/// service with many addresses (for truncation), TXT dns-version; NXDOMAIN/NODATA with the SOA. 198.51.100.in-addr.arpa
/// is the zone's too; everything else is not.
/// </summary>
internal sealed class FakeClusterZone : IClusterZone
{
    public const uint Ttl = 5;

    public static readonly DnsRecord Soa = new("cluster.local", Ttl, new SoaData("ns.dns.cluster.local", "hostmaster.cluster.local", 1764460800, 7200, 1800, 86400, 5));

    private readonly Dictionary<string, List<DnsRecord>> _records = [];

    public FakeClusterZone(int headlessAddresses = 100)
    {
        Add(new DnsRecord("web.default.svc.cluster.local", Ttl, new AddressData(IPAddress.Parse("198.51.100.10"))));
        Add(new DnsRecord("web.default.svc.cluster.local", Ttl, new AddressData(IPAddress.Parse("2001:db8::a"))));
        Add(new DnsRecord("_http._tcp.web.default.svc.cluster.local", Ttl, new SrvData(0, 100, 80, "web.default.svc.cluster.local")));
        Add(new DnsRecord("10.100.51.198.in-addr.arpa", Ttl, new NameData(DnsType.PTR, "web.default.svc.cluster.local")));
        Add(new DnsRecord("dns-version.cluster.local", Ttl, new TxtData(["1.1.0"])));
        Add(Soa);
        for (int i = 0; i < headlessAddresses; i++)
        {
            Add(new DnsRecord("db.default.svc.cluster.local", Ttl, new AddressData(IPAddress.Parse($"198.18.{i / 250}.{(i % 250) + 1}"))));
        }
    }

    public string Domain => "cluster.local";

    public int Lookups { get; private set; }

    public ZoneAnswer? Lookup(string name, DnsType type)
    {
        Lookups++;
        if (!(name == Domain || name.EndsWith(".cluster.local", StringComparison.Ordinal) || name.EndsWith("100.51.198.in-addr.arpa", StringComparison.Ordinal)))
        {
            return null;
        }

        if (!_records.TryGetValue(name, out List<DnsRecord>? records))
        {
            return new ZoneAnswer(DnsResponseCode.NameError, true, [], [Soa], []);
        }

        var answers = records.Where(r => r.Type == type || type == DnsType.ANY).ToList();
        if (answers.Count == 0)
        {
            return new ZoneAnswer(DnsResponseCode.NoError, true, [], [Soa], []);
        }

        List<DnsRecord> additional = type == DnsType.SRV ? [.. _records["web.default.svc.cluster.local"]] : [];
        return new ZoneAnswer(DnsResponseCode.NoError, true, answers, [], additional);
    }

    private void Add(DnsRecord record)
    {
        if (!_records.TryGetValue(record.Name, out List<DnsRecord>? list))
        {
            _records[record.Name] = list = [];
        }

        list.Add(record);
    }
}
