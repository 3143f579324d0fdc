using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;

namespace Overlay.Netlink.Wire;

/// <summary>One netlink message: the header fields and the payload after the 16-byte header.</summary>
internal readonly ref struct NetlinkMessage
{
    public NetlinkMessage(ushort type, ushort flags, uint sequence, uint portId, ReadOnlySpan<byte> payload)
    {
        Type = type;
        Flags = flags;
        Sequence = sequence;
        PortId = portId;
        Payload = payload;
    }

    public ushort Type { get; }
    public ushort Flags { get; }
    public uint Sequence { get; }
    public uint PortId { get; }
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The attributes after a family header of the given length (ifinfomsg, rtmsg, ...).</summary>
    public AttributeReader AttributesAfter(int familyHeaderLength)
    {
        int offset = Nl.Align(familyHeaderLength);
        if (Payload.Length < familyHeaderLength) ParseError.Throw("message shorter than its family header");
        return new AttributeReader(offset >= Payload.Length ? default : Payload[offset..]);
    }
}

/// <summary>Enumerates the messages in one datagram received from a netlink socket.</summary>
internal ref struct MessageReader
{
    private ReadOnlySpan<byte> _remaining;

    public MessageReader(ReadOnlySpan<byte> datagram) => _remaining = datagram;

    public bool TryRead(out NetlinkMessage message)
    {
        if (_remaining.IsEmpty)
        {
            message = default;
            return false;
        }
        if (_remaining.Length < Nl.HeaderLength) ParseError.Throw("truncated message header");
        uint length = HostOrder.ReadUInt32(_remaining);
        if (length < Nl.HeaderLength || length > (uint)_remaining.Length) ParseError.Throw("message length out of range");
        int messageLength = (int)length;
        message = new NetlinkMessage(
            HostOrder.ReadUInt16(_remaining[4..]),
            HostOrder.ReadUInt16(_remaining[6..]),
            HostOrder.ReadUInt32(_remaining[8..]),
            HostOrder.ReadUInt32(_remaining[12..]),
            _remaining[Nl.HeaderLength..messageLength]);
        int next = Math.Min(Nl.Align(messageLength), _remaining.Length);
        _remaining = _remaining[next..];
        return true;
    }
}

/// <summary>One attribute (rtattr / nlattr); the accessors check the payload length.</summary>
internal readonly ref struct NetlinkAttribute
{
    private const ushort TypeMask = 0x3fff; // without NLA_F_NESTED and NLA_F_NET_BYTEORDER

    public NetlinkAttribute(ushort rawType, ReadOnlySpan<byte> value)
    {
        Type = (ushort)(rawType & TypeMask);
        Value = value;
    }

    public ushort Type { get; }
    public ReadOnlySpan<byte> Value { get; }

    public byte GetUInt8() => Value.Length >= 1 ? Value[0] : ParseError.Throw<byte>("u8 attribute too short");

    public ushort GetUInt16() => Value.Length >= 2 ? HostOrder.ReadUInt16(Value) : ParseError.Throw<ushort>("u16 attribute too short");

    public ushort GetUInt16BigEndian() =>
        Value.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Value) : ParseError.Throw<ushort>("be16 attribute too short");

    public uint GetUInt32() => Value.Length >= 4 ? HostOrder.ReadUInt32(Value) : ParseError.Throw<uint>("u32 attribute too short");

    public uint GetUInt32BigEndian() =>
        Value.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(Value) : ParseError.Throw<uint>("be32 attribute too short");

    public string GetString()
    {
        ReadOnlySpan<byte> value = Value;
        int end = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? value[..end] : value);
    }

    public IPAddress GetAddress() => Value.Length switch
    {
        4 or 16 => new IPAddress(Value),
        _ => ParseError.Throw<IPAddress>("address attribute is neither 4 nor 16 bytes"),
    };

    public MacAddress? GetMac() => Value.Length == MacAddress.Length ? MacAddress.FromBytes(Value) : null;

    public AttributeReader Nested => new(Value);
}

/// <summary>Enumerates attributes; a length that leaves the buffer raises <see cref="NetlinkParseException"/>.</summary>
internal ref struct AttributeReader
{
    private ReadOnlySpan<byte> _remaining;
    private NetlinkAttribute _current;

    public AttributeReader(ReadOnlySpan<byte> attributes)
    {
        _remaining = attributes;
        _current = default;
    }

    public readonly NetlinkAttribute Current => _current;

    public readonly AttributeReader GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining.Length < Nl.AttributeHeaderLength)
        {
            // Trailing bytes shorter than a header are padding at most.
            if (_remaining.Length != 0 && _remaining.IndexOfAnyExcept((byte)0) >= 0) ParseError.Throw("truncated attribute header");
            _remaining = default;
            return false;
        }
        ushort length = HostOrder.ReadUInt16(_remaining);
        if (length < Nl.AttributeHeaderLength || length > _remaining.Length) ParseError.Throw("attribute length out of range");
        _current = new NetlinkAttribute(HostOrder.ReadUInt16(_remaining[2..]), _remaining[Nl.AttributeHeaderLength..length]);
        int next = Math.Min(Nl.Align(length), _remaining.Length);
        _remaining = _remaining[next..];
        return true;
    }
}

internal static class ParseError
{
    [DoesNotReturn]
    public static void Throw(string what) => throw new NetlinkParseException("Malformed netlink data: " + what + ".");

    [DoesNotReturn]
    public static T Throw<T>(string what) => throw new NetlinkParseException("Malformed netlink data: " + what + ".");
}
