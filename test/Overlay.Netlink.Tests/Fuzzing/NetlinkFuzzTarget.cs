using NUnit.Framework;
using Overlay.Netlink.Tests.Wire;
using Overlay.Netlink.Wire;
using Overlay.TestKit;

namespace Overlay.Netlink.Tests.Fuzzing;

/// <summary>
/// Kernel replies as whole datagrams: a multi-part dump (several NLM_F_MULTI messages of the byte-exact golden
/// kinds, with the lengths of every message and nested attribute consistent) closed by NLMSG_DONE or NLMSG_ERROR,
/// then mutated (bit flips, boundary integers over length and type fields, cuts, splices of other messages).
/// Each datagram is read as the dump loop and the monitor read it: every message through the reader, then every
/// decoder. Only <see cref="NetlinkParseException"/> may come out; spans turn any out-of-bounds read into an
/// IndexOutOfRangeException, which is a finding.
/// </summary>
public static class NetlinkFuzzTarget
{
    private static readonly byte[][] Messages =
    [
        Golden.RouteReplaceOnLink, Golden.FdbReplace, Golden.NeighbourReplace, Golden.VxlanCreate, Golden.AddressAddIPv6,
        Golden.RouteFromKernel, Golden.ConntrackFromKernel, Golden.ConntrackIPv6FromKernel, Golden.ConntrackDelete,
        Golden.ConntrackDumpFiltered,
    ];

    private static readonly byte[][] Terminators = [Golden.Ack, Golden.DoneWithError, Golden.ErrorWithExtAck];

    private static readonly ushort[] Types =
    [
        Rtm.NewLink, Rtm.DelLink, Rtm.NewAddr, Rtm.DelAddr, Rtm.NewRoute, Rtm.DelRoute, Rtm.NewNeigh, Rtm.DelNeigh,
        Nl.Error, Nl.Done, Nl.Noop, Nl.Overrun, Ctnl.New, Ctnl.Delete,
    ];

    private static readonly byte[][] Splices = [.. Messages, .. Terminators];

    public static FuzzTarget<byte[]> Datagrams { get; } = new("netlink", Next, Check, Convert.ToHexString);

    /// <summary>A well-formed multi-part reply of 1..6 messages and a terminator, in the kernel's framing.</summary>
    public static byte[] Dump(Random random, bool swapTypes = false)
    {
        var datagram = new List<byte>();
        uint sequence = (uint)random.Next(1, 1000);
        int count = random.Next(1, 7);
        for (int i = 0; i < count; i++)
        {
            byte[] message = (byte[])Messages[random.Next(Messages.Length)].Clone();
            if (swapTypes && random.Next(3) == 0)
            {
                // Another kind's type over this body: each decoder sees the others' layouts.
                HostOrder.WriteUInt16(message.AsSpan(4), Types[random.Next(Types.Length)]);
            }

            HostOrder.WriteUInt16(message.AsSpan(6), (ushort)(HostOrder.ReadUInt16(message.AsSpan(6)) | Nl.Multi));
            HostOrder.WriteUInt32(message.AsSpan(8), sequence);
            datagram.AddRange(message);
            while (datagram.Count % 4 != 0)
            {
                datagram.Add(0);
            }
        }

        byte[] end = (byte[])Terminators[random.Next(Terminators.Length)].Clone();
        HostOrder.WriteUInt32(end.AsSpan(8), sequence);
        datagram.AddRange(end);
        return [.. datagram];
    }

    private static byte[] Next(InputMutator mutator)
    {
        byte[] dump = Dump(mutator.Random, swapTypes: true);
        return mutator.Random.Next(10) == 0 ? dump : mutator.Mutate(dump, Splices, maxOperations: 6);
    }

    /// <summary>Runs every decoder on one message, whatever its type (a fuzzed type may lie), and the error and done parsers on those types.</summary>
    internal static void DecodeWithEveryDecoder(NetlinkMessage message)
    {
        _ = LinkMessages.Decode(message);
        _ = AddressEntry.Decode(message);
        _ = RouteEntry.Decode(message);
        _ = NeighbourEntry.Decode(message);
        _ = FdbEntry.Decode(message);
        _ = NetlinkMonitor.Decode(message);
        _ = ConntrackMessages.Decode(message);
        if (message.Type == Nl.Error)
        {
            _ = NetlinkHandle.ParseErrorMessage(message, out _);
        }
        else if (message.Type == Nl.Done)
        {
            _ = NetlinkHandle.ParseDoneMessage(message, out _);
        }
    }

    /// <summary>Reads and decodes every message; accepted when all decoded, rejected on a parse error.</summary>
    public static FuzzVerdict Check(byte[] datagram)
    {
        try
        {
            var reader = new MessageReader(datagram);
            while (reader.TryRead(out NetlinkMessage message))
            {
                DecodeWithEveryDecoder(message);
            }

            return FuzzVerdict.Accepted;
        }
        catch (NetlinkParseException)
        {
            return FuzzVerdict.Rejected;
        }
    }
}
