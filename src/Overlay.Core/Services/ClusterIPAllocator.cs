using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;

namespace Overlay.Core.Services;

/// <summary>
/// Picks ClusterIPs from a service network the way kube-apiserver does (KEP-3070): never the network address
/// nor, in IPv4, the broadcast address; <c>.1</c> (offset 1) is kept for a <c>kubernetes</c> service and
/// <c>.10</c> (offset 10) for cluster DNS, handed out only when asked for by address; the lowest
/// <c>min(max(16, size/16), 256)</c> addresses are a static band for addresses chosen by hand, so a random
/// pick comes from above it, and from the band only once everything above is taken. Pure: the taken set and
/// the random source are given; the registry's etcd transaction makes a pick unique.
/// </summary>
public sealed class ClusterIPAllocator
{
    public const int KubernetesOffset = 1;
    public const int DnsOffset = 10;

    private readonly UInt128 network;
    private readonly UInt128 lastOffset;

    public ClusterIPAllocator(IPNetwork range)
    {
        Family = range.BaseAddress.AddressFamily;
        if (!IPAddressMath.IsNetworkAddress(range.BaseAddress, range.PrefixLength))
        {
            throw new ArgumentException($"{range} has host bits set", nameof(range));
        }

        int hostBits = IPAddressMath.BitLength(Family) - range.PrefixLength;
        if (hostBits < 4)
        {
            throw new ArgumentException($"{range} is too small for services: it needs at least 16 addresses", nameof(range));
        }

        Range = range;
        network = IPAddressMath.First(range);
        UInt128 size = hostBits == 128 ? UInt128.MaxValue : UInt128.One << hostBits;
        Size = size;

        // IPv4 loses its broadcast address; IPv6 has none.
        lastOffset = Family == AddressFamily.InterNetwork ? size - 2 : size - 1;
        UInt128 band = UInt128.Min(UInt128.Max(16, size / 16), 256);
        StaticBandSize = UInt128.Min(band, lastOffset);
    }

    public IPNetwork Range { get; }

    public AddressFamily Family { get; }

    /// <summary>Addresses in the range, the network (and broadcast) address included.</summary>
    public UInt128 Size { get; }

    /// <summary>How many of the lowest usable addresses are kept for addresses chosen by hand.</summary>
    public UInt128 StaticBandSize { get; }

    /// <summary>Addresses a service can hold: all but the network (and IPv4 broadcast) address.</summary>
    public UInt128 Usable => lastOffset;

    /// <summary>Offset 1: the <c>kubernetes</c> service's, by convention.</summary>
    public IPAddress KubernetesAddress => At(KubernetesOffset);

    /// <summary>Offset 10: the cluster DNS service's, by convention.</summary>
    public IPAddress DnsAddress => At(DnsOffset);

    public IPAddress FirstUsable => At(1);

    public IPAddress LastUsable => At(lastOffset);

    /// <summary>Null when <paramref name="address"/> may be requested as a ClusterIP; else why not, naming the address and the range.</summary>
    public string? RequestProblem(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != Family || !Range.Contains(address))
        {
            return $"ClusterIP {address} is outside the service network {Range}; request an address from {FirstUsable} to {LastUsable}, or none to get one picked";
        }

        UInt128 offset = IPAddressMath.ToUInt128(address) - network;
        if (offset == 0)
        {
            return $"ClusterIP {address} is the network address of the service network {Range}; request an address from {FirstUsable} to {LastUsable}";
        }

        if (offset > lastOffset)
        {
            return $"ClusterIP {address} is the broadcast address of the service network {Range}; request an address from {FirstUsable} to {LastUsable}";
        }

        return null;
    }

    /// <summary>
    /// A free address at random from above the static band, or from the band once above is full, never the
    /// kept addresses (<see cref="KubernetesAddress"/>, <see cref="DnsAddress"/>); null when every address is
    /// taken. Addresses of <paramref name="taken"/> outside the range are ignored.
    /// </summary>
    public IPAddress? PickFree(IEnumerable<IPAddress> taken, Random random)
    {
        ArgumentNullException.ThrowIfNull(taken);
        ArgumentNullException.ThrowIfNull(random);
        var used = new HashSet<UInt128>();
        foreach (IPAddress address in taken)
        {
            if (address.AddressFamily == Family && Range.Contains(address))
            {
                used.Add(IPAddressMath.ToUInt128(address) - network);
            }
        }

        used.Add(KubernetesOffset);
        used.Add(DnsOffset);
        return PickIn(StaticBandSize + 1, lastOffset, used, random) is { } above ? At(above)
            : PickIn(1, StaticBandSize, used, random) is { } band ? At(band)
            : null;
    }

    /// <summary>A random free offset in [first, last], probing upwards (wrapping) from a random start.</summary>
    private static UInt128? PickIn(UInt128 first, UInt128 last, HashSet<UInt128> used, Random random)
    {
        if (first > last)
        {
            return null;
        }

        UInt128 count = last - first + 1;
        UInt128 usedHere = (UInt128)used.Count(o => o >= first && o <= last);
        if (usedHere >= count)
        {
            return null;
        }

        // A free offset is at most usedHere + 1 probes away from any start.
        UInt128 start = RandomBelow(random, count);
        for (UInt128 step = 0; step <= usedHere; step++)
        {
            UInt128 offset = first + ((start + step) % count);
            if (!used.Contains(offset))
            {
                return offset;
            }
        }

        return null;
    }

    private static UInt128 RandomBelow(Random random, UInt128 bound)
    {
        if (bound <= long.MaxValue)
        {
            return (UInt128)random.NextInt64((long)bound);
        }

        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes) % bound;
    }

    private IPAddress At(UInt128 offset) => IPAddressMath.FromUInt128(network + offset, Family);
}
