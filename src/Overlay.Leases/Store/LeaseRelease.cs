using Etcdserverpb;
using Google.Protobuf;
using Overlay.Core.Leases;
using Overlay.Leases.Etcd;

namespace Overlay.Leases.Store;

public enum ReleaseOutcome
{
    /// <summary>The key was deleted.</summary>
    Released,

    /// <summary>There was no such key (any more).</summary>
    Missing,

    /// <summary>The key was written after the given revision (renewed, or taken by another node) and was left alone.</summary>
    ChangedSince,
}

/// <summary>Release for admin tools that show leases first and delete after: only what was shown is deleted.</summary>
public static class LeaseRelease
{
    /// <summary>
    /// Deletes a lease key only if it has not been written since <paramref name="revision"/> (e.g. the
    /// <see cref="LeaseSnapshot.Revision"/> it was listed at), so a lease its owner renewed in the meantime stays.
    /// </summary>
    public static async Task<ReleaseOutcome> ReleaseIfUnchangedAsync(this LeaseStore store, SubnetKey subnet, long revision, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        EtcdSession session = store.Session;
        ByteString key = ByteString.CopyFromUtf8(subnet.ToEtcdKey(session.Prefix));
        var txn = new TxnRequest();
        // A missing key compares as mod revision 0, so the delete runs and reports 0 keys deleted.
        txn.Compare.Add(new Compare
        {
            Key = key,
            Target = Compare.Types.CompareTarget.Mod,
            Result = Compare.Types.CompareResult.Less,
            ModRevision = revision + 1,
        });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
        TxnResponse response = await session.CallAsync("delete lease if unchanged", o => session.Kv.TxnAsync(txn, o).ResponseAsync, ct).ConfigureAwait(false);
        if (!response.Succeeded)
        {
            return ReleaseOutcome.ChangedSince;
        }

        return response.Responses[0].ResponseDeleteRange.Deleted > 0 ? ReleaseOutcome.Released : ReleaseOutcome.Missing;
    }
}
