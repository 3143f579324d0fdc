using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using Overlay.Core.Services;
using Overlay.Leases.Etcd;

namespace Overlay.Leases.Services;

/// <summary>One pod key in etcd: the pod, or why it was skipped.</summary>
public sealed record PodEntry(string Key, PodRecord? Pod, string? Problem, long EtcdLeaseId);

/// <summary>
/// This node's pods in etcd, at <c>&lt;prefix&gt;/pods/&lt;ns&gt;/&lt;name&gt;</c>, each bound to one etcd lease of this
/// overlayd (TTL <see cref="Ttl"/>): kept alive every TTL/3 by <see cref="RunAsync"/>, so the pods of a node whose
/// overlayd died vanish within the TTL. A restarted overlayd grants a new lease and puts the same values under
/// it before the old one expires, so nothing is deleted in between. A lease lost anyway (expired during a long
/// etcd outage) is replaced, and every pod put so far is put again under the new one.
/// </summary>
public sealed class PodRegistry : IDisposable
{
    private readonly EtcdSession session;
    private readonly ILogger logger;
    private readonly TimeProvider time;

    // One writer at a time: a put must never bind a pod to a lease that is being replaced.
    private readonly SemaphoreSlim writes = new(1, 1);
    private readonly Dictionary<string, string> published = new(StringComparer.Ordinal);
    private long leaseId;

    public PodRegistry(EtcdSession session, TimeSpan ttl, ILogger<PodRegistry>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (ttl < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "the pod TTL must be at least a second");
        }

