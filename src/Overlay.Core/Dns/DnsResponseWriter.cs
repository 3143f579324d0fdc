using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Overlay.Core.Dns;

/// <summary>
/// Writes responses (RFC 1035 4.1) into a caller's buffer: the header, the query's question echoed byte for byte,
/// the zone's records with names compressed against every name written before, and an OPT record when the query had
/// one. Never throws on a buffer that is too small: it writes less, or returns 0 when not even the header and question
/// fit.
/// </summary>
public static class DnsResponseWriter
{
    /// <summary>The UDP payload size our OPT records advertise (the DNS flag day 2020 value).</summary>
    public const ushort UdpPayloadSize = 1232;

    /// <summary>The most a UDP response may carry without EDNS (RFC 1035 4.2.1).</summary>
    public const int ClassicUdpSize = 512;

    public const int MaxTcpMessageSize = 65535;

    private const int OptLength = 11;

    /// <summary>BADVERS (RFC 6891 9): 16, carried as 0 in the header and 1 in the OPT record's extended RCODE.</summary>
    private const int BadVersionCode = 16;

    /// <summary>
    /// The most a response to <paramref name="query"/> may take: over TCP 65535; over UDP 512 without EDNS, else the
    /// requestor's payload size, never under 512; both capped by the buffer.
    /// </summary>
    public static int MaxResponseSize(in DnsQuery query, int bufferLength, bool overTcp)
    {
        int transport = overTcp ? MaxTcpMessageSize
            : query.HasEdns ? Math.Max((int)query.EdnsPayloadSize, ClassicUdpSize)
            : ClassicUdpSize;
        return Math.Min(transport, bufferLength);
    }

    /// <summary>
    /// Writes the zone's answer. When the answer and authority sections do not fit in <paramref name="maxSize"/>, the
    /// response carries no records at all and TC is set (RFC 2181 9 lets a server drop them; the client asks again
    /// over TCP). Additional records that do not fit are left out without TC (RFC 2181 9). Zone data that cannot be
    /// encoded (a label over 63 octets, a name over 255) gives SERVFAIL. Returns the length written, 0 when the
    /// buffer cannot hold even the header and question.
    /// </summary>
    public static int WriteAnswer(ReadOnlySpan<byte> packet, in DnsQuery query, ZoneAnswer answer, Span<byte> response, int maxSize)
    {
        maxSize = Math.Min(maxSize, response.Length);
        Span<ushort> names = stackalloc ushort[MessageWriter.CompressionCapacity];
        var writer = new MessageWriter(response[..Math.Max(maxSize, 0)], names);
        int reserve = query.HasEdns ? OptLength : 0;
        if (!writer.TryBegin(packet, query, (int)answer.Code, answer.Authoritative) || writer.Room < reserve)
        {
            return 0;
        }

        int afterQuestion = writer.Position;
        int questionNames = writer.NameCount;
        writer.Limit -= reserve;
        WriteOutcome outcome = writer.TryWriteSection(answer.Answers, out int answers);
        if (outcome == WriteOutcome.Written)
        {
            outcome = writer.TryWriteSection(answer.Authority, out int authorities);
            writer.SetCount(8, authorities);
        }

        writer.SetCount(6, answers);
        if (outcome == WriteOutcome.Invalid)
        {
            return WriteCode(packet, query, (int)DnsResponseCode.ServerFailure, truncated: false, response, maxSize);
        }

        if (outcome == WriteOutcome.NoRoom)
        {
            writer.Rewind(afterQuestion, questionNames);
            writer.SetCount(6, 0);
            writer.SetCount(8, 0);
            writer.SetTruncated();
        }
        else
        {
            // What does not fit of the additional section is left out, silently (RFC 2181 9).
            if (writer.TryWriteSection(answer.Additional, out int additionals) == WriteOutcome.Invalid)
            {
                return WriteCode(packet, query, (int)DnsResponseCode.ServerFailure, truncated: false, response, maxSize);
            }

            writer.SetCount(10, additionals);
        }

        writer.Limit += reserve;
        writer.FinishWithOpt(query, 0);
        return writer.Position;
    }

    /// <summary>
    /// Writes a response without records: an error (FORMERR, SERVFAIL, NOTIMP, REFUSED), or NOERROR with
    /// <paramref name="truncated"/> set. The question is echoed when the query's could be read; an OPT record is added
    /// when the query had one. Returns the length written, 0 when the buffer cannot hold it.
    /// </summary>
    public static int WriteError(ReadOnlySpan<byte> packet, in DnsQuery query, DnsResponseCode code, Span<byte> response, int maxSize, bool truncated = false) =>
        WriteCode(packet, query, (int)code, truncated, response, maxSize);

