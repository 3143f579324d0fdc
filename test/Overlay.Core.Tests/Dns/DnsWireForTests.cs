using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using Overlay.Core.Dns;

namespace Overlay.Core.Tests.Dns;

/// <summary>
/// The tests' own encoder and decoder, written apart from the codec (so a shared mistake does not cancel out): queries
/// built label by label, responses read strictly (counts must match, nothing may follow the last record).
/// </summary>
internal static class DnsWireForTests
{
    public static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(char.IsAsciiHexDigit)));

    public static byte[] Query(string name, DnsType type, ushort id = 0x1234, bool recursionDesired = true, ushort? ednsSize = null,
        bool dnssecOk = false, byte ednsVersion = 0, ushort @class = 1, byte opcode = 0)
    {
        var bytes = new List<byte>
        {
            (byte)(id >> 8), (byte)id,
            (byte)((opcode << 3) | (recursionDesired ? 1 : 0)), 0,
            0, 1, 0, 0, 0, 0, 0, (byte)(ednsSize is null ? 0 : 1),
        };
        bytes.AddRange(Name(name));
        bytes.AddRange([(byte)((ushort)type >> 8), (byte)type, (byte)(@class >> 8), (byte)@class]);
        if (ednsSize is { } size)
        {
            bytes.AddRange([0, 0, 41, (byte)(size >> 8), (byte)size, 0, ednsVersion, (byte)(dnssecOk ? 0x80 : 0), 0, 0, 0]);
        }

        return [.. bytes];
    }

    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (string label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.Add(0);
        return [.. bytes];
    }

    public sealed record ParsedRecord(string Name, DnsType Type, ushort Class, uint Ttl, string Data);

    public sealed record ParsedResponse(
        ushort Id,
        byte Flags2,
        byte Flags3,
        int Code,
        IReadOnlyList<(string Name, DnsType Type, ushort Class)> Questions,
        IReadOnlyList<ParsedRecord> Answers,
        IReadOnlyList<ParsedRecord> Authority,
        IReadOnlyList<ParsedRecord> Additional)
    {
        public bool IsResponse => (Flags2 & 0x80) != 0;

        public bool Authoritative => (Flags2 & 0x04) != 0;

        public bool Truncated => (Flags2 & 0x02) != 0;

        public bool RecursionDesired => (Flags2 & 0x01) != 0;

        public bool RecursionAvailable => (Flags3 & 0x80) != 0;

        public int Opcode => (Flags2 >> 3) & 0x0F;

        public ParsedRecord? Opt => Additional.SingleOrDefault(r => r.Type == DnsType.OPT);
    }

    /// <summary>Parses a whole response; throws <see cref="FormatException"/> on anything a strict reader would refuse.</summary>
    public static ParsedResponse ParseResponse(ReadOnlySpan<byte> message)
    {
        byte[] m = message.ToArray();
        if (m.Length < 12)
        {
            throw new FormatException("short header");
        }

        int at = 12;
        var questions = new List<(string, DnsType, ushort)>();
        for (int i = 0; i < U16(m, 4); i++)
        {
            string name = ReadName(m, ref at);
            Need(m, at, 4);
            questions.Add((name, (DnsType)U16(m, at), U16(m, at + 2)));
            at += 4;
        }

        List<ParsedRecord> Section(int count, ref int position)
        {
            var records = new List<ParsedRecord>();
            for (int i = 0; i < count; i++)
            {
                records.Add(ReadRecord(m, ref position));
            }

            return records;
        }

        var answers = Section(U16(m, 6), ref at);
        var authority = Section(U16(m, 8), ref at);
        var additional = Section(U16(m, 10), ref at);
        if (at != m.Length)
        {
            throw new FormatException($"{m.Length - at} octets after the last record");
        }

        int code = m[3] & 0x0F;
        if (additional.SingleOrDefault(r => r.Type == DnsType.OPT) is { } opt)
        {
            code |= (int)(opt.Ttl >> 24) << 4;
        }

        return new ParsedResponse(U16(m, 0), m[2], m[3], code, questions, answers, authority, additional);
    }

    private static ParsedRecord ReadRecord(byte[] m, ref int at)
    {
        string name = ReadName(m, ref at);
        Need(m, at, 10);
        var type = (DnsType)U16(m, at);
        ushort @class = U16(m, at + 2);
        uint ttl = BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(at + 4));
        int length = U16(m, at + 8);
        at += 10;
        Need(m, at, length);
        int start = at;
        int end = at + length;
        string data;
        switch (type)
        {
            case DnsType.A when length == 4:
            case DnsType.AAAA when length == 16:
                data = new IPAddress(m.AsSpan(at, length)).ToString();
                at = end;
                break;
            case DnsType.PTR or DnsType.CNAME or DnsType.NS:
                data = ReadName(m, ref at);
                break;
            case DnsType.SRV:
                Need(m, at, 6);
                int srvAt = at + 6;
                data = $"{U16(m, at)} {U16(m, at + 2)} {U16(m, at + 4)} {ReadName(m, ref srvAt)}";
                at = srvAt;
                break;
            case DnsType.SOA:
                string mname = ReadName(m, ref at);
                string rname = ReadName(m, ref at);
                Need(m, at, 20);
                int numbersAt = at;
                var numbers = Enumerable.Range(0, 5).Select(i => BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(numbersAt + (4 * i))).ToString(CultureInfo.InvariantCulture));
                data = $"{mname} {rname} {string.Join(' ', numbers)}";
                at += 20;
                break;
            case DnsType.TXT:
                var strings = new List<string>();
                while (at < end)
                {
                    int stringLength = m[at];
                    Need(m, at + 1, stringLength);
                    strings.Add('"' + Encoding.UTF8.GetString(m, at + 1, stringLength) + '"');
                    at += 1 + stringLength;
                }

                data = string.Join(' ', strings);
                break;
            default:
                data = Convert.ToHexString(m, at, length);
                at = end;
                break;
        }

        if (at != end || (type is DnsType.A or DnsType.AAAA && at - start is not (4 or 16)))
        {
            throw new FormatException($"{type} data of {length} octets read as {at - start}");
        }

        return new ParsedRecord(name, type, @class, ttl, data);
    }

    private static string ReadName(byte[] m, ref int at)
    {
        var labels = new List<string>();
        int position = at;
        int hops = 0;
        int wire = 1;
        bool jumped = false;
        while (true)
        {
            Need(m, position, 1);
            int length = m[position];
            if ((length & 0xC0) == 0xC0)
            {
                Need(m, position, 2);
                int target = ((length & 0x3F) << 8) | m[position + 1];
                if (++hops > 64 || target >= position)
                {
                    throw new FormatException("pointer loop or forward pointer");
                }

                if (!jumped)
                {
                    at = position + 2;
                    jumped = true;
                }

                position = target;
                continue;
            }

            if (length > 63)
            {
                throw new FormatException("label type");
            }

            if (length == 0)
            {
                if (!jumped)
                {
                    at = position + 1;
                }

                return string.Join('.', labels);
            }

            Need(m, position + 1, length);
            wire += 1 + length;
            if (wire > 255)
            {
                throw new FormatException("name over 255 octets");
            }

            labels.Add(Encoding.Latin1.GetString(m, position + 1, length));
            position += 1 + length;
        }
    }

    private static ushort U16(byte[] m, int at)
    {
        Need(m, at, 2);
        return BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(at));
    }

    private static void Need(byte[] m, int at, int count)
    {
        if (at < 0 || at + count > m.Length)
        {
            throw new FormatException($"{count} octets wanted at {at} of {m.Length}");
        }
    }
}
