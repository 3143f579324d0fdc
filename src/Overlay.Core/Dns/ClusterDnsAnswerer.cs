namespace Overlay.Core.Dns;

/// <summary>
/// Answers queries from the cluster zone: reads the query, asks the zone, writes the response. A name the zone does
/// not own is left to the forwarder; broken queries are answered with the error RFC 1035/6891 name, never thrown.
/// </summary>
public sealed class ClusterDnsAnswerer(IClusterZone zone) : IDnsAnswerer
{
    private const DnsType IXFR = (DnsType)251;
    private const DnsType AXFR = (DnsType)252;
    private const DnsType MAILB = (DnsType)253;
    private const DnsType MAILA = (DnsType)254;

    public DnsDisposition Answer(ReadOnlySpan<byte> query, Span<byte> response, bool overTcp, out int written)
    {
        DnsQueryStatus status = DnsQueryReader.Read(query, out DnsQuery read);
        int maxSize = DnsResponseWriter.MaxResponseSize(read, response.Length, overTcp);
        written = status switch
        {
            DnsQueryStatus.Drop => 0,
            DnsQueryStatus.FormatError => DnsResponseWriter.WriteError(query, read, DnsResponseCode.FormatError, response, maxSize),
            DnsQueryStatus.NotImplemented => DnsResponseWriter.WriteError(query, read, DnsResponseCode.NotImplemented, response, maxSize),
            DnsQueryStatus.BadVersion => DnsResponseWriter.WriteBadVersion(query, read, response, maxSize),
            _ => -1,
        };
        if (written >= 0)
        {
            return written > 0 ? DnsDisposition.Answered : DnsDisposition.Drop;
        }

        ZoneAnswer? answer = zone.Lookup(read.Name, read.Type);
        if (answer is null)
        {
            written = 0;
            return DnsDisposition.Forward;
        }

        written = read.Class is not (DnsQueryReader.ClassIN or DnsQueryReader.ClassANY)
                ? DnsResponseWriter.WriteError(query, read, DnsResponseCode.Refused, response, maxSize)
            : read.Type is IXFR or AXFR or MAILB or MAILA
                ? DnsResponseWriter.WriteError(query, read, DnsResponseCode.NotImplemented, response, maxSize)
            : DnsResponseWriter.WriteAnswer(query, read, answer, response, maxSize);
        return written > 0 ? DnsDisposition.Answered : DnsDisposition.Drop;
    }
}
