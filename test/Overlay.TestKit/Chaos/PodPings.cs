using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Netlink;

namespace Overlay.TestKit.Chaos;

/// <summary>
/// Every pod pings every other pod continuously (one ICMP echo per pair every <see cref="Interval"/>), from a raw ICMP
/// socket made inside each pod's namespace, and every echo is remembered with its send time and whether its reply
/// came within <see cref="ReplyTimeout"/>. So loss can be counted per pair and per time window (the fault active
/// then), not only as one total. Times are <see cref="Stopwatch"/> timestamps, as the fault log's.
/// </summary>
public sealed class PodPings : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>A reply later than this counts as lost: nobody waits seconds for a packet.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(1);

    private readonly List<Pinger> _pingers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _sender;
    private Task[] _receivers = [];

    private PodPings(IReadOnlyList<ClusterNode> nodes)
    {
        for (int i = 0; i < nodes.Count; i++)
        {
            ClusterNode node = nodes[i];
            NetNs pod = node.Pod ?? throw new InvalidOperationException($"{node.Name} has no pod (AddPod first)");
            Socket socket = NamedNetworkNamespace.Run(pod.Name, () =>
            {
                var raw = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
                raw.Bind(new IPEndPoint(IPAddress.Any, 0)); // ReceiveFrom wants a bound socket
                return raw;
            });
            // An identifier of our own per pod, so that echo replies to anything else in the namespace are ignored.
            ushort identifier = (ushort)(0xC000 + (Environment.ProcessId % 0x1000 * 16) + i);
            _pingers.Add(new Pinger(node.Name, socket, identifier,
                nodes.Where(n => n != node).Select(n => new Target(n.Name, IPAddress.Parse(n.PodAddress))).ToList()));
        }

        _sender = new Thread(SendLoop) { IsBackground = true, Name = "pod pings" };
    }

    /// <summary>Starts pinging between the pods of <paramref name="nodes"/> (each needs <see cref="ClusterNode.AddPod"/>).</summary>
    public static PodPings Start(IReadOnlyList<ClusterNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var pings = new PodPings(nodes);
        pings._receivers = pings._pingers.Select(p => Task.Run(() => pings.ReceiveLoopAsync(p))).ToArray();
        pings._sender.Start();
        return pings;
    }

    /// <summary>
    /// Every echo sent so far whose fate is known (answered, or unanswered for longer than <see cref="ReplyTimeout"/>).
    /// </summary>
    public IReadOnlyList<Probe> SettledProbes()
    {
        long now = Stopwatch.GetTimestamp();
        var probes = new List<Probe>();
        foreach (Pinger pinger in _pingers)
        {
            foreach (Target target in pinger.Targets)
            {
                foreach (KeyValuePair<ushort, Sent> entry in target.Sent)
                {
                    Sent sent = entry.Value;
                    bool answered = sent.RepliedAt is { } at && Stopwatch.GetElapsedTime(sent.At, at) <= ReplyTimeout;
                    if (answered || Stopwatch.GetElapsedTime(sent.At, now) > ReplyTimeout)
                    {
                        probes.Add(new Probe(pinger.Name, target.Name, sent.At, answered));
                    }
                }
            }
        }

        return probes;
    }

    /// <summary>Stops sending, waits <see cref="ReplyTimeout"/> for the last replies, and returns every probe.</summary>
    public async Task<IReadOnlyList<Probe>> StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            _sender.Join();
            await Task.Delay(ReplyTimeout + TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
        }

        return SettledProbes();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_sender.IsAlive)
        {
            _sender.Join();
        }

        foreach (Pinger pinger in _pingers)
        {
            pinger.Socket.Dispose();
        }

        await Task.WhenAll(_receivers).ConfigureAwait(false);
        _stop.Dispose();
    }

    private void SendLoop()
    {
        byte[] packet = new byte[16];
        long next = Stopwatch.GetTimestamp();
        long interval = (long)(Interval.TotalSeconds * Stopwatch.Frequency);
        while (!_stop.IsCancellationRequested)
        {
            foreach (Pinger pinger in _pingers)
            {
                foreach (Target target in pinger.Targets)
                {
                    ushort sequence = target.NextSequence++;
                    WriteEcho(packet, pinger.Identifier, sequence);
                    target.Sent[sequence] = new Sent(Stopwatch.GetTimestamp());
                    try
                    {
                        pinger.Socket.SendTo(packet, new IPEndPoint(target.Address, 0));
                    }
                    catch (SocketException)
                    {
                        // No route (the route was just deleted, the link is down): the echo is lost, as it is recorded.
                    }
                }
            }

            next += interval;
            long wait = next - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                _stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
            }
            else
            {
                next = Stopwatch.GetTimestamp(); // fell behind (a loaded machine): go on from now instead of bursting
            }
        }
    }

    private async Task ReceiveLoopAsync(Pinger pinger)
    {
        byte[] buffer = new byte[1500];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (true)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await pinger.Socket.ReceiveFromAsync(buffer, SocketFlags.None, any).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            long at = Stopwatch.GetTimestamp();
            // A raw IPv4 socket hands over the IP header too.
            int headerLength = (buffer[0] & 0x0f) * 4;
            if (received.ReceivedBytes < headerLength + 8 || buffer[headerLength] != 0 /* echo reply */)
            {
                continue;
            }

            ushort identifier = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 4));
            ushort sequence = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(headerLength + 6));
            var from = ((IPEndPoint)received.RemoteEndPoint).Address;
            if (identifier == pinger.Identifier
                && pinger.Targets.FirstOrDefault(t => t.Address.Equals(from)) is { } target
                && target.Sent.TryGetValue(sequence, out Sent? sent) && sent.RepliedAt is null)
            {
                target.Sent[sequence] = sent with { RepliedAt = at };
            }
        }
    }

    private static void WriteEcho(Span<byte> packet, ushort identifier, ushort sequence)
    {
        packet.Clear();
        packet[0] = 8; // echo request
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(packet[6..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(packet[8..], Stopwatch.GetTimestamp());
        uint sum = 0;
        for (int i = 0; i < packet.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(packet[i..]);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)~sum);
    }

    private sealed record Pinger(string Name, Socket Socket, ushort Identifier, IReadOnlyList<Target> Targets);

    private sealed class Target(string name, IPAddress address)
    {
        public string Name { get; } = name;

        public IPAddress Address { get; } = address;

        /// <summary>Only the sender thread touches it. Wraps after 65,536 echoes (55 minutes at 20 per second).</summary>
        public ushort NextSequence { get; set; }

        public ConcurrentDictionary<ushort, Sent> Sent { get; } = new();

        public override string ToString() => $"{Name} {Address.ToString()}";
    }

    private sealed record Sent(long At, long? RepliedAt = null);
}

/// <summary>One echo from one pod to another: when it was sent (a <see cref="Stopwatch"/> timestamp) and whether it was answered.</summary>
public sealed record Probe(string From, string To, long SentAt, bool Answered)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{From}->{To} {(Answered ? "answered" : "lost")}");
}
