using System.Text;
using Google.Protobuf;
using Mvccpb;
using Overlay.Core.Leases;
using Overlay.Leases.Store;
using Overlay.TestKit;

namespace Overlay.Leases.Tests.Fuzzing;

/// <summary>
/// etcd key-values under the subnets folder as the store's list and the watcher read them: raw bytes (a key or
/// value need not even be UTF-8), grammar-made keys and flannel's lease values mutated. A bad entry must come back
/// as a <see cref="SkippedEntry"/> with a reason (which the store and watcher log and skip), never as an exception,
/// and the helpers that describe a held key must not throw either.
/// </summary>
public static class LeaseEntryFuzzTarget
{
    public const string Prefix = "/coreos.com/network";

    private static readonly string[] KeySeeds =
    [
        "/coreos.com/network/subnets/198.18.34.0-24",
        "/coreos.com/network/subnets/198.18.35.0-24&2001:db8:0:23::-64",
        "/coreos.com/network/subnets/",
        "/coreos.com/network/config",
    ];

    private static readonly string[] ValueSeeds =
    [
        """{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:44"}}""",
        """{"PublicIP":"192.0.2.12","PublicIPv6":"2001:db8::12","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:45"},"BackendV6Data":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:46"},"OverlayOwner":"node-b"}""",
    ];

    private static readonly byte[][] ByteSeeds = [.. KeySeeds.Concat(ValueSeeds).Select(Encoding.UTF8.GetBytes)];

    private static readonly string[] JsonTokens = ["\"", "{", "}", "[", "]", ",", ":", "null", "1e400", "\\ud800", "\\u0000", "\"PublicIP\":", "\"BackendData\":", "\"VNI\":", "-1"];

    public static FuzzTarget<KeyValue> Entries { get; } = new("lease-entry", Next, Check, Show);

    private static KeyValue Next(InputMutator mutator)
    {
        Random random = mutator.Random;
        byte[] key = random.Next(3) switch
        {
            0 => Encoding.UTF8.GetBytes(SubnetKey.SubnetsPrefix(Prefix) + GrammarKeyPart(random)),
            1 => mutator.Mutate(Encoding.UTF8.GetBytes(mutator.Pick(KeySeeds)), ByteSeeds),
            _ => Encoding.UTF8.GetBytes(mutator.Pick(KeySeeds)),
        };
        byte[] value = random.Next(3) switch
        {
            0 => mutator.Mutate(Encoding.UTF8.GetBytes(mutator.Pick(ValueSeeds)), ByteSeeds),
            1 => Encoding.UTF8.GetBytes(mutator.MutateText(mutator.Pick(ValueSeeds), ValueSeeds, JsonTokens)),
            _ => Encoding.UTF8.GetBytes(mutator.Pick(ValueSeeds)),
        };
        return new KeyValue
        {
            Key = ByteString.CopyFrom(key),
            Value = ByteString.CopyFrom(value),
            Lease = random.Next(4) == 0 ? 0 : random.NextInt64(),
            ModRevision = random.NextInt64(),
        };
    }

    private static string GrammarKeyPart(Random random)
    {
        string v4 = $"198.{random.Next(17, 21)}.{random.Next(257)}.{(random.Next(3) == 0 ? random.Next(256) : 0)}";
        string key = $"{v4}-{random.Next(34)}";
        return random.Next(3) == 0 ? $"{key}&2001:db8:0:{random.Next(0x10000):x}::-{random.Next(130)}" : key;
    }

    private static FuzzVerdict Check(KeyValue kv)
    {
        _ = LeaseEntries.HasOwner(kv, "node-b");
        _ = LeaseEntries.DescribeHolder(kv);
        if (!LeaseEntries.TryParse(Prefix, kv, out Lease? lease, out SkippedEntry? skipped))
        {
            if (skipped.Reason.Length == 0)
            {
                throw new FuzzPropertyException("a skipped entry has a reason");
            }

            return FuzzVerdict.Rejected;
        }

        if (lease.Subnet.ToEtcdKey(Prefix) != kv.Key.ToStringUtf8() || lease.EtcdLeaseId != kv.Lease)
        {
            throw new FuzzPropertyException($"the lease read is the entry's own: {lease.Subnet.ToEtcdKey(Prefix)}");
        }

        return FuzzVerdict.Accepted;
    }

    private static string Show(KeyValue kv) => $"key {Convert.ToHexString(kv.Key.Span)}, value {Convert.ToHexString(kv.Value.Span)}";
}