    /// <summary>BADVERS (RFC 6891 6.1.3): the question echoed and an OPT record of version 0 carrying the code.</summary>
    public static int WriteBadVersion(ReadOnlySpan<byte> packet, in DnsQuery query, Span<byte> response, int maxSize) =>
        WriteCode(packet, query, BadVersionCode, truncated: false, response, maxSize);

    private static int WriteCode(ReadOnlySpan<byte> packet, in DnsQuery query, int code, bool truncated, Span<byte> response, int maxSize)
    {
        maxSize = Math.Min(maxSize, response.Length);
        Span<ushort> names = stackalloc ushort[MessageWriter.CompressionCapacity];
        var writer = new MessageWriter(response[..Math.Max(maxSize, 0)], names);
        if (!writer.TryBegin(packet, query, code, authoritative: false) || (query.HasEdns && writer.Room < OptLength))
        {
            return 0;
        }

        if (truncated)
        {
            writer.SetTruncated();
        }

        writer.FinishWithOpt(query, code);
        return writer.Position;
    }

    private enum WriteOutcome
    {
        Written,
        NoRoom,
        Invalid,
    }

    /// <summary>
    /// The cursor over one response. Every name written is remembered (the offsets of its labels, up to
    /// <see cref="CompressionCapacity"/>) so that a later name, or its longest suffix, becomes a pointer to it.
    /// </summary>
    private ref struct MessageWriter(Span<byte> buffer, Span<ushort> names)
    {
        public const int CompressionCapacity = 128;

        private const int MaxPointerTarget = 0x3FFF;

        private readonly Span<byte> _buffer = buffer;
        private readonly Span<ushort> _names = names;

        public int Position { get; private set; }

        public int NameCount { get; private set; }

        public int Limit { get; set; } = buffer.Length;

        public readonly int Room => Limit - Position;

        public bool TryBegin(ReadOnlySpan<byte> packet, in DnsQuery query, int code, bool authoritative)
        {
            int questionLength = query.QuestionLength;
            if (DnsName.HeaderLength + questionLength > Limit || packet.Length < DnsName.HeaderLength + questionLength)
            {
                return false;
            }

            Span<byte> header = _buffer[..DnsName.HeaderLength];
            header.Clear();
            BinaryPrimitives.WriteUInt16BigEndian(header, query.Id);
            header[2] = (byte)(0x80 | (query.Opcode << 3) | (authoritative ? 0x04 : 0) | (query.RecursionDesired ? 0x01 : 0));
            header[3] = (byte)(0x80 | (query.CheckingDisabled ? 0x10 : 0) | (code & 0x0F));
            Position = DnsName.HeaderLength;
            if (questionLength > 0)
            {
                packet.Slice(DnsName.HeaderLength, questionLength).CopyTo(_buffer[Position..]);
                SetCount(4, 1);
                RememberQuestionName(questionLength);
                Position += questionLength;
            }

            return true;
        }

        public readonly void SetCount(int offset, int count) => BinaryPrimitives.WriteUInt16BigEndian(_buffer[offset..], (ushort)count);

        public readonly void SetTruncated() => _buffer[2] |= 0x02;

        public void Rewind(int position, int nameCount)
        {
            Position = position;
            NameCount = nameCount;
        }

        public WriteOutcome TryWriteSection(IReadOnlyList<DnsRecord> records, out int written)
        {
            written = 0;
            for (int i = 0; i < records.Count; i++)
            {
                int position = Position;
                int nameCount = NameCount;
                WriteOutcome outcome = TryWriteRecord(records[i]);
                if (outcome != WriteOutcome.Written)
                {
                    Rewind(position, nameCount);
                    return outcome;
                }

                written++;
            }

            return WriteOutcome.Written;
        }

        public void FinishWithOpt(in DnsQuery query, int code)
        {
            if (!query.HasEdns)
            {
                return;
            }

            Span<byte> opt = _buffer.Slice(Position, OptLength);
            opt[0] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(opt[1..], (ushort)DnsType.OPT);
            BinaryPrimitives.WriteUInt16BigEndian(opt[3..], UdpPayloadSize);
            opt[5] = (byte)(code >> 4);
            opt[6] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(opt[7..], query.DnssecOk ? (ushort)0x8000 : (ushort)0);
            BinaryPrimitives.WriteUInt16BigEndian(opt[9..], 0);
            Position += OptLength;
            SetCount(10, BinaryPrimitives.ReadUInt16BigEndian(_buffer[10..]) + 1);
        }

        private WriteOutcome TryWriteRecord(DnsRecord record)
        {
            WriteOutcome outcome = TryWriteName(record.Name, compress: true);
            if (outcome != WriteOutcome.Written)
            {
                return outcome;
            }

            if (Room < 10)
            {
                return WriteOutcome.NoRoom;
            }

            DnsRecordData data = record.Data;
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], (ushort)data.Type);
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[(Position + 2)..], DnsQueryReader.ClassIN);
            BinaryPrimitives.WriteUInt32BigEndian(_buffer[(Position + 4)..], record.Ttl);
            int lengthAt = Position + 8;
            Position += 10;
            int dataStart = Position;
            outcome = data switch
            {
                AddressData address => TryWriteAddress(address),
                NameData name => TryWriteName(name.Target, compress: true),
                SrvData srv => TryWriteSrv(srv),
                TxtData txt => TryWriteTxt(txt),
                SoaData soa => TryWriteSoa(soa),
                _ => WriteOutcome.Invalid,
            };
            if (outcome == WriteOutcome.Written)
            {
                BinaryPrimitives.WriteUInt16BigEndian(_buffer[lengthAt..], (ushort)(Position - dataStart));
            }

            return outcome;
        }

        private WriteOutcome TryWriteAddress(AddressData data)
        {
            int length = data.Address.AddressFamily == AddressFamily.InterNetworkV6 ? 16 : 4;
            if (Room < length)
            {
                return WriteOutcome.NoRoom;
            }

            if (!data.Address.TryWriteBytes(_buffer.Slice(Position, length), out int written) || written != length)
            {
                return WriteOutcome.Invalid;
            }

            Position += length;
            return WriteOutcome.Written;
        }

        private WriteOutcome TryWriteSrv(SrvData data)
        {
            if (Room < 6)
            {
                return WriteOutcome.NoRoom;
            }

            BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], data.Priority);
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[(Position + 2)..], data.Weight);
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[(Position + 4)..], data.Port);
            Position += 6;

            // RFC 2782: the target is never compressed.
            return TryWriteName(data.Target, compress: false);
        }

        private WriteOutcome TryWriteTxt(TxtData data)
        {
            if (data.Strings.Count == 0)
            {
                // A TXT record holds at least one string: an empty list is one empty string.
                if (Room < 1)
                {
                    return WriteOutcome.NoRoom;
                }

                _buffer[Position++] = 0;
                return WriteOutcome.Written;
            }

            for (int i = 0; i < data.Strings.Count; i++)
            {
                string text = data.Strings[i];
                int length = Encoding.UTF8.GetByteCount(text);
                if (length > 255)
                {
                    return WriteOutcome.Invalid;
                }

                if (Room < 1 + length)
                {
                    return WriteOutcome.NoRoom;
                }

                _buffer[Position] = (byte)length;
                Position += 1 + Encoding.UTF8.GetBytes(text, _buffer[(Position + 1)..]);
            }

            return WriteOutcome.Written;
        }

        private WriteOutcome TryWriteSoa(SoaData data)
        {
            WriteOutcome outcome = TryWriteName(data.PrimaryServer, compress: true);
            if (outcome == WriteOutcome.Written)
            {
                outcome = TryWriteName(data.Mailbox, compress: true);
            }

            if (outcome != WriteOutcome.Written)
            {
                return outcome;
            }

            if (Room < 20)
            {
                return WriteOutcome.NoRoom;
            }

            BinaryPrimitives.WriteUInt32BigEndian(_buffer[Position..], data.Serial);
            BinaryPrimitives.WriteUInt32BigEndian(_buffer[(Position + 4)..], data.Refresh);
            BinaryPrimitives.WriteUInt32BigEndian(_buffer[(Position + 8)..], data.Retry);
            BinaryPrimitives.WriteUInt32BigEndian(_buffer[(Position + 12)..], data.Expire);
            BinaryPrimitives.WriteUInt32BigEndian(_buffer[(Position + 16)..], data.Minimum);
            Position += 20;
            return WriteOutcome.Written;
        }

        /// <summary>
        /// Writes a zone name (lower case, no trailing dot, "" the root). With <paramref name="compress"/>, the longest
        /// suffix already in the message becomes a pointer, and the labels written are remembered for later names.
        /// </summary>
        private WriteOutcome TryWriteName(string name, bool compress)
        {
            if (name.Length > DnsName.MaxWireLength)
            {
                return WriteOutcome.Invalid;
            }

            int wireLength = 1;
            int start = 0;
            while (start < name.Length)
            {
                if (compress && FindName(name.AsSpan(start)) is int target and >= 0)
                {
                    if (Room < 2)
                    {
                        return WriteOutcome.NoRoom;
                    }

                    BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], (ushort)(0xC000 | target));
                    Position += 2;
                    return WriteOutcome.Written;
                }

                int dot = name.IndexOf('.', start);
                int end = dot < 0 ? name.Length : dot;
                int length = end - start;
                wireLength += 1 + length;
                if (length is 0 or > DnsName.MaxLabelLength || wireLength > DnsName.MaxWireLength)
                {
                    return WriteOutcome.Invalid;
                }

                if (Room < 1 + length)
                {
                    return WriteOutcome.NoRoom;
                }

                if (compress)
                {
                    Remember(Position);
                }

                _buffer[Position] = (byte)length;
                for (int i = 0; i < length; i++)
                {
                    char c = name[start + i];
                    if (c > 0x7F)
                    {
                        return WriteOutcome.Invalid;
                    }

                    _buffer[Position + 1 + i] = (byte)c;
                }

                Position += 1 + length;
                start = dot < 0 ? name.Length : dot + 1;
            }

            if (Room < 1)
            {
                return WriteOutcome.NoRoom;
            }

            _buffer[Position++] = 0;
            return WriteOutcome.Written;
        }

        /// <summary>
        /// Remembers the echoed question's labels, when they are plain labels ending in the root within the question
        /// (always so for a question <see cref="DnsQueryReader"/> read; a hand-made <see cref="DnsQuery"/> may differ).
        /// </summary>
        private void RememberQuestionName(int questionLength)
        {
            int end = Position + questionLength - 4;
            int at = Position;
            while (at < end && _buffer[at] is > 0 and <= DnsName.MaxLabelLength)
            {
                at += 1 + _buffer[at];
            }

            if (at != end - 1 || _buffer[at] != 0)
            {
                return;
            }

            for (at = Position; _buffer[at] != 0; at += 1 + _buffer[at])
            {
                Remember(at);
            }
        }

        private void Remember(int position)
        {
            if (NameCount < _names.Length && position <= MaxPointerTarget)
            {
                _names[NameCount++] = (ushort)position;
            }
        }

        /// <summary>The offset of a remembered name equal to <paramref name="suffix"/> (ASCII case aside), or -1.</summary>
        private readonly int FindName(ReadOnlySpan<char> suffix)
        {
            int firstLength = suffix.IndexOf('.');
            if (firstLength < 0)
            {
                firstLength = suffix.Length;
            }

            for (int i = 0; i < NameCount; i++)
            {
                int at = _names[i];
                if (_buffer[at] == firstLength && NameEquals(at, suffix))
                {
                    return at;
                }
            }

            return -1;
        }

        /// <summary>Whether the name written at <paramref name="at"/> (following our own pointers) spells <paramref name="text"/>.</summary>
        private readonly bool NameEquals(int at, ReadOnlySpan<char> text)
        {
            while (true)
            {
                byte length = _buffer[at];
                if ((length & 0xC0) == 0xC0)
                {
                    at = ((length & 0x3F) << 8) | _buffer[at + 1];
                    continue;
                }

                if (length == 0)
                {
                    return text.Length == 0;
                }

                int dot = text.IndexOf('.');
                ReadOnlySpan<char> label = dot < 0 ? text : text[..dot];
                if (label.Length != length)
                {
                    return false;
                }

                for (int i = 0; i < length; i++)
                {
                    int octet = _buffer[at + 1 + i];
                    if (octet is >= 'A' and <= 'Z')
                    {
                        octet |= 0x20;
                    }

                    int c = label[i];
                    if (c is >= 'A' and <= 'Z')
                    {
                        c |= 0x20;
                    }

                    if (octet != c)
                    {
                        return false;
                    }
                }

                at += 1 + length;
                text = dot < 0 ? [] : text[(dot + 1)..];
                if (dot >= 0 && text.Length == 0)
                {
                    // "a." is not a zone name; never match it against "a".
                    return false;
                }
            }
        }
    }
}
