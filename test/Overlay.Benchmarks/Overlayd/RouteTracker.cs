using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Overlay.Netlink;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// The peer routes (a /24 of the pod network via a gateway, as overlayd programs them on flannel.1) present in a
/// node's namespace, kept from rtnetlink route events read on a dedicated thread, with the Stopwatch timestamp at
/// which each one last appeared or went. Lost events (ENOBUFS while 5,000 routes arrive at once) are made good by
/// a fresh dump, so <see cref="Count"/> is exact either way.
/// </summary>
internal sealed class RouteTracker : IDisposable
{
    private readonly string _namespace;
    private readonly IPNetwork _pod;
    private readonly NetlinkMonitor _monitor;
    private readonly Thread _reader;
    private readonly Lock _gate = new();
    private readonly HashSet<IPNetwork> _present = [];
    private readonly Dictionary<IPNetwork, long> _addedAt = [];
    private readonly Dictionary<IPNetwork, long> _removedAt = [];
    private volatile bool _stopping;

    public RouteTracker(string namespaceName, IPNetwork pod)
    {
        _namespace = namespaceName;
        _pod = pod;
        _monitor = NetlinkMonitor.Start(NetlinkGroups.IPv4Route, namespaceName);
        Resync(); // after subscribing, so nothing falls between the dump and the first event
        _reader = new Thread(Read) { IsBackground = true, Name = "route tracker" };
        _reader.Start();
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _present.Count;
            }
        }
    }

    public int Resyncs { get; private set; }

    /// <summary>When the route for <paramref name="subnet"/> last appeared (true) or went (false) at or after <paramref name="since"/>.</summary>
    public long? ChangedAt(IPNetwork subnet, bool present, long since)
    {
        lock (_gate)
        {
            Dictionary<IPNetwork, long> times = present ? _addedAt : _removedAt;
            return times.TryGetValue(subnet, out long at) && at >= since && _present.Contains(subnet) == present ? at : null;
        }
    }

    private void Read()
    {
        ChannelReaderLoop().GetAwaiter().GetResult();
    }

    private async Task ChannelReaderLoop()
    {
        try
        {
            while (!_stopping && await _monitor.Events.WaitToReadAsync())
            {
                while (_monitor.Events.TryRead(out NetlinkEvent? change))
                {
                    long now = Stopwatch.GetTimestamp();
                    switch (change)
                    {
                        case RouteEvent route when IsPeerRoute(route.Route):
                            lock (_gate)
                            {
                                if (route.Deleted)
                                {
                                    _present.Remove(route.Route.Destination);
                                    _removedAt[route.Route.Destination] = now;
                                }
                                else
                                {
                                    _present.Add(route.Route.Destination);
                                    _addedAt[route.Route.Destination] = now;
                                }
                            }

                            break;
                        case ResyncNeeded:
                            Resyncs++;
                            Resync();
                            break;
                    }
                }
            }
        }
        catch (Exception) when (_stopping)
        {
        }
    }

    private void Resync()
    {
        using NetlinkHandle handle = NetlinkHandle.OpenInNamespace(_namespace);
        long now = Stopwatch.GetTimestamp();
        var routes = handle.ListRoutes(family: AddressFamily.InterNetwork).Where(IsPeerRoute).Select(r => r.Destination).ToHashSet();
        lock (_gate)
        {
            foreach (IPNetwork gone in _present.Where(p => !routes.Contains(p)).ToList())
            {
                _present.Remove(gone);
                _removedAt[gone] = now;
            }

            foreach (IPNetwork added in routes.Where(r => !_present.Contains(r)))
            {
                _present.Add(added);
                _addedAt[added] = now;
            }
        }
    }

    private bool IsPeerRoute(RouteEntry route) =>
        route.Gateway is not null && route.Destination.PrefixLength == 24 && _pod.Contains(route.Destination.BaseAddress);

    public void Dispose()
    {
        _stopping = true;
        _monitor.Dispose();
        _reader.Join(TimeSpan.FromSeconds(5));
    }
}
