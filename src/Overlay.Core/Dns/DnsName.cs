namespace Overlay.Core.Dns;

/// <summary>
/// Domain names on the wire (RFC 1035 3.1, 4.1.4): reading a possibly compressed name into its flat, lower-cased wire
/// form, and turning that into the zone's text form (lower case, no trailing dot, the root is "").
/// </summary>
internal static class DnsName
{
    /// <summary>The most octets a name takes on the wire, its length bytes and the root's zero included.</summary>
    public const int MaxWireLength = 255;

    public const int MaxLabelLength = 63;

    public const int HeaderLength = 12;

    /// <summary>The most characters <see cref="ToText"/> writes: every octet escaped as \DDD.</summary>
    public const int MaxTextLength = MaxWireLength * 4;

    /// <summary>
    /// Reads the name at <paramref name="position"/> into <paramref name="flat"/> (at least 255 bytes) as uncompressed
    /// wire labels with ASCII letters lowered, and moves <paramref name="position"/> past the name as it stands in the
    /// message (past the first pointer when there is one). False for anything malformed: a label running off the end,
    /// a name longer than 255 octets, the obsolete label types 0x40/0x80, and any pointer that does not go strictly
    /// backward from the start of the labels it interrupts (which rules out loops) or that points into the header.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> message, ref int position, Span<byte> flat, out int flatLength)
    {
        flatLength = 0;
        int at = position;
        int segmentStart = at;
        int next = -1;
        while (true)
        {
            if ((uint)at >= (uint)message.Length)
            {
                return false;
            }

            byte length = message[at];
            if (length == 0)
            {
                if (flatLength + 1 > MaxWireLength)
                {
                    return false;
                }

                flat[flatLength++] = 0;
                position = next < 0 ? at + 1 : next;
                return true;
            }

            switch (length & 0xC0)
            {
                case 0x00:
                    if (at + 1 + length > message.Length || flatLength + 1 + length + 1 > MaxWireLength)
                    {
                        return false;
                    }

                    flat[flatLength++] = length;
                    LowerAscii(message.Slice(at + 1, length), flat.Slice(flatLength, length));
                    flatLength += length;
                    at += 1 + length;
                    break;

                case 0xC0:
                    if (at + 1 >= message.Length)
                    {
                        return false;
                    }

                    int target = ((length & 0x3F) << 8) | message[at + 1];
                    if (target < HeaderLength || target >= segmentStart)
                    {
                        return false;
                    }

                    if (next < 0)
                    {
                        next = at + 2;
                    }

                    at = segmentStart = target;
                    break;

                default:
                    return false;
            }
        }
    }

    /// <summary>Moves <paramref name="position"/> past a valid name without keeping it.</summary>
    public static bool TrySkip(ReadOnlySpan<byte> message, ref int position)
    {
        Span<byte> flat = stackalloc byte[MaxWireLength];
        return TryRead(message, ref position, flat, out _);
    }

    /// <summary>
    /// The zone's text form of a flat wire name: labels joined by dots, no trailing dot, the root "". Octets that a
    /// zone name never holds are escaped as in master files (<c>\.</c>, <c>\\</c>, <c>\DDD</c>), so a label holding a
    /// dot can never pass for two labels of a name in the zone.
    /// </summary>
    public static int ToText(ReadOnlySpan<byte> flat, Span<char> text)
    {
        int written = 0;
        int at = 0;
        while (at < flat.Length && flat[at] != 0)
        {
            int length = flat[at];
            if (written > 0)
            {
                text[written++] = '.';
            }

            foreach (byte octet in flat.Slice(at + 1, length))
            {
                if (octet is (byte)'.' or (byte)'\\')
                {
                    text[written++] = '\\';
                    text[written++] = (char)octet;
                }
                else if (octet is > 0x20 and < 0x7F)
                {
                    text[written++] = (char)octet;
                }
                else
                {
                    text[written++] = '\\';
                    text[written++] = (char)('0' + (octet / 100));
                    text[written++] = (char)('0' + (octet / 10 % 10));
                    text[written++] = (char)('0' + (octet % 10));
                }
            }

            at += 1 + length;
        }

        return written;
    }

    public static string ToText(ReadOnlySpan<byte> flat)
    {
        if (flat.Length == 0 || flat[0] == 0)
        {
            return "";
        }

        Span<char> text = stackalloc char[MaxTextLength];
        return new string(text[..ToText(flat, text)]);
    }

    private static void LowerAscii(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            byte octet = source[i];
            destination[i] = octet is >= (byte)'A' and <= (byte)'Z' ? (byte)(octet | 0x20) : octet;
        }
    }
}
