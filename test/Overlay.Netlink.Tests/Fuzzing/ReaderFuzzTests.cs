using NUnit.Framework;
using Overlay.Netlink.Tests.Wire;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink.Tests.Fuzzing;

/// <summary>
/// The reader and every decoder, fed truncated, mutated and random bytes, either decode or raise
/// <see cref="NetlinkParseException"/>; spans make any out-of-bounds read an IndexOutOfRangeException, which fails.
/// </summary>
public class ReaderFuzzTests
{
    private static readonly ushort[] MessageTypes =
    [
        Rtm.NewLink, Rtm.DelLink, Rtm.NewAddr, Rtm.DelAddr, Rtm.NewRoute, Rtm.DelRoute, Rtm.NewNeigh, Rtm.DelNeigh,
        Nl.Error, Nl.Done, Nl.Noop, Nl.Overrun, 0x77, Ctnl.New, Ctnl.Delete,
    ];

    private static readonly byte[][] Seeds =
    [
        Golden.RouteReplaceOnLink, Golden.FdbReplace, Golden.NeighbourReplace, Golden.VxlanCreate, Golden.AddressAddIPv6,
        Golden.RouteFromKernel, Golden.ErrorWithExtAck, Golden.Ack, Golden.DoneWithError,
        Golden.ConntrackFromKernel, Golden.ConntrackIPv6FromKernel, Golden.ConntrackDelete, Golden.ConntrackDumpFiltered,
    ];

    /// <summary>Reads every message of the datagram and runs every decoder on it; returns how many messages decoded.</summary>
    private static int ReadAll(byte[] datagram)
    {
        int count = 0;
        var reader = new MessageReader(datagram);
        while (reader.TryRead(out NetlinkMessage message))
        {
            count++;
            NetlinkFuzzTarget.DecodeWithEveryDecoder(message);
        }
        return count;
    }

    private static void AssertOnlyParseErrors(byte[] datagram, ref int rejected)
    {
        try
        {
            ReadAll(datagram);
        }
        catch (NetlinkParseException)
        {
            rejected++;
        }
        catch (Exception e)
        {
            Assert.Fail($"{e.GetType().Name} for input {Convert.ToHexString(datagram)}: {e}");
        }
    }

    private static void SetType(byte[] datagram, ushort type)
    {
        if (datagram.Length >= 6) HostOrder.WriteUInt16(datagram.AsSpan(4), type);
    }

    [Test]
    public void Every_golden_message_is_read_whole()
    {
        Assert.That(Seeds.Select(ReadAll), Is.All.EqualTo(1));
    }

    [Test]
    public void Truncated_messages_raise_only_parse_errors()
    {
        int rejected = 0, cases = 0;
        foreach (byte[] seed in Seeds)
        {
            for (int length = 0; length < seed.Length; length++)
            {
                foreach (ushort type in MessageTypes)
                {
                    // As cut off by a short read (header length now too long) ...
                    byte[] cut = seed[..length];
                    SetType(cut, type);
                    AssertOnlyParseErrors(cut, ref rejected);
                    // ... and with the header length fixed up, so decoders see a short payload.
                    if (length >= Nl.HeaderLength) HostOrder.WriteUInt32(cut, (uint)length);
                    AssertOnlyParseErrors(cut, ref rejected);
                    cases += 2;
                }
            }
        }
        Assert.That(cases, Is.GreaterThan(5_000));
        Assert.That(rejected, Is.GreaterThan(0));
    }

    [Test]
    public void Mutated_messages_raise_only_parse_errors()
    {
        var random = new Random(20261125);
        int rejected = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] datagram = (byte[])Seeds[random.Next(Seeds.Length)].Clone();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++) datagram[random.Next(datagram.Length)] = (byte)random.Next(256);
            if (random.Next(3) == 0) SetType(datagram, MessageTypes[random.Next(MessageTypes.Length)]);
            AssertOnlyParseErrors(datagram, ref rejected);
        }
        Assert.That(rejected, Is.GreaterThan(0));
    }

    [Test]
    public void Random_bytes_behind_a_plausible_header_raise_only_parse_errors()
    {
        var random = new Random(3);
        int rejected = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] datagram = new byte[random.Next(0, 300)];
            random.NextBytes(datagram);
            if (datagram.Length >= Nl.HeaderLength && random.Next(4) != 0)
            {
                // Mostly a sane header so the decoders, not just the header check, see the random payload.
                HostOrder.WriteUInt32(datagram, (uint)random.Next(Nl.HeaderLength, datagram.Length + 1));
                SetType(datagram, MessageTypes[random.Next(MessageTypes.Length)]);
                if (random.Next(2) == 0) HostOrder.WriteUInt16(datagram.AsSpan(6), (ushort)(Nl.AckTlvs | (random.Next(2) * Nl.Capped)));
            }
            AssertOnlyParseErrors(datagram, ref rejected);
        }
        Assert.That(rejected, Is.GreaterThan(0));
    }
}
