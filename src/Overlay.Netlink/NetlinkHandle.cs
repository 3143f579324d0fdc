using System.Diagnostics.CodeAnalysis;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket bound to one network namespace, with typed operations per kernel object
/// (see Links.cs, Addresses.cs, Routes.cs, Neighbours.cs, Fdb.cs) and batches (<see cref="Apply"/>).
/// Thread-safe: requests are serialised on the one socket.
/// </summary>
public sealed partial class NetlinkHandle : IDisposable
{
    // A send carries at most 512 requests of about 100 bytes; the kernel fills a dump reply up to 32 KiB and an
    // ack is a datagram of its own. 64 KiB holds either with room to spare.
    private const int BufferSize = 64 * 1024;
    private const int ReceiveTimeoutMs = 30_000;
    private const int DumpAttempts = 8;

    private readonly RouteSocket _socket;
    private readonly Lock _sync = new();
    private readonly byte[] _request = GC.AllocateUninitializedArray<byte>(BufferSize);
    private readonly byte[] _response = GC.AllocateUninitializedArray<byte>(BufferSize);
    private uint _sequence = (uint)Environment.TickCount;

    private NetlinkHandle(RouteSocket socket, string? namespacePath)
    {
        _socket = socket;
        NamespacePath = namespacePath;
    }

    /// <summary>How many dumps the kernel marked interrupted (NLM_F_DUMP_INTR) and were therefore run again.</summary>
    public int InterruptedDumps { get; private set; }

    /// <summary>The namespace file the handle was opened in, or null for the caller's namespace.</summary>
    public string? NamespacePath { get; }

    /// <summary>Opens a handle in the calling thread's network namespace.</summary>
    public static NetlinkHandle Open()
    {
        int error = RouteSocket.TryCreate(0, RouteSocket.DefaultReceiveBuffer, ReceiveTimeoutMs, out RouteSocket? socket);
        if (error != 0) NetlinkException.Throw("open netlink socket", error);
        return new NetlinkHandle(socket!, null);
    }

    /// <summary>
    /// Opens a handle bound to a named namespace ("blue" means /run/netns/blue) or a namespace file path
    /// ("/proc/1234/ns/net"). The process itself does not change namespace.
    /// </summary>
    public static NetlinkHandle OpenInNamespace(string nameOrPath)
    {
        string path = NetworkNamespace.ResolvePath(nameOrPath);
        RouteSocket? socket = null;
        int error = NetworkNamespace.Run(path, () =>
        {
            int e = RouteSocket.TryCreate(0, RouteSocket.DefaultReceiveBuffer, ReceiveTimeoutMs, out RouteSocket? s);
            socket = s;
            return e;
        }, out int createError);
        if (error != 0) NetlinkException.Throw("enter network namespace " + path, error);
        if (createError != 0) NetlinkException.Throw("open netlink socket in " + path, createError);
        return new NetlinkHandle(socket!, path);
    }

    public void Dispose() => _socket.Dispose();

    private uint NextSequence()
    {
        uint next = unchecked(++_sequence);
        return next == 0 ? unchecked(++_sequence) : next;
    }

    /// <summary>Sends one request that asks for an ack and throws if the kernel refuses it.</summary>
    private void Execute(ReadOnlySpan<byte> request, uint sequence, Func<string> operation)
    {
        int error = Send(request);
        string? kernelMessage = null;
        if (error == 0) error = ReceiveAck(sequence, out kernelMessage);
        if (error != 0) NetlinkException.Throw(operation(), error, kernelMessage);
    }

    private int Send(ReadOnlySpan<byte> request) => _socket.Send(request);

    private int ReceiveAck(uint sequence, out string? kernelMessage)
    {
        kernelMessage = null;
        while (true)
        {
            int error = _socket.Receive(_response, false, out int length);
            if (error != 0) return error;
            var reader = new MessageReader(_response.AsSpan(0, length));
            while (reader.TryRead(out NetlinkMessage message))
            {
                if (message.Sequence != sequence || message.Type != Nl.Error) continue;
                return ParseErrorMessage(message, out kernelMessage);
            }
        }
    }

    /// <summary>A request answered by one message (RTM_GETLINK by name, RTM_GETROUTE lookup) or an error.</summary>
    private int Query<T>(ReadOnlySpan<byte> request, uint sequence, MessageDecoder<T> decode, out T? result, out string? kernelMessage)
    {
        result = default;
        kernelMessage = null;
        int error = Send(request);
        if (error != 0) return error;
        while (true)
        {
            error = _socket.Receive(_response, false, out int length);
            if (error != 0) return error;
            var reader = new MessageReader(_response.AsSpan(0, length));
            while (reader.TryRead(out NetlinkMessage message))
            {
                if (message.Sequence != sequence) continue;
                if (message.Type == Nl.Error) return ParseErrorMessage(message, out kernelMessage);
                result = decode(message);
                return 0;
            }
        }
    }

