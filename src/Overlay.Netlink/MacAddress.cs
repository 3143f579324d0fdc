using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Overlay.Netlink;

/// <summary>A 48-bit Ethernet address, formatted lower-case with colons ("0e:4a:...").</summary>
public readonly struct MacAddress : IEquatable<MacAddress>, ISpanFormattable
{
    public const int Length = 6;

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value;

    public static MacAddress Zero => default;

    public bool IsZero => _value == 0;

    public static MacAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length) throw new ArgumentException("A MAC address has 6 bytes.", nameof(bytes));
        ulong value = 0;
        foreach (byte b in bytes) value = (value << 8) | b;
        return new MacAddress(value);
    }

    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length) throw new ArgumentException("Destination is shorter than 6 bytes.", nameof(destination));
        for (int i = 0; i < Length; i++) destination[i] = (byte)(_value >> (8 * (Length - 1 - i)));
    }

    public byte[] ToArray()
    {
        byte[] bytes = new byte[Length];
        WriteTo(bytes);
        return bytes;
    }

    public static MacAddress Parse(string text) =>
        TryParse(text, out MacAddress mac) ? mac : throw new FormatException($"'{text}' is not a MAC address.");

    /// <summary>Accepts six hex pairs separated by ':' or '-'.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null || text.Length != 17) return false;
        ulong value = 0;
        for (int i = 0; i < Length; i++)
        {
            int at = i * 3;
            if (i > 0 && text[at - 1] != ':' && text[at - 1] != '-') return false;
            if (!byte.TryParse(text.AsSpan(at, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b)) return false;
            value = (value << 8) | b;
        }
        mac = new MacAddress(value);
        return true;
    }

    public override string ToString() => string.Create(17, _value, static (span, value) =>
    {
        const string Hex = "0123456789abcdef";
        for (int i = 0; i < Length; i++)
        {
            byte b = (byte)(value >> (8 * (Length - 1 - i)));
            span[i * 3] = Hex[b >> 4];
            span[(i * 3) + 1] = Hex[b & 0xf];
            if (i < Length - 1) span[(i * 3) + 2] = ':';
        }
    });

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        string text = ToString();
        charsWritten = text.TryCopyTo(destination) ? text.Length : 0;
        return charsWritten != 0;
    }

    public bool Equals(MacAddress other) => _value == other._value;

    public override bool Equals(object? obj) => obj is MacAddress other && Equals(other);

    public override int GetHashCode() => _value.GetHashCode();

    public static bool operator ==(MacAddress left, MacAddress right) => left.Equals(right);

    public static bool operator !=(MacAddress left, MacAddress right) => !left.Equals(right);
}
