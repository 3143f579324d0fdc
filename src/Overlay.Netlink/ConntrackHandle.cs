using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>
/// A NETLINK_NETFILTER socket speaking ctnetlink, bound to one network namespace: lists conntrack entries and deletes
/// those of a removed endpoint, so that UDP clients (DNS above all) do not keep sending to a dead pod through an entry
/// that outlives the rule that created it. Thread-safe: requests are serialised on the one socket.
/// </summary>
public sealed class ConntrackHandle : IDisposable
{
    // A dump datagram is at most 32 KiB (the kernel's cap); a send of deletes carries at most DeletesPerSend requests
    // of about 110 bytes.
    private const int BufferSize = 64 * 1024;
    private const int ReceiveTimeoutMs = 30_000;
    private const int DeletesPerSend = 256;
    private const int DumpAttempts = 8;

    private readonly RouteSocket _socket;
    private readonly Lock _sync = new();
    private readonly byte[] _request = GC.AllocateUninitializedArray<byte>(BufferSize);
    private readonly byte[] _response = GC.AllocateUninitializedArray<byte>(BufferSize);
    private uint _sequence = (uint)Environment.TickCount;

    private ConntrackHandle(RouteSocket socket, string? namespacePath)
    {
        _socket = socket;
        NamespacePath = namespacePath;
    }

    /// <summary>The namespace file the handle was opened in, or null for the caller's namespace.</summary>
    public string? NamespacePath { get; }

    /// <summary>Opens a handle in the calling thread's network namespace.</summary>
    public static ConntrackHandle Open()
    {
        int error = Create(out RouteSocket? socket);
        if (error != 0) NetlinkException.Throw("open netfilter netlink socket", error);
        return new ConntrackHandle(socket!, null);
    }

    /// <summary>Opens a handle bound to a named namespace ("blue") or a namespace file path ("/proc/1234/ns/net").</summary>
    public static ConntrackHandle OpenInNamespace(string nameOrPath)
    {
        string path = NetworkNamespace.ResolvePath(nameOrPath);
        RouteSocket? socket = null;
        int error = NetworkNamespace.Run(path, () =>
        {
            int e = Create(out RouteSocket? s);
            socket = s;
            return e;
        }, out int createError);
        if (error != 0) NetlinkException.Throw("enter network namespace " + path, error);
        if (createError != 0) NetlinkException.Throw("open netfilter netlink socket in " + path, createError);
        return new ConntrackHandle(socket!, path);
    }

    private static int Create(out RouteSocket? socket) =>
        RouteSocket.TryCreate(0, RouteSocket.DefaultReceiveBuffer, ReceiveTimeoutMs, out socket, Nfnl.NetlinkNetfilter);

    public void Dispose() => _socket.Dispose();

    /// <summary>Every conntrack entry of one family, or of both when <paramref name="family"/> is null.</summary>
    public IReadOnlyList<ConntrackFlow> ListFlows(AddressFamily? family = null)
    {
        byte wireFamily = family switch
        {
            AddressFamily.InterNetwork => AddressFamilies.Inet,
            AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
            null => AddressFamilies.Unspec,
            _ => throw new ArgumentOutOfRangeException(nameof(family)),
        };
        lock (_sync)
        {
            EnsureOpen();
            return Dump((ref NetlinkWriter w, uint sequence) => ConntrackMessages.WriteDump(ref w, sequence, wireFamily), _ => true, () => "list conntrack entries");
        }
    }

