using System.Diagnostics.CodeAnalysis;
using Mvccpb;
using Overlay.Core.Leases;

namespace Overlay.Leases.Store;

/// <summary>A lease read from etcd with the key's mod and create revisions.</summary>
internal readonly record struct LeaseEntry(Lease Lease, long ModRevision, long CreateRevision = 0);

/// <summary>Reads etcd key-values under the subnets folder as leases, or says why one is not a lease.</summary>
internal static class LeaseEntries
{
    public static bool TryParse(string prefix, KeyValue kv, [NotNullWhen(true)] out Lease? lease, [NotNullWhen(false)] out SkippedEntry? skipped)
    {
        string key = kv.Key.ToStringUtf8();
        lease = null;
        skipped = null;
        if (!SubnetKey.TryParseEtcdKey(prefix, key, out SubnetKey subnet, out string reason))
        {
            skipped = new SkippedEntry(key, $"not a lease key: {reason}");
            return false;
        }

        if (!LeaseAttributes.TryParse(kv.Value.ToStringUtf8(), out LeaseAttributes? attributes, out reason))
        {
            skipped = new SkippedEntry(key, $"bad lease value: {reason}");
            return false;
        }

        lease = new Lease(subnet, attributes, kv.Lease);
        return true;
    }

    /// <summary>True when the stored value carries this owner id.</summary>
    public static bool HasOwner(KeyValue kv, string? ownerId) =>
        ownerId is not null
        && LeaseAttributes.TryParse(kv.Value.ToStringUtf8(), out LeaseAttributes? stored, out _)
        && string.Equals(stored.OwnerId, ownerId, StringComparison.Ordinal);

    /// <summary>Who holds the key, for messages: owner id and public IP as far as they can be read.</summary>
    public static string DescribeHolder(KeyValue kv) =>
        LeaseAttributes.TryParse(kv.Value.ToStringUtf8(), out LeaseAttributes? stored, out _)
            ? stored.OwnerId is { } owner ? $"{owner} ({stored.PublicIP})" : $"a node with public IP {stored.PublicIP}"
            : "an unreadable value";
}
