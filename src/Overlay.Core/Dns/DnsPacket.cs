using System.Buffers.Binary;

namespace Overlay.Core.Dns;

/// <summary>
/// What a forwarder needs of a packet without reading all of it: the ID (remapped on the way up and back), the TC bit
/// (retry over TCP), whether an upstream's reply answers the question we sent, and the response to give when no
/// upstream answers.
/// </summary>
public static class DnsPacket
{
    /// <summary>The message ID (bytes 0-1). The packet must hold at least 2 bytes.</summary>
    public static ushort ReadId(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt16BigEndian(packet);

    /// <summary>Replaces the message ID (bytes 0-1). The packet must hold at least 2 bytes.</summary>
    public static void WriteId(Span<byte> packet, ushort id) => BinaryPrimitives.WriteUInt16BigEndian(packet, id);

    /// <summary>Whether <paramref name="packet"/> is a complete header with QR=1.</summary>
    public static bool IsResponse(ReadOnlySpan<byte> packet) => packet.Length >= DnsName.HeaderLength && (packet[2] & 0x80) != 0;

    /// <summary>Whether <paramref name="packet"/> is a complete header with TC=1 (cut to fit: ask again over TCP).</summary>
    public static bool IsTruncated(ReadOnlySpan<byte> packet) => packet.Length >= DnsName.HeaderLength && (packet[2] & 0x02) != 0;

    /// <summary>
    /// Whether <paramref name="response"/> has exactly one question and it is <paramref name="query"/>'s: the same name
    /// (ASCII case aside, compression followed), type and class. False for anything unreadable in either, so a forwarder
    /// can drop a reply that answers something it did not ask.
    /// </summary>
    public static bool QuestionMatches(ReadOnlySpan<byte> query, ReadOnlySpan<byte> response)
    {
        Span<byte> asked = stackalloc byte[DnsName.MaxWireLength];
        Span<byte> answered = stackalloc byte[DnsName.MaxWireLength];
        return TryReadQuestion(query, asked, out int askedLength, out uint askedTypeAndClass)
            && TryReadQuestion(response, answered, out int answeredLength, out uint answeredTypeAndClass)
            && askedTypeAndClass == answeredTypeAndClass
            && asked[..askedLength].SequenceEqual(answered[..answeredLength]);
    }

    /// <summary>
    /// The UDP payload size the query's sender takes: its EDNS size (never under 512), or 512 without EDNS, or 512
    /// when the query cannot be read.
    /// </summary>
    public static int UdpPayloadLimit(ReadOnlySpan<byte> query)
    {
        DnsQueryReader.Read(query, out DnsQuery read);
        return DnsResponseWriter.MaxResponseSize(read, int.MaxValue, overTcp: false);
    }

    /// <summary>
    /// Writes a response to <paramref name="query"/> without records: <paramref name="code"/> (SERVFAIL when no upstream
    /// answers), the question echoed when readable, an OPT when the query had one, TC when <paramref name="truncated"/>.
    /// False, with nothing written, when the query is not worth an answer (not a query, no header) or the buffer is too
    /// small.
    /// </summary>
    public static bool TryWriteResponse(ReadOnlySpan<byte> query, DnsResponseCode code, Span<byte> response, bool overTcp, out int written, bool truncated = false)
    {
        written = 0;
        if (DnsQueryReader.Read(query, out DnsQuery read) == DnsQueryStatus.Drop)
        {
            return false;
        }

        written = DnsResponseWriter.WriteError(query, read, code, response, DnsResponseWriter.MaxResponseSize(read, response.Length, overTcp), truncated);
        return written > 0;
    }

    private static bool TryReadQuestion(ReadOnlySpan<byte> packet, Span<byte> name, out int nameLength, out uint typeAndClass)
    {
        nameLength = 0;
        typeAndClass = 0;
        if (packet.Length < DnsName.HeaderLength || BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) != 1)
        {
            return false;
        }

        int position = DnsName.HeaderLength;
        if (!DnsName.TryRead(packet, ref position, name, out nameLength) || position + 4 > packet.Length)
        {
            return false;
        }

        typeAndClass = BinaryPrimitives.ReadUInt32BigEndian(packet[position..]);
        return true;
    }
}
