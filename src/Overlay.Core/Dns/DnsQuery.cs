using System.Buffers.Binary;

namespace Overlay.Core.Dns;

/// <summary>What reading a packet as a query found.</summary>
public enum DnsQueryStatus
{
    /// <summary>A well-formed standard query with one question.</summary>
    Valid,

    /// <summary>Not worth an answer: shorter than a header, or itself a response (QR=1).</summary>
    Drop,

    /// <summary>Malformed: FORMERR (the question is echoed when it could be read).</summary>
    FormatError,

    /// <summary>An opcode other than QUERY: NOTIMP.</summary>
    NotImplemented,

    /// <summary>An EDNS version other than 0 (RFC 6891 6.1.3): BADVERS, with an OPT of version 0.</summary>
    BadVersion,
}

/// <summary>
/// The parts of a query a response needs. The question's own bytes stay in the packet, at offset 12 for
/// <see cref="QuestionLength"/> bytes (0 when it could not be read), so a response echoes them exactly, case included.
/// </summary>
public readonly record struct DnsQuery
{
    public ushort Id { get; init; }

    /// <summary>The header's opcode (0 = QUERY).</summary>
    public byte Opcode { get; init; }

    public bool RecursionDesired { get; init; }

    public bool CheckingDisabled { get; init; }

    /// <summary>The question's name: ASCII letters lowered, no trailing dot, the root "", other octets escaped (\DDD).</summary>
    public string Name { get; init; }

    public DnsType Type { get; init; }

    /// <summary>The question's class: 1 = IN, 3 = CH, 255 = ANY.</summary>
    public ushort Class { get; init; }

    /// <summary>The question's length on the wire (name, type, class); 0 when it could not be read.</summary>
    public int QuestionLength { get; init; }

    /// <summary>The query carried an OPT record (EDNS, RFC 6891).</summary>
    public bool HasEdns { get; init; }

    /// <summary>The requestor's UDP payload size from its OPT record; 0 without one.</summary>
    public ushort EdnsPayloadSize { get; init; }

    public byte EdnsVersion { get; init; }

    /// <summary>The OPT record's DO bit (RFC 3225): the requestor takes DNSSEC records.</summary>
    public bool DnssecOk { get; init; }
}

/// <summary>
/// Reads queries (RFC 1035 4.1, EDNS0 RFC 6891) without ever throwing on what arrives: every packet, however broken,
/// ends in a <see cref="DnsQueryStatus"/>.
/// </summary>
public static class DnsQueryReader
{
    public const ushort ClassIN = 1;
    public const ushort ClassCH = 3;
    public const ushort ClassANY = 255;

    /// <summary>
    /// Reads <paramref name="packet"/> as a query. <paramref name="query"/> holds what could be read even when the
    /// status is an error (the ID and flags always once the header is there; the question when it was readable).
    /// The answer and authority sections are walked and ignored; the additional section is searched for one OPT
    /// record (two, or one not owned by the root, or with malformed options: FORMERR); other additional records
    /// (TSIG, for one) are ignored, and so are octets after the last record.
    /// </summary>
    public static DnsQueryStatus Read(ReadOnlySpan<byte> packet, out DnsQuery query)
    {
        query = new DnsQuery { Name = "" };
        if (packet.Length < DnsName.HeaderLength || (packet[2] & 0x80) != 0)
        {
            return DnsQueryStatus.Drop;
        }

        byte opcode = (byte)((packet[2] >> 3) & 0x0F);
        query = query with
        {
            Id = BinaryPrimitives.ReadUInt16BigEndian(packet),
            Opcode = opcode,
            RecursionDesired = (packet[2] & 0x01) != 0,
            CheckingDisabled = (packet[3] & 0x10) != 0,
        };

        int questions = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        int answers = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        int authorities = BinaryPrimitives.ReadUInt16BigEndian(packet[8..]);
        int additionals = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        DnsQueryStatus failure = opcode == 0 ? DnsQueryStatus.FormatError : DnsQueryStatus.NotImplemented;
        if (questions != 1)
        {
            return failure;
        }

        int position = DnsName.HeaderLength;
        Span<byte> flat = stackalloc byte[DnsName.MaxWireLength];
        if (!DnsName.TryRead(packet, ref position, flat, out int flatLength) || position + 4 > packet.Length)
        {
            return failure;
        }

        var type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(packet[position..]);
        ushort @class = BinaryPrimitives.ReadUInt16BigEndian(packet[(position + 2)..]);
        position += 4;
        query = query with
        {
            Name = DnsName.ToText(flat[..flatLength]),
            Type = type,
            Class = @class,
            QuestionLength = position - DnsName.HeaderLength,
        };

        if (opcode != 0)
        {
            return DnsQueryStatus.NotImplemented;
        }

        // OPT is a pseudo-record: asking for it is as malformed as a question of type 0.
        if (type is DnsType.OPT or 0)
        {
            return DnsQueryStatus.FormatError;
        }

        for (int i = 0; i < answers + authorities; i++)
        {
            if (!TrySkipRecord(packet, ref position, out _, out _, out _, out _))
            {
                return DnsQueryStatus.FormatError;
            }
        }

        bool hasEdns = false;
        for (int i = 0; i < additionals; i++)
        {
            int start = position;
            if (!TrySkipRecord(packet, ref position, out DnsType recordType, out ushort recordClass, out uint ttl, out int dataStart))
            {
                return DnsQueryStatus.FormatError;
            }

            if (recordType != DnsType.OPT)
            {
                continue;
            }

            if (hasEdns || packet[start] != 0 || !OptionsAreWellFormed(packet[dataStart..position]))
            {
                return DnsQueryStatus.FormatError;
            }

            hasEdns = true;
            query = query with
            {
                HasEdns = true,
                EdnsPayloadSize = recordClass,
                EdnsVersion = (byte)(ttl >> 16),
                DnssecOk = (ttl & 0x8000) != 0,
            };
        }

        return hasEdns && query.EdnsVersion != 0 ? DnsQueryStatus.BadVersion : DnsQueryStatus.Valid;
    }

    private static bool TrySkipRecord(ReadOnlySpan<byte> packet, ref int position, out DnsType type, out ushort @class, out uint ttl, out int dataStart)
    {
        type = 0;
        @class = 0;
        ttl = 0;
        dataStart = 0;
        if (!DnsName.TrySkip(packet, ref position) || position + 10 > packet.Length)
        {
            return false;
        }

        type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(packet[position..]);
        @class = BinaryPrimitives.ReadUInt16BigEndian(packet[(position + 2)..]);
        ttl = BinaryPrimitives.ReadUInt32BigEndian(packet[(position + 4)..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(packet[(position + 8)..]);
        dataStart = position + 10;
        if (dataStart + length > packet.Length)
        {
            return false;
        }

        position = dataStart + length;
        return true;
    }

    private static bool OptionsAreWellFormed(ReadOnlySpan<byte> options)
    {
        while (options.Length > 0)
        {
            if (options.Length < 4)
            {
                return false;
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (4 + length > options.Length)
            {
                return false;
            }

            options = options[(4 + length)..];
        }

        return true;
    }
}
