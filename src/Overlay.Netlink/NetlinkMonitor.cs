using System.Threading.Channels;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>rtnetlink multicast groups a <see cref="NetlinkMonitor"/> can subscribe to.</summary>
[Flags]
public enum NetlinkGroups : uint
{
    None = 0,
    Link = Rtm.GroupLink,
    Neighbour = Rtm.GroupNeigh,
    IPv4Address = Rtm.GroupIPv4Addr,
    IPv4Route = Rtm.GroupIPv4Route,
    IPv6Address = Rtm.GroupIPv6Addr,
    IPv6Route = Rtm.GroupIPv6Route,
    All = Link | Neighbour | IPv4Address | IPv4Route | IPv6Address | IPv6Route,
}

/// <summary>A decoded change notification. <see cref="Deleted"/> is false for both "added" and "changed".</summary>
public abstract record NetlinkEvent
{
    private protected NetlinkEvent()
    {
    }
}

public sealed record LinkEvent(bool Deleted, LinkInfo Link) : NetlinkEvent;

public sealed record AddressEvent(bool Deleted, AddressEntry Address) : NetlinkEvent;

public sealed record RouteEvent(bool Deleted, RouteEntry Route) : NetlinkEvent;

public sealed record NeighbourEvent(bool Deleted, NeighbourEntry Neighbour) : NetlinkEvent;

public sealed record FdbEvent(bool Deleted, FdbEntry Entry) : NetlinkEvent;

/// <summary>
/// Notifications were lost (the kernel overran the receive buffer, or the reader fell behind): whatever the
/// subscriber derived from events must be rebuilt from a fresh dump.
/// </summary>
public sealed record ResyncNeeded(string Reason) : NetlinkEvent;

/// <summary>
/// Subscribes to rtnetlink groups and decodes notifications on a dedicated thread into <see cref="Events"/>.
/// Lost notifications surface as <see cref="ResyncNeeded"/>, never as an exception.
/// </summary>
public sealed class NetlinkMonitor : IDisposable
{
    private const int EventCapacity = 16 * 1024;
    private const int PollIntervalMs = 200;

    private readonly RouteSocket _socket;
    private readonly Channel<NetlinkEvent> _events =
        Channel.CreateBounded<NetlinkEvent>(new BoundedChannelOptions(EventCapacity) { SingleWriter = true });
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(64 * 1024); // one datagram per receive
    private readonly Thread _thread;
    private volatile bool _stopping;
    private bool _lostEvents;

    private NetlinkMonitor(RouteSocket socket)
    {
        _socket = socket;
        _thread = new Thread(Run) { IsBackground = true, Name = "netlink monitor" };
        _thread.Start();
    }

    public ChannelReader<NetlinkEvent> Events => _events.Reader;

    public IAsyncEnumerable<NetlinkEvent> ReadAllAsync(CancellationToken cancellationToken = default) =>
        _events.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Starts monitoring the calling thread's namespace, or the named one (as in <see cref="NetlinkHandle.OpenInNamespace"/>).</summary>
    public static NetlinkMonitor Start(NetlinkGroups groups = NetlinkGroups.All, string? namespaceNameOrPath = null) =>
        Start(groups, namespaceNameOrPath, RouteSocket.DefaultReceiveBuffer);

    internal static NetlinkMonitor Start(NetlinkGroups groups, string? namespaceNameOrPath, int receiveBuffer)
    {
        RouteSocket? socket = null;
        int error;
        if (namespaceNameOrPath is null)
        {
            error = RouteSocket.TryCreate((uint)groups, receiveBuffer, 0, out socket);
        }
        else
        {
            string path = NetworkNamespace.ResolvePath(namespaceNameOrPath);
            int enter = NetworkNamespace.Run(path, () => RouteSocket.TryCreate((uint)groups, receiveBuffer, 0, out socket), out error);
            if (enter != 0) NetlinkException.Throw("enter network namespace " + path, enter);
        }
        if (error != 0) NetlinkException.Throw("open netlink monitor socket", error);
        return new NetlinkMonitor(socket!);
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                if (!_socket.WaitReadable(PollIntervalMs)) continue;
                int error = _socket.Receive(_buffer, dontWait: true, out int length);
                if (error == Errno.EAGAIN || error == Errno.EINTR) continue;
                if (error == Errno.ENOBUFS)
                {
                    Publish(new ResyncNeeded("the kernel overran the monitor's receive buffer (ENOBUFS)"));
                    continue;
                }
                if (error != 0)
                {
                    _events.Writer.TryComplete(new NetlinkException("receive netlink notifications", error, null));
                    return;
                }
                DecodeAll(_buffer.AsSpan(0, length));
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed while waiting.
        }
        _events.Writer.TryComplete();
    }

    private void DecodeAll(ReadOnlySpan<byte> datagram)
    {
        try
        {
            var reader = new MessageReader(datagram);
            while (reader.TryRead(out NetlinkMessage message))
            {
                if (Decode(message) is { } decoded) Publish(decoded);
            }
        }
        catch (NetlinkParseException e)
        {
            Publish(new ResyncNeeded("a notification could not be decoded: " + e.Message));
        }
    }

    internal static NetlinkEvent? Decode(in NetlinkMessage message)
    {
        switch (message.Type)
        {
            case Rtm.NewLink or Rtm.DelLink:
                return LinkMessages.Decode(message) is { } link ? new LinkEvent(message.Type == Rtm.DelLink, link) : null;
            case Rtm.NewAddr or Rtm.DelAddr:
                return AddressEntry.Decode(message) is { } address ? new AddressEvent(message.Type == Rtm.DelAddr, address) : null;
            case Rtm.NewRoute or Rtm.DelRoute:
                if (RouteEntry.IsCloned(message)) return null;
                return RouteEntry.Decode(message) is { } route ? new RouteEvent(message.Type == Rtm.DelRoute, route) : null;
            case Rtm.NewNeigh or Rtm.DelNeigh:
                bool deleted = message.Type == Rtm.DelNeigh;
                if (FdbEntry.Decode(message) is { } fdb) return new FdbEvent(deleted, fdb);
                return NeighbourEntry.Decode(message) is { } neighbour ? new NeighbourEvent(deleted, neighbour) : null;
            case Nl.Overrun:
                return new ResyncNeeded("the kernel reported an overrun");
            default:
                return null;
        }
    }

    /// <summary>If the reader falls behind, events are dropped and a single ResyncNeeded takes their place.</summary>
    private void Publish(NetlinkEvent netlinkEvent)
    {
        if (_lostEvents)
        {
            if (!_events.Writer.TryWrite(new ResyncNeeded("the subscriber fell behind; notifications were dropped"))) return;
            _lostEvents = false;
        }
        if (!_events.Writer.TryWrite(netlinkEvent)) _lostEvents = true;
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        if (Thread.CurrentThread != _thread) _thread.Join();
        _socket.Dispose();
        _events.Writer.TryComplete();
    }
}
