using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;

namespace Overlay.Netlink.Wire;

/// <summary>
/// Writes netlink messages into a caller-owned buffer. Several messages may follow each other (a batch).
/// Lengths of the message and of nested attributes are patched when they are closed.
/// </summary>
internal ref struct NetlinkWriter
{
    private readonly Span<byte> _buffer;
    private int _position;
    private int _messageStart;

    public NetlinkWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _messageStart = -1;
    }

    /// <summary>Bytes written so far, all messages included.</summary>
    public readonly int Length => _position;

    public readonly int Remaining => _buffer.Length - _position;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    public void BeginMessage(ushort type, ushort flags, uint sequence)
    {
        if (_messageStart >= 0) ThrowMessageOpen();
        Span<byte> header = Take(Nl.HeaderLength);
        _messageStart = _position - Nl.HeaderLength;
        HostOrder.WriteUInt32(header, 0);
        HostOrder.WriteUInt16(header[4..], type);
        HostOrder.WriteUInt16(header[6..], flags);
        HostOrder.WriteUInt32(header[8..], sequence);
        HostOrder.WriteUInt32(header[12..], 0);
    }

    /// <summary>Reserves the zero-filled family header (ifinfomsg, rtmsg, ...) that follows the netlink header.</summary>
    public Span<byte> WriteFamilyHeader(int length)
    {
        Span<byte> header = Take(Nl.Align(length));
        header.Clear();
        return header[..length];
    }

    public void EndMessage()
    {
        if (_messageStart < 0) ThrowNoMessage();
        HostOrder.WriteUInt32(_buffer[_messageStart..], (uint)(_position - _messageStart));
        _messageStart = -1;
    }

    /// <summary>Opens a nested attribute; pass the returned offset to <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        int start = _position;
        Span<byte> header = Take(Nl.AttributeHeaderLength);
        HostOrder.WriteUInt16(header, 0);
        HostOrder.WriteUInt16(header[2..], type);
        return start;
    }

    public readonly void EndNested(int start) =>
        HostOrder.WriteUInt16(_buffer[start..], checked((ushort)(_position - start)));

    public void WriteFlag(ushort type) => WriteAttribute(type, 0);

    public void WriteUInt8(ushort type, byte value) => WriteAttribute(type, 1)[0] = value;

    public void WriteUInt16(ushort type, ushort value) => HostOrder.WriteUInt16(WriteAttribute(type, 2), value);

    public void WriteUInt16BigEndian(ushort type, ushort value) =>
        BinaryPrimitives.WriteUInt16BigEndian(WriteAttribute(type, 2), value);

    public void WriteUInt32(ushort type, uint value) => HostOrder.WriteUInt32(WriteAttribute(type, 4), value);

    public void WriteUInt32BigEndian(ushort type, uint value) =>
        BinaryPrimitives.WriteUInt32BigEndian(WriteAttribute(type, 4), value);

    public void WriteBytes(ushort type, ReadOnlySpan<byte> value) => value.CopyTo(WriteAttribute(type, value.Length));

    /// <summary>A NUL-terminated string attribute, as the kernel expects for names and kinds.</summary>
    public void WriteString(ushort type, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        Span<byte> payload = WriteAttribute(type, length + 1);
        Encoding.UTF8.GetBytes(value, payload);
        payload[length] = 0;
    }

    public void WriteAddress(ushort type, IPAddress address)
    {
        int length = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 16 : 4;
        Span<byte> payload = WriteAttribute(type, length);
        if (!address.TryWriteBytes(payload, out _)) ThrowAddress();
    }

    public void WriteMac(ushort type, MacAddress mac) => mac.WriteTo(WriteAttribute(type, MacAddress.Length));

    private Span<byte> WriteAttribute(ushort type, int payloadLength)
    {
        int total = Nl.AttributeHeaderLength + payloadLength;
        Span<byte> attribute = Take(Nl.Align(total));
        HostOrder.WriteUInt16(attribute, checked((ushort)total));
        HostOrder.WriteUInt16(attribute[2..], type);
        attribute[total..].Clear(); // padding
        return attribute.Slice(Nl.AttributeHeaderLength, payloadLength);
    }

    private Span<byte> Take(int length)
    {
        if (length > _buffer.Length - _position) ThrowFull();
        Span<byte> span = _buffer.Slice(_position, length);
        _position += length;
        return span;
    }

    [DoesNotReturn]
    private static void ThrowFull() => throw new InvalidOperationException("The netlink request buffer is full.");

    [DoesNotReturn]
    private static void ThrowMessageOpen() => throw new InvalidOperationException("A netlink message is already open.");

    [DoesNotReturn]
    private static void ThrowNoMessage() => throw new InvalidOperationException("No netlink message is open.");

    [DoesNotReturn]
    private static void ThrowAddress() => throw new ArgumentException("The address could not be written.");
}