    /// <summary>Runs a dump to the end, retrying when the kernel marks it interrupted (NLM_F_DUMP_INTR).</summary>
    private List<T> Dump<T>(ushort type, RequestBody body, MessageDecoder<T?> decode, Func<string> operation) where T : class
    {
        for (int attempt = 1; ; attempt++)
        {
            var entries = new List<T>();
            uint sequence = NextSequence();
            var writer = new NetlinkWriter(_request);
            writer.BeginMessage(type, Nl.Request | Nl.Dump, sequence);
            body(ref writer);
            writer.EndMessage();
            int error = Send(writer.Written);
            string? kernelMessage = null;
            bool interrupted = false;
            if (error == 0) error = ReceiveDump(sequence, entries, decode, ref interrupted, out kernelMessage);
            if (error != 0) NetlinkException.Throw(operation(), error, kernelMessage);
            if (!interrupted) return entries;
            InterruptedDumps++;
            if (attempt == DumpAttempts) NetlinkException.Throw(operation(), Errno.EINTR, "dump kept being interrupted by concurrent changes");
        }
    }

    private int ReceiveDump<T>(uint sequence, List<T> entries, MessageDecoder<T?> decode, ref bool interrupted, out string? kernelMessage) where T : class
    {
        kernelMessage = null;
        while (true)
        {
            int error = _socket.Receive(_response, false, out int length);
            if (error != 0) return error;
            var reader = new MessageReader(_response.AsSpan(0, length));
            while (reader.TryRead(out NetlinkMessage message))
            {
                if (message.Sequence != sequence) continue;
                if ((message.Flags & Nl.DumpInterrupted) != 0) interrupted = true;
                switch (message.Type)
                {
                    case Nl.Done:
                        return ParseDoneMessage(message, out kernelMessage);
                    case Nl.Error:
                        return ParseErrorMessage(message, out kernelMessage);
                    case Nl.Noop:
                        continue;
                    default:
                        T? entry = decode(message);
                        if (entry is not null) entries.Add(entry);
                        break;
                }
            }
        }
    }

    /// <summary>Decodes struct nlmsgerr: a negative errno (0 for an ack), the request's header and ext-ack attributes.</summary>
    internal static int ParseErrorMessage(in NetlinkMessage message, out string? kernelMessage)
    {
        kernelMessage = null;
        ReadOnlySpan<byte> payload = message.Payload;
        if (payload.Length < 4) ParseError.Throw("truncated error message");
        int error = -HostOrder.ReadInt32(payload);
        if ((message.Flags & Nl.AckTlvs) != 0 && payload.Length >= 4 + Nl.HeaderLength)
        {
            long offset = 4 + ((message.Flags & Nl.Capped) != 0
                ? Nl.HeaderLength
                : ((long)HostOrder.ReadUInt32(payload[4..]) + 3) & ~3L);
            if (offset <= payload.Length) kernelMessage = FindExtAckMessage(payload[(int)offset..]);
        }
        return error;
    }

    /// <summary>NLMSG_DONE carries an int (a dump's error) and, with NLM_F_ACK_TLVS, ext-ack attributes.</summary>
    internal static int ParseDoneMessage(in NetlinkMessage message, out string? kernelMessage)
    {
        kernelMessage = null;
        ReadOnlySpan<byte> payload = message.Payload;
        if (payload.Length < 4) return 0;
        int error = -HostOrder.ReadInt32(payload);
        if ((message.Flags & Nl.AckTlvs) != 0) kernelMessage = FindExtAckMessage(payload[4..]);
        return error;
    }

    private static string? FindExtAckMessage(ReadOnlySpan<byte> attributes)
    {
        foreach (NetlinkAttribute attribute in new AttributeReader(attributes))
        {
            if (attribute.Type == Nl.ErrAttrMsg) return attribute.GetString();
        }
        return null;
    }

    [DoesNotReturn]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(NetlinkHandle));

    private void EnsureOpen()
    {
        if (_socket.IsClosed) ThrowDisposed();
    }
}

internal delegate T MessageDecoder<T>(in NetlinkMessage message);

internal delegate void RequestBody(ref NetlinkWriter writer);
