using System.Net;

namespace Overlay.Core.Dns;

/// <summary>The resource record types cluster DNS deals in (RFC 1035, 2782, 3596, 6891).</summary>
public enum DnsType : ushort
{
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    OPT = 41,
    ANY = 255,
}

/// <summary>The response codes cluster DNS sends (RFC 1035 4.1.1).</summary>
public enum DnsResponseCode : byte
{
    NoError = 0,
    FormatError = 1,
    ServerFailure = 2,
    NameError = 3,
    NotImplemented = 4,
    Refused = 5,
}

/// <summary>The data of one resource record; each type of record has its own kind.</summary>
public abstract record DnsRecordData
{
    public abstract DnsType Type { get; }
}

/// <summary>A or AAAA by the address family.</summary>
public sealed record AddressData(IPAddress Address) : DnsRecordData
{
    public override DnsType Type => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? DnsType.AAAA : DnsType.A;
}

/// <summary>PTR, CNAME or NS: a domain name (lower case, no trailing dot).</summary>
public sealed record NameData(DnsType NameType, string Target) : DnsRecordData
{
    public override DnsType Type => NameType;
}

public sealed record SrvData(ushort Priority, ushort Weight, ushort Port, string Target) : DnsRecordData
{
    public override DnsType Type => DnsType.SRV;
}

public sealed record TxtData(IReadOnlyList<string> Strings) : DnsRecordData
{
    public override DnsType Type => DnsType.TXT;
}

public sealed record SoaData(string PrimaryServer, string Mailbox, uint Serial, uint Refresh, uint Retry, uint Expire, uint Minimum) : DnsRecordData
{
    public override DnsType Type => DnsType.SOA;
}

/// <summary>One resource record of class IN: an owner name (lower case, no trailing dot), a TTL and its data.</summary>
public sealed record DnsRecord(string Name, uint Ttl, DnsRecordData Data)
{
    public DnsType Type => Data.Type;
}

/// <summary>
/// What the cluster zone says to one question: the response code, whether it speaks with authority, and the three
/// record sections. NXDOMAIN and NODATA carry the zone's SOA in <see cref="Authority"/>.
/// </summary>
public sealed record ZoneAnswer(
    DnsResponseCode Code,
    bool Authoritative,
    IReadOnlyList<DnsRecord> Answers,
    IReadOnlyList<DnsRecord> Authority,
    IReadOnlyList<DnsRecord> Additional);

/// <summary>What a DNS server does with a packet it received.</summary>
public enum DnsDisposition
{
    /// <summary>The response is written: send it.</summary>
    Answered,

    /// <summary>A well-formed query for a name outside the cluster zone: forward it upstream unchanged.</summary>
    Forward,

    /// <summary>Nothing can be answered (no complete header, or it is itself a response): drop it silently.</summary>
    Drop,
}

/// <summary>
/// Answers DNS packets from the cluster zone. Safe to call from many threads at once; allocation-light.
/// </summary>
public interface IDnsAnswerer
{
    /// <summary>
    /// Reads one query and, when it is the zone's to answer (or is bad: FORMERR/NOTIMP/REFUSED), writes the response into
    /// <paramref name="response"/>. <paramref name="maxSize"/> is the most the transport may carry (UDP: 512 or the
    /// query's EDNS size, capped by the buffer; TCP: 65535): a larger answer is cut and marked truncated.
    /// </summary>
    DnsDisposition Answer(ReadOnlySpan<byte> query, Span<byte> response, bool overTcp, out int written);
}

/// <summary>
/// The cluster zone's records, looked up by name. Safe for many readers at once while one writer updates it.
/// </summary>
public interface IClusterZone
{
    /// <summary>The zone's apex (<c>cluster.local</c>): lower case, no trailing dot.</summary>
    string Domain { get; }

    /// <summary>
    /// The zone's answer to a question of class IN; null when <paramref name="name"/> (lower case, no trailing dot;
    /// the root is "") is outside the zone and belongs upstream.
    /// </summary>
    ZoneAnswer? Lookup(string name, DnsType type);
}