    /// <summary>
    /// Deletes every UDP conntrack entry whose reply tuple comes from <paramref name="endpoint"/> (and from
    /// <paramref name="port"/> when given): the flows DNATed to that endpoint. Returns how many it deleted; an entry
    /// that expired between the dump and its delete is not counted and is not an error.
    /// </summary>
    /// <exception cref="NetlinkException">The dump failed, or a delete failed for another reason than ENOENT (after
    /// the others were tried).</exception>
    public int DeleteUdpFlows(IPAddress endpoint, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        // Dumped addresses carry no IPv6 scope id, and a mapped address is the IPv4 endpoint it maps.
        endpoint = endpoint.IsIPv4MappedToIPv6 ? endpoint.MapToIPv4() : new IPAddress(endpoint.GetAddressBytes());
        if (endpoint.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"{endpoint} is neither an IPv4 nor an IPv6 address", nameof(endpoint));
        }
        if (port is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "a port is 1 to 65535");
        ushort? wirePort = port is int p ? (ushort)p : null;
        lock (_sync)
        {
            EnsureOpen();
            // The kernel filters the dump on the reply tuple (CTA_FILTER, Linux 5.8+); the check here covers kernels
            // that ignore the filter and is what decides.
            List<ConntrackFlow> flows = Dump(
                (ref NetlinkWriter w, uint sequence) => ConntrackMessages.WriteDump(
                    ref w, sequence, ConntrackMessages.Family(endpoint), ProtocolType.Udp, endpoint, wirePort),
                flow => flow.IsUdpServedBy(endpoint, port),
                () => $"list udp conntrack entries from {EndpointText(endpoint, port)}");
            return DeleteLocked(flows);
        }
    }

    /// <summary>
    /// Deletes the given entries (TCP, UDP or another protocol with ports), each named by its original tuple, zone and
    /// id. Returns how many were deleted; entries already gone (ENOENT) are skipped.
    /// </summary>
    /// <exception cref="NetlinkException">A delete failed for another reason than ENOENT (after the others were tried).</exception>
    public int DeleteFlows(IEnumerable<ConntrackFlow> flows)
    {
        ArgumentNullException.ThrowIfNull(flows);
        List<ConntrackFlow> list = flows.ToList();
        foreach (ConntrackFlow flow in list)
        {
            if (!ConntrackMessages.HasPorts(flow.Protocol)) throw new ArgumentException($"cannot name a {flow.Protocol} entry by its tuple: {flow}", nameof(flows));
        }
        lock (_sync)
        {
            EnsureOpen();
            return DeleteLocked(list);
        }
    }

    private int DeleteLocked(List<ConntrackFlow> flows)
    {
        int deleted = 0;
        NetlinkException? firstFailure = null;
        var pending = new Dictionary<uint, ConntrackFlow>(Math.Min(flows.Count, DeletesPerSend));
        for (int start = 0; start < flows.Count; start += DeletesPerSend)
        {
            pending.Clear();
            var writer = new NetlinkWriter(_request);
            for (int i = start; i < Math.Min(start + DeletesPerSend, flows.Count); i++)
            {
                uint sequence = NextSequence();
                ConntrackMessages.WriteDelete(ref writer, sequence, flows[i]);
                pending[sequence] = flows[i];
            }
            int error = _socket.Send(writer.Written);
            if (error != 0) NetlinkException.Throw($"delete {pending.Count} conntrack entries", error);
            while (pending.Count > 0)
            {
                error = _socket.Receive(_response, false, out int length);
                if (error != 0) NetlinkException.Throw($"delete {pending.Count} conntrack entries: wait for the kernel's acks", error);
                var reader = new MessageReader(_response.AsSpan(0, length));
                while (reader.TryRead(out NetlinkMessage message))
                {
                    if (message.Type != Nl.Error || !pending.Remove(message.Sequence, out ConntrackFlow? flow)) continue;
                    int result = NetlinkHandle.ParseErrorMessage(message, out string? kernelMessage);
                    if (result == 0) deleted++;
                    else if (result != Errno.ENOENT) firstFailure ??= new NetlinkException("delete conntrack entry " + flow, result, kernelMessage);
                }
            }
        }
        if (firstFailure is not null) throw firstFailure;
        return deleted;
    }

    /// <summary>Runs a dump to NLMSG_DONE, again when the kernel marks it interrupted (NLM_F_DUMP_INTR).</summary>
    private List<ConntrackFlow> Dump(DumpRequest request, Func<ConntrackFlow, bool> keep, Func<string> operation)
    {
        for (int attempt = 1; ; attempt++)
        {
            var flows = new List<ConntrackFlow>();
            uint sequence = NextSequence();
            var writer = new NetlinkWriter(_request);
            request(ref writer, sequence);
            int error = _socket.Send(writer.Written);
            string? kernelMessage = null;
            bool interrupted = false;
            if (error == 0) error = ReceiveDump(sequence, flows, keep, ref interrupted, out kernelMessage);
            if (error != 0) NetlinkException.Throw(operation(), error, kernelMessage);
            if (!interrupted) return flows;
            if (attempt == DumpAttempts) NetlinkException.Throw(operation(), Errno.EINTR, "dump kept being interrupted by concurrent changes");
        }
    }

    private int ReceiveDump(uint sequence, List<ConntrackFlow> flows, Func<ConntrackFlow, bool> keep, ref bool interrupted, out string? kernelMessage)
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
                        return NetlinkHandle.ParseDoneMessage(message, out kernelMessage);
                    case Nl.Error:
                        return NetlinkHandle.ParseErrorMessage(message, out kernelMessage);
                    case Nl.Noop:
                        continue;
                    default:
                        if (ConntrackMessages.Decode(message) is { } flow && keep(flow)) flows.Add(flow);
                        break;
                }
            }
        }
    }

    private uint NextSequence()
    {
        uint next = unchecked(++_sequence);
        return next == 0 ? unchecked(++_sequence) : next;
    }

    private static string EndpointText(IPAddress endpoint, int? port) =>
        port is null ? endpoint.ToString() : new IPEndPoint(endpoint, port.Value).ToString();

    [DoesNotReturn]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(ConntrackHandle));

    private void EnsureOpen()
    {
        if (_socket.IsClosed) ThrowDisposed();
    }

    private delegate void DumpRequest(ref NetlinkWriter writer, uint sequence);
}
