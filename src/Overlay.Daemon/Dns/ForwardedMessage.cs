using System.Buffers.Binary;

namespace Overlay.Daemon.Dns;

/// <summary>
/// The few fields of a DNS message the server and forwarder read themselves (RFC 1035 4.1.1: the 12-byte header at
/// fixed offsets, then the question): the ID to remap, the TC bit, the question a reply must echo, and a SERVFAIL made
/// from a query. Everything else is the answerer's; these never throw on any input.
/// </summary>
internal static class ForwardedMessage
{
    public const int HeaderLength = 12;
    private const int MaxNameLength = 255;

    public static ushort Id(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadUInt16BigEndian(message);

    public static void SetId(Span<byte> message, ushort id) => BinaryPrimitives.WriteUInt16BigEndian(message, id);

    public static bool IsResponse(ReadOnlySpan<byte> message) => (message[2] & 0x80) != 0;

    public static bool IsTruncated(ReadOnlySpan<byte> message) => (message[2] & 0x02) != 0;

    /// <summary>
    /// Whether <paramref name="reply"/> is a response that asks the same one question as <paramref name="query"/>:
    /// the same name (ASCII case ignored, compression followed), type and class. Anything malformed is no match.
    /// </summary>
    public static bool AnswersQuestionOf(ReadOnlySpan<byte> query, ReadOnlySpan<byte> reply)
    {
        if (query.Length < HeaderLength || reply.Length < HeaderLength || !IsResponse(reply)
            || QuestionCount(query) != 1 || QuestionCount(reply) != 1)
        {
            return false;
        }

        Span<byte> queryName = stackalloc byte[MaxNameLength];
        Span<byte> replyName = stackalloc byte[MaxNameLength];
        if (!TryReadName(query, HeaderLength, queryName, out int queryNameLength, out int queryEnd)
            || !TryReadName(reply, HeaderLength, replyName, out int replyNameLength, out int replyEnd)
            || queryEnd + 4 > query.Length || replyEnd + 4 > reply.Length)
        {
            return false;
        }

        return queryName[..queryNameLength].SequenceEqual(replyName[..replyNameLength])
            && query.Slice(queryEnd, 4).SequenceEqual(reply.Slice(replyEnd, 4));
    }

    /// <summary>
    /// Writes SERVFAIL for <paramref name="query"/>: its ID, opcode and RD, its question when it has exactly one readable
    /// one, RA set, no records. Returns the length written, 0 when the query has no complete header.
    /// </summary>
    public static int WriteServerFailure(ReadOnlySpan<byte> query, Span<byte> response)
    {
        if (query.Length < HeaderLength || response.Length < HeaderLength)
        {
            return 0;
        }

        int length = HeaderLength;
        bool withQuestion = false;
        if (QuestionCount(query) == 1
            && TryReadName(query, HeaderLength, stackalloc byte[MaxNameLength], out _, out int nameEnd)
            && nameEnd + 4 <= query.Length
            && nameEnd + 4 <= response.Length)
        {
            withQuestion = true;
            length = nameEnd + 4;
        }

        query[..length].CopyTo(response);
        response[2] = (byte)(0x80 | (query[2] & 0x79)); // QR, the query's opcode and RD; AA and TC cleared
        response[3] = 0x80 | 2; // RA, SERVFAIL
        BinaryPrimitives.WriteUInt16BigEndian(response[4..], (ushort)(withQuestion ? 1 : 0));
        response[6..12].Clear();
        return length;
    }

    /// <summary>
    /// Writes an empty truncated answer to <paramref name="query"/> (TC set, its question, no records), which sends the
    /// client to TCP. Returns the length written, 0 when the query has no complete header.
    /// </summary>
    public static int WriteTruncated(ReadOnlySpan<byte> query, Span<byte> response)
    {
        int length = WriteServerFailure(query, response);
        if (length > 0)
        {
            response[2] |= 0x02;
            response[3] = 0x80;
        }

        return length;
    }

    private static int QuestionCount(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadUInt16BigEndian(message[4..]);

    /// <summary>
    /// Reads the name at <paramref name="offset"/> into its uncompressed wire form, ASCII lower-cased; <paramref name="end"/>
    /// is where the name ends in place (after its first pointer, if any). Pointers must point backwards, so no loop.
    /// </summary>
    private static bool TryReadName(ReadOnlySpan<byte> message, int offset, Span<byte> name, out int nameLength, out int end)
    {
        nameLength = 0;
        end = -1;
        int position = offset;
        while (true)
        {
            if (position >= message.Length)
            {
                return false;
            }

            byte length = message[position];
            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= message.Length)
                {
                    return false;
                }

                int target = ((length & 0x3F) << 8) | message[position + 1];
                if (end < 0)
                {
                    end = position + 2;
                }

                if (target >= position)
                {
                    return false;
                }

                position = target;
                continue;
            }

            if ((length & 0xC0) != 0 || position + 1 + length > message.Length || nameLength + 1 + length > name.Length)
            {
                return false;
            }

            name[nameLength++] = length;
            if (length == 0)
            {
                if (end < 0)
                {
                    end = position + 1;
                }

                return true;
            }

            for (int i = 1; i <= length; i++)
            {
                byte b = message[position + i];
                name[nameLength++] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
            }

            position += 1 + length;
        }
    }
}
