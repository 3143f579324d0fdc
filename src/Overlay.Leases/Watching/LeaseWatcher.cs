using System.Runtime.CompilerServices;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;
using EtcdLease = Overlay.Core.Leases.Lease;

namespace Overlay.Leases.Watching;

/// <summary>
/// Follows every lease under the prefix: lists them, then watches from the list's revision + 1. A broken stream
/// is reopened at the last seen revision + 1, so nothing is missed or delivered twice; when etcd has compacted
/// that revision away, it lists again and reports the difference. Entries that are not leases are skipped
/// with a warning and counted in <see cref="SkippedCount"/>; they never empty the lease set.
/// </summary>
public sealed class LeaseWatcher
{
    private readonly EtcdSession session;
    private readonly ILogger logger;
    private readonly LeaseStore store;
    private long skippedCount;

    public LeaseWatcher(EtcdSession session, ILogger<LeaseWatcher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        this.session = session;
        this.logger = logger ?? NullLogger<LeaseWatcher>.Instance;
        store = new LeaseStore(session);
    }

    /// <summary>How many malformed keys or values have been skipped (each time one was read).</summary>
    public long SkippedCount => Interlocked.Read(ref skippedCount);

    /// <summary>
    /// The first update is the full list (<see cref="LeaseUpdate.IsResync"/>, every lease Added); then one update
    /// per watch response that changed something. Retries through etcd outages for as long as it runs; ends
    /// (without throwing) when <paramref name="ct"/> is cancelled.
    /// </summary>
    public IAsyncEnumerable<LeaseUpdate> WatchAsync(CancellationToken ct) => WatchCoreAsync(null, ct);

    /// <summary>Watches as if <paramref name="known"/> had already been delivered: resumes at its revision + 1.</summary>
    internal IAsyncEnumerable<LeaseUpdate> WatchFromAsync(LeaseSnapshot known, CancellationToken ct) => WatchCoreAsync(known, ct);

    private async IAsyncEnumerable<LeaseUpdate> WatchCoreAsync(LeaseSnapshot? known, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var run = new WatchRun(this, known);
        while (await run.NextAsync(ct).ConfigureAwait(false) is { } update)
        {
            yield return update;
        }
    }

    private void Skip(SkippedEntry entry)
    {
        Interlocked.Increment(ref skippedCount);
        logger.EntrySkipped(entry.Key, entry.Reason);
    }

    /// <summary>The state of one watch of the leases: what is known and where to resume (the stream: <see cref="WatchRun{TUpdate}"/>).</summary>
    private sealed class WatchRun : WatchRun<LeaseUpdate>
    {
        private readonly LeaseWatcher owner;
        private Dictionary<SubnetKey, EtcdLease>? known;

        public WatchRun(LeaseWatcher owner, LeaseSnapshot? start)
            : base(owner.session, owner.session.SubnetsPrefix)
        {
            this.owner = owner;
            if (start is not null)
            {
                known = start.Leases.ToDictionary(l => l.Subnet);
                NextRevision = start.Revision + 1;
            }
        }

        private ILogger Logger => owner.logger;

        protected override bool NeedsList => known is null;

        protected override void OnOpened(long revision) => Logger.WatchOpened(revision);

        protected override void OnStreamEnded(long revision) => Logger.WatchStreamEnded(revision);

        protected override void OnCompacted(long revision, long compactRevision) => Logger.WatchCompacted(revision, compactRevision);

        protected override void OnCanceled(long revision, string reason) => Logger.WatchCanceled(revision, reason);

        protected override void OnFailed(long revision, string error, TimeSpan delay) => Logger.WatchFailed(revision, error, delay);

        protected override async Task<LeaseUpdate> ListAsync(CancellationToken ct)
        {
            LeaseStore.Listing listing = await owner.store.ListEntriesAsync(ct).ConfigureAwait(false);
            foreach (SkippedEntry bad in listing.Skipped)
            {
                owner.Skip(bad);
            }

            var fresh = listing.Entries.ToDictionary(e => e.Lease.Subnet, e => e.Lease);
            IReadOnlyList<LeaseChange> changes = known is null
                ? fresh.Values.Select(l => new LeaseChange(LeaseChangeKind.Added, l.Subnet, l, null)).ToList()
                : LeaseDiff.Between(known, fresh);
            bool first = known is null;
            known = fresh;
            NextRevision = listing.Revision + 1;
            Logger.LeasesListed(fresh.Count, listing.Revision, listing.Skipped.Count, first ? "initial list" : "relist after compaction", changes.Count);
            return new LeaseUpdate(changes, Current(), listing.Revision, IsResync: true);
        }

        protected override LeaseUpdate? Apply(WatchResponse response)
        {
            var changes = new List<LeaseChange>();
            long last = NextRevision - 1;
            string prefix = owner.session.Prefix;
            foreach (Event e in response.Events)
            {
                KeyValue kv = e.Kv;
                last = Math.Max(last, kv.ModRevision);
                if (e.Type == Event.Types.EventType.Put)
                {
                    if (!LeaseEntries.TryParse(prefix, kv, out EtcdLease? lease, out SkippedEntry? bad))
                    {
                        // The last good value of this key (if any) stays: a bad write must not drop a node's routes.
                        owner.Skip(bad);
                        continue;
                    }

                    if (known!.TryGetValue(lease.Subnet, out EtcdLease? previous))
                    {
                        if (previous != lease)
                        {
                            changes.Add(new LeaseChange(LeaseChangeKind.Changed, lease.Subnet, lease, previous));
                        }
                    }
                    else
                    {
                        changes.Add(new LeaseChange(LeaseChangeKind.Added, lease.Subnet, lease, null));
                    }

                    known[lease.Subnet] = lease;
                }
                else if (SubnetKey.TryParseEtcdKey(prefix, kv.Key.ToStringUtf8(), out SubnetKey subnet, out _)
                    && known!.Remove(subnet, out EtcdLease? removed))
                {
                    changes.Add(new LeaseChange(LeaseChangeKind.Removed, subnet, null, removed));
                }
            }

            NextRevision = last + 1;
            return changes.Count == 0 ? null : new LeaseUpdate(changes, Current(), last, IsResync: false);
        }

        // Unordered: a copy per update must stay cheap at thousands of leases; consumers sort if they need to.
        private List<EtcdLease> Current() => [.. known!.Values];
    }
}

/// <summary>The log lines of the lease watcher; event ids 2200-2299 (the lease manager has 2000-2999).</summary>
internal static partial class LeaseWatcherLog
{
    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "{What}: {Count} leases at revision {Revision}, {Skipped} entries skipped, {Changes} changes")]
    public static partial void LeasesListed(this ILogger logger, int count, long revision, int skipped, string what, int changes);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Debug, Message = "watching leases from revision {Revision}")]
    public static partial void WatchOpened(this ILogger logger, long revision);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "etcd compacted revision {Revision} away (compacted up to {CompactRevision}); listing all leases again")]
    public static partial void WatchCompacted(this ILogger logger, long revision, long compactRevision);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "etcd cancelled the lease watch at revision {Revision}: {Reason}; reopening it")]
    public static partial void WatchCanceled(this ILogger logger, long revision, string reason);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "the lease watch stream ended; reopening it at revision {Revision}")]
    public static partial void WatchStreamEnded(this ILogger logger, long revision);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Warning, Message = "lease watch interrupted ({Error}); resuming at revision {Revision} in {Delay}")]
    public static partial void WatchFailed(this ILogger logger, long revision, string error, TimeSpan delay);
}