        this.session = session;
        Ttl = ttl;
        this.logger = logger ?? NullLogger<PodRegistry>.Instance;
        this.time = time ?? session.Time;
    }

    public TimeSpan Ttl { get; }

    /// <summary>The etcd lease the pods are bound to; 0 before the first put.</summary>
    public long LeaseId => Interlocked.Read(ref leaseId);

    /// <summary>How often the lease is kept alive: a third of the TTL, so two renewals may fail before it expires.</summary>
    public TimeSpan RenewInterval => Ttl / 3;

    public string PodsPrefix => RegistryKeys.PodsPrefix(session.Prefix);

    /// <summary>Puts the pod bound to this overlayd's lease (granted on first use), and remembers it to put again under a new lease.</summary>
    public async Task PutAsync(PodRecord pod, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pod);
        string key = RegistryKeys.Pod(session.Prefix, pod.Namespace, pod.Name);
        string value = PodCodec.Serialize(pod);
        await writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (leaseId == 0)
            {
                await GrantAsync(ct).ConfigureAwait(false);
            }

            try
            {
                await PutBoundAsync(key, value, ct).ConfigureAwait(false);
            }
            catch (RpcException e) when (IsLeaseNotFound(e))
            {
                logger.PodLeaseLost(leaseId, "etcd no longer knows it");
                await ReplaceLeaseAsync(ct).ConfigureAwait(false);
                await PutBoundAsync(key, value, ct).ConfigureAwait(false);
            }

            published[key] = value;
        }
        finally
        {
            writes.Release();
        }
    }

    /// <summary>Deletes the pod's key; true when it existed.</summary>
    public async Task<bool> DeleteAsync(string @namespace, string name, CancellationToken ct)
    {
        string key = RegistryKeys.Pod(session.Prefix, @namespace, name);
        await writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var request = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) };
            DeleteRangeResponse response = await session.CallAsync("delete pod", o => session.Kv.DeleteRangeAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            published.Remove(key);
            return response.Deleted > 0;
        }
        finally
        {
            writes.Release();
        }
    }

    /// <summary>Every key under the pods prefix; values that are not pods come with the reason.</summary>
    public async Task<IReadOnlyList<PodEntry>> ListAsync(CancellationToken ct)
    {
        (List<KeyValue> kvs, _) = await session.ListAsync(PodsPrefix, EtcdSession.DefaultPageSize, ct).ConfigureAwait(false);
        var entries = new List<PodEntry>(kvs.Count);
        foreach (KeyValue kv in kvs)
        {
            string key = kv.Key.ToStringUtf8();
            if (!RegistryKeys.TrySplit(key, PodsPrefix, out string ns, out string name))
            {
                entries.Add(new PodEntry(key, null, "the key is not <prefix>/pods/<namespace>/<name>", kv.Lease));
            }
            else if (!PodCodec.TryParse(kv.Value.ToStringUtf8(), out PodRecord? pod, out string reason))
            {
                entries.Add(new PodEntry(key, null, reason, kv.Lease));
            }
            else if (pod.Namespace != ns || pod.Name != name)
            {
                entries.Add(new PodEntry(key, null, $"it holds pod {pod.FullName}, not {ns}/{name}", kv.Lease));
            }
            else
            {
                entries.Add(new PodEntry(key, pod, null, kv.Lease));
            }
        }

        return entries;
    }

    /// <summary>The pods in etcd whose node is <paramref name="node"/> (a subnet key's text).</summary>
    public async Task<IReadOnlyList<PodRecord>> ListNodeAsync(string node, CancellationToken ct) =>
        (await ListAsync(ct).ConfigureAwait(false))
            .Where(e => e.Pod is not null && string.Equals(e.Pod.Node, node, StringComparison.Ordinal))
            .Select(e => e.Pod!)
            .ToList();

    /// <summary>
    /// Keeps the lease alive every <see cref="RenewInterval"/> until <paramref name="ct"/> is cancelled. A lease
    /// etcd no longer knows is replaced and every pod put again; etcd being away is waited out. Never throws but
    /// for the cancellation.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var backoff = Backoff.ForLoops(time, started: true);
        TimeSpan wait = RenewInterval;
        try
        {
            while (true)
            {
                await Task.Delay(wait, time, ct).ConfigureAwait(false);
                wait = RenewInterval;
                if (LeaseId == 0)
                {
                    continue; // nothing put yet
                }

                try
                {
                    await KeepAliveOrReplaceAsync(ct).ConfigureAwait(false);
                    backoff.Reset();
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    // Transient or not: the next attempt comes sooner than the next renewal, capped by the backoff.
                    wait = Min(backoff.Next(), RenewInterval);
                    logger.PodLeaseRenewFailed(LeaseId, session.Describe(e), wait);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: the lease stays until its TTL, so a restart that comes soon changes nothing in etcd.
        }
    }

    private async Task KeepAliveOrReplaceAsync(CancellationToken ct)
    {
        await writes.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            long id = leaseId;
            long ttl = await KeepAliveAsync(id, ct).ConfigureAwait(false);
            if (ttl > 0)
            {
                logger.PodLeaseRenewed(id, ttl);
                return;
            }

            logger.PodLeaseLost(id, "it expired");
            await ReplaceLeaseAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            writes.Release();
        }
    }

    /// <summary>One keep-alive on its own stream: the TTL etcd answers, 0 when the lease is gone.</summary>
    private Task<long> KeepAliveAsync(long id, CancellationToken ct) =>
        session.CallAsync("keep pod lease alive", async o =>
        {
            using AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call = session.Leases.LeaseKeepAlive(o);
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = id }, o.CancellationToken).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return await call.ResponseStream.MoveNext(o.CancellationToken).ConfigureAwait(false) ? call.ResponseStream.Current.TTL : 0;
        }, ct);

    /// <summary>Called holding <see cref="writes"/>: a new lease, and every pod put so far bound to it.</summary>
    private async Task ReplaceLeaseAsync(CancellationToken ct)
    {
        await GrantAsync(ct).ConfigureAwait(false);
        foreach ((string key, string value) in published.ToList())
        {
            await PutBoundAsync(key, value, ct).ConfigureAwait(false);
        }

        logger.PodsPutAgain(published.Count, leaseId);
    }

    private async Task GrantAsync(CancellationToken ct)
    {
        var request = new LeaseGrantRequest { TTL = (long)Math.Ceiling(Ttl.TotalSeconds) };
        LeaseGrantResponse response = await session.CallAsync("grant pod lease", o => session.Leases.LeaseGrantAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error))
        {
            throw new IOException($"etcd refused a lease of {Ttl} for the pods: {response.Error}");
        }

        Interlocked.Exchange(ref leaseId, response.ID);
        logger.PodLeaseGranted(response.ID, response.TTL);
    }

    private Task<PutResponse> PutBoundAsync(string key, string value, CancellationToken ct)
    {
        var request = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Lease = leaseId };
        return session.CallAsync("put pod", o => session.Kv.PutAsync(request, o).ResponseAsync, ct);
    }

    private static bool IsLeaseNotFound(RpcException e) =>
        e.StatusCode == StatusCode.NotFound && e.Status.Detail.Contains("lease not found", StringComparison.OrdinalIgnoreCase);

    public void Dispose() => writes.Dispose();

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

/// <summary>The log lines of the pod registry; event ids 2600-2699 (the lease manager has 2000-2999).</summary>
internal static partial class PodRegistryLog
{
    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "pods: etcd lease {LeaseId:x} granted with a TTL of {Ttl} s")]
    public static partial void PodLeaseGranted(this ILogger logger, long leaseId, long ttl);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Debug, Message = "pods: etcd lease {LeaseId:x} kept alive ({Ttl} s)")]
    public static partial void PodLeaseRenewed(this ILogger logger, long leaseId, long ttl);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Warning, Message = "pods: cannot keep etcd lease {LeaseId:x} alive ({Error}); retrying in {Delay}")]
    public static partial void PodLeaseRenewFailed(this ILogger logger, long leaseId, string error, TimeSpan delay);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Warning, Message = "pods: etcd lease {LeaseId:x} is lost ({Reason}); granting a new one and putting every pod again")]
    public static partial void PodLeaseLost(this ILogger logger, long leaseId, string reason);

    [LoggerMessage(EventId = 2605, Level = LogLevel.Information, Message = "pods: {Count} pods put again under etcd lease {LeaseId:x}")]
    public static partial void PodsPutAgain(this ILogger logger, int count, long leaseId);
}
