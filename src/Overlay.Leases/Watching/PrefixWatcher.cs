using System.Runtime.CompilerServices;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using Overlay.Leases.Etcd;

namespace Overlay.Leases.Watching;

/// <summary>One key under a watched prefix that was put (with its value) or deleted (<see cref="Value"/> null).</summary>
public readonly record struct KeyChange(string Key, string? Value)
{
    public bool IsDeleted => Value is null;
}

/// <summary>
/// What changed under a prefix: the changed keys in revision order, the revision the update brings the reader to,
/// and whether it is a full list (<see cref="IsResync"/>: the first update, or a relist after a compaction, which
/// carries the deletions of keys that vanished meanwhile). <see cref="Prefix"/> names the watched prefix, so a
/// reader of several watches knows which one has delivered its first list, even an empty one.
/// </summary>
public sealed record PrefixUpdate(IReadOnlyList<KeyChange> Changes, long Revision, bool IsResync, string Prefix = "");

/// <summary>
/// Follows every key under one prefix (the service registry's <c>&lt;prefix&gt;/services/</c>, <c>&lt;prefix&gt;/pods/</c>):
/// lists it, then watches from the list's revision + 1; a broken stream is reopened where it stopped, so nothing is
/// missed or delivered twice; when etcd has compacted that revision away, it lists again and reports the difference.
/// Values are handed on as text: the reader parses them, and skips and counts what it cannot read. Only each key's
/// mod revision is kept here, so a relist costs no copy of the values.
/// </summary>
public sealed class PrefixWatcher
{
    private readonly EtcdSession session;
    private readonly string prefix;
    private readonly ILogger logger;

    public PrefixWatcher(EtcdSession session, string prefix, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        this.session = session;
        this.prefix = prefix;
        this.logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The first update is the full list; then one update per watch response that changed something. Retries
    /// through etcd outages for as long as it runs; ends (without throwing) when <paramref name="ct"/> is cancelled.
    /// </summary>
    public IAsyncEnumerable<PrefixUpdate> WatchAsync(CancellationToken ct) => WatchCoreAsync(null, 0, ct);

    /// <summary>Watches as if the keys in <paramref name="known"/> (key → mod revision) had been read at <paramref name="revision"/>.</summary>
    internal IAsyncEnumerable<PrefixUpdate> WatchFromAsync(IReadOnlyDictionary<string, long> known, long revision, CancellationToken ct) =>
        WatchCoreAsync(new Dictionary<string, long>(known, StringComparer.Ordinal), revision, ct);

    private async IAsyncEnumerable<PrefixUpdate> WatchCoreAsync(Dictionary<string, long>? known, long revision, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var run = new WatchRun(this, known, revision);
        while (await run.NextAsync(ct).ConfigureAwait(false) is { } update)
        {
            yield return update;
        }
    }

    /// <summary>Every key and value under the prefix, and the revision they were read at.</summary>
    internal Task<(List<KeyValue> Entries, long Revision)> ListAsync(CancellationToken ct) =>
        session.ListAsync(prefix, EtcdSession.DefaultPageSize, ct);

    /// <summary>The state of one watch: the keys known (with their mod revisions) and where to resume (the stream: <see cref="WatchRun{TUpdate}"/>).</summary>
    private sealed class WatchRun : WatchRun<PrefixUpdate>
    {
        private readonly PrefixWatcher owner;
        private Dictionary<string, long>? known;

        public WatchRun(PrefixWatcher owner, Dictionary<string, long>? known, long revision)
            : base(owner.session, owner.prefix)
        {
            this.owner = owner;
            this.known = known;
            NextRevision = revision + 1;
        }

        private ILogger Logger => owner.logger;

        protected override bool NeedsList => known is null;

        protected override void OnCompacted(long revision, long compactRevision) => Logger.PrefixWatchCompacted(owner.prefix, revision, compactRevision);

        protected override void OnFailed(long revision, string error, TimeSpan delay) => Logger.PrefixWatchFailed(owner.prefix, revision, error, delay);

        protected override async Task<PrefixUpdate> ListAsync(CancellationToken ct)
        {
            (List<KeyValue> entries, long revision) = await owner.ListAsync(ct).ConfigureAwait(false);
            var fresh = new Dictionary<string, long>(entries.Count, StringComparer.Ordinal);
            var changes = new List<KeyChange>();
            foreach (KeyValue kv in entries)
            {
                string key = kv.Key.ToStringUtf8();
                fresh[key] = kv.ModRevision;
                if (known is null || !known.TryGetValue(key, out long seen) || seen != kv.ModRevision)
                {
                    changes.Add(new KeyChange(key, kv.Value.ToStringUtf8()));
                }
            }

            if (known is not null)
            {
                changes.AddRange(known.Keys.Where(k => !fresh.ContainsKey(k)).Select(k => new KeyChange(k, null)));
            }

            known = fresh;
            NextRevision = revision + 1;
            Logger.PrefixListed(owner.prefix, fresh.Count, revision, changes.Count);
            return new PrefixUpdate(changes, revision, IsResync: true, owner.prefix);
        }

        protected override PrefixUpdate? Apply(WatchResponse response)
        {
            var changes = new List<KeyChange>(response.Events.Count);
            long last = NextRevision - 1;
            foreach (Event e in response.Events)
            {
                KeyValue kv = e.Kv;
                last = Math.Max(last, kv.ModRevision);
                string key = kv.Key.ToStringUtf8();
                if (e.Type == Event.Types.EventType.Put)
                {
                    known![key] = kv.ModRevision;
                    changes.Add(new KeyChange(key, kv.Value.ToStringUtf8()));
                }
                else if (known!.Remove(key))
                {
                    changes.Add(new KeyChange(key, null));
                }
            }

            NextRevision = last + 1;
            return changes.Count == 0 ? null : new PrefixUpdate(changes, last, IsResync: false, owner.prefix);
        }
    }
}

/// <summary>The log lines of the prefix watcher; event ids 2250-2269.</summary>
internal static partial class PrefixWatcherLog
{
    [LoggerMessage(EventId = 2250, Level = LogLevel.Information, Message = "{Prefix}: {Count} keys at revision {Revision}, {Changes} changes")]
    public static partial void PrefixListed(this ILogger logger, string prefix, int count, long revision, int changes);

    [LoggerMessage(EventId = 2251, Level = LogLevel.Warning, Message = "{Prefix}: etcd compacted revision {Revision} away (up to {CompactRevision}); listing again")]
    public static partial void PrefixWatchCompacted(this ILogger logger, string prefix, long revision, long compactRevision);

    [LoggerMessage(EventId = 2252, Level = LogLevel.Warning, Message = "{Prefix}: watch interrupted ({Error}); resuming at revision {Revision} in {Delay}")]
    public static partial void PrefixWatchFailed(this ILogger logger, string prefix, long revision, string error, TimeSpan delay);
}
