using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;
using Overlay.Core.Services;

namespace Overlay.Core.Dns;

public sealed partial class ClusterZone
{
    /// <summary>
    /// A reverse name: answered when it lies in the reverse zone of one of our networks, else null (forwarded). The
    /// reverse zones are the networks rounded out to a label boundary (octets under in-addr.arpa, nibbles under
    /// ip6.arpa), as CoreDNS splits them: 100.64.0.0/10 is the 64 zones 64.100.in-addr.arpa to 127.100.in-addr.arpa.
    /// In one of them an address of a ClusterIP, a pod or the DNS server has its PTR; any other name is NXDOMAIN, except
    /// the zone's apex (SOA, NS) and the names between the apex and a whole address, which answer NODATA.
    /// </summary>
    private ZoneAnswer? LookupReverse(string name, DnsType type)
    {
        AddressFamily family;
        int suffixLength;
        if (name.EndsWith(AddressLabels.IPv4ReverseSuffix, StringComparison.Ordinal))
        {
            family = AddressFamily.InterNetwork;
            suffixLength = AddressLabels.IPv4ReverseSuffix.Length;
        }
        else if (name.EndsWith(AddressLabels.IPv6ReverseSuffix, StringComparison.Ordinal))
        {
            family = AddressFamily.InterNetworkV6;
            suffixLength = AddressLabels.IPv6ReverseSuffix.Length;
        }
        else
        {
            return null;
        }

        if (name.Length == suffixLength || name[^(suffixLength + 1)] != '.')
        {
            return null;
        }

        int labelBits = family == AddressFamily.InterNetwork ? 8 : 4;
        int addressBits = IPAddressMath.BitLength(family);
        ReadOnlySpan<char> labels = name.AsSpan(0, name.Length - suffixLength - 1);
        UInt128 value = 0;
        int bits = 0;
        int apexStart = -1;
        bool malformed = false;
        bool more = true;
        while (more)
        {
            labels = CutLastLabel(labels, out ReadOnlySpan<char> label, out more);
            if (!TryParseReverseLabel(family, label, out int labelValue) || bits == addressBits)
            {
                malformed = true;
                break;
            }

            value = (value << labelBits) | (uint)labelValue;
            bits += labelBits;
            if (apexStart < 0 && IsReverseApex(family, value, bits))
            {
                apexStart = more ? labels.Length + 1 : 0;
            }
        }

        if (apexStart < 0)
        {
            return null;
        }

        string apexName = name[apexStart..];
        if (malformed)
        {
            return ReverseNegative(apexName, DnsResponseCode.NameError);
        }

        if (bits < addressBits)
        {
            return apexStart == 0 ? AtReverseApex(apexName, type) : ReverseNegative(apexName, DnsResponseCode.NoError);
        }

        List<DnsRecord> answers = PointerRecords(name, IPAddressMath.FromUInt128(value, family), type, out bool exists);
        return !exists ? ReverseNegative(apexName, DnsResponseCode.NameError)
            : answers.Count == 0 ? ReverseNegative(apexName, DnsResponseCode.NoError)
            : new ZoneAnswer(DnsResponseCode.NoError, true, answers, NoRecords, NoRecords);
    }

    /// <summary>
    /// The PTRs of an address: a ClusterIP names its service; a pod's address names <c>&lt;a-b-c-d&gt;.&lt;ns&gt;.pod</c>
    /// (one per pod holding it), the DNS server's address <c>ns.dns</c>.
    /// </summary>
    private List<DnsRecord> PointerRecords(string name, IPAddress address, DnsType type, out bool exists)
    {
        var targets = new List<string>(1);
        if (servicesByClusterIP.TryGetValue(address, out ServiceSpec? service))
        {
            targets.Add($"{service.Name}.{service.Namespace}.svc.{Domain}");
        }
        else if (podsByAddress.TryGetValue(address, out object? holders))
        {
            string dashed = AddressLabels.Dashed(address);
            for (int i = 0; i < HolderCount(holders); i++)
            {
                targets.Add($"{dashed}.{Holder(holders, i).Namespace}.pod.{Domain}");
            }
        }
        else if (address.Equals(DnsAddress))
        {
            targets.Add(nameServer);
        }

        exists = targets.Count > 0;
        return Asks(type, DnsType.PTR)
            ? targets.ConvertAll(target => new DnsRecord(name, Ttl, new NameData(DnsType.PTR, target)))
            : [];
    }

    private static bool TryParseReverseLabel(AddressFamily family, ReadOnlySpan<char> label, out int value)
    {
        if (family == AddressFamily.InterNetworkV6)
        {
            return AddressLabels.TryParseNibble(label, out value);
        }

        bool parsed = AddressLabels.TryParseOctet(label, out byte octet);
        value = octet;
        return parsed;
    }

    private bool IsReverseApex(AddressFamily family, UInt128 prefix, int bits)
    {
        foreach (ReverseNetwork network in reverseNetworks)
        {
            if (network.Family == family && network.ZoneBits == bits
                && (prefix >> (bits - network.PrefixLength)) == (network.Bits >> (bits - network.PrefixLength)))
            {
                return true;
            }
        }

        return false;
    }

    private ZoneAnswer AtReverseApex(string apexName, DnsType type)
    {
        var answers = new List<DnsRecord>(2);
        List<DnsRecord>? additional = null;
        if (Asks(type, DnsType.SOA))
        {
            answers.Add(Soa(apexName, apex.Serial));
        }

        if (Asks(type, DnsType.NS))
        {
            answers.Add(new DnsRecord(apexName, Ttl, new NameData(DnsType.NS, nameServer)));
            additional = [new DnsRecord(nameServer, Ttl, new AddressData(DnsAddress))];
        }

        return answers.Count == 0
            ? ReverseNegative(apexName, DnsResponseCode.NoError)
            : new ZoneAnswer(DnsResponseCode.NoError, true, answers, NoRecords, additional ?? (IReadOnlyList<DnsRecord>)NoRecords);
    }

    private ZoneAnswer ReverseNegative(string apexName, DnsResponseCode code) =>
        new(code, true, NoRecords, [Soa(apexName, apex.Serial)], NoRecords);

    /// <summary>A network whose reverse zones are ours: its leading bits, and the label boundary its zones start at.</summary>
    private readonly record struct ReverseNetwork(AddressFamily Family, UInt128 Bits, int PrefixLength, int ZoneBits)
    {
        public static ReverseNetwork Of(IPNetwork network)
        {
            AddressFamily family = network.BaseAddress.AddressFamily;
            int addressBits = IPAddressMath.BitLength(family);
            int labelBits = family == AddressFamily.InterNetwork ? 8 : 4;
            int zoneBits = Math.Max(labelBits, (network.PrefixLength + labelBits - 1) / labelBits * labelBits);
            UInt128 bits = IPAddressMath.ToUInt128(network.BaseAddress) >> (addressBits - zoneBits);
            return new ReverseNetwork(family, bits, network.PrefixLength, zoneBits);
        }
    }
}
