using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;

namespace Overlay.Leases.Keeping;

/// <summary>
/// Keeps this node's lease for as long as the daemon runs: acquires it, renews it at expiration − margin
/// (a reservation is only checked), and when the lease is lost (taken over, deleted, expired) acquires again,
/// preferring the same subnet, and says so loudly. etcd outages are waited out; the data plane is never
/// asked to tear anything down from here.
/// </summary>
public sealed class LeaseKeeper
{
    private readonly LeaseStore store;
    private readonly NetworkConfig config;
    private readonly NodeIdentity self;
    private readonly LeaseAttributes attributes;
    private readonly SubnetKey? previous;
    private readonly LeaseOptions options;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly Lock wakeLock = new();
    private TaskCompletionSource<string> wakeup = NewWakeup();
    private volatile OwnLease? current;

    public LeaseKeeper(
        LeaseStore store,
        NetworkConfig config,
        NodeIdentity self,
        LeaseAttributes attributes,
        SubnetKey? previous,
        LeaseOptions options,
        ILogger<LeaseKeeper>? logger = null,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.store = store;
        this.config = config;
        this.self = self;
        this.attributes = attributes;
        this.previous = previous;
        this.options = options;
        this.logger = logger ?? NullLogger<LeaseKeeper>.Instance;
        this.time = time ?? TimeProvider.System;
    }

    public OwnLease? Current => current;

    /// <summary>Raised whenever <see cref="Current"/> is replaced after the first acquisition: a renewal, or a new subnet.</summary>
    public event Action<OwnLease>? LeaseChanged;

    /// <summary>For tests: raised with the due time each time the keeper starts waiting to renew.</summary>
    internal event Action<DateTimeOffset>? RenewalScheduled;

    /// <summary>The first acquisition; waits out etcd outages, but throws <see cref="OutOfSubnetsException"/>.</summary>
    public async Task<OwnLease> AcquireAsync(CancellationToken ct)
    {
        var backoff = Backoff.ForLoops(time);
        while (true)
        {
            try
            {
                OwnLease acquired = await store.AcquireAsync(config, self, attributes, current?.Subnet ?? previous, ct).ConfigureAwait(false);
                Publish(acquired);
                return acquired;
            }
            catch (Exception e) when (EtcdErrors.IsTransient(e, ct))
            {
                TimeSpan delay = backoff.Next();
                logger.AcquireRetrying(store.Session.Describe(e), delay);
                await Task.Delay(delay, time, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Renews and re-acquires until <paramref name="ct"/> is cancelled, then returns. Acquires first if
    /// <see cref="AcquireAsync"/> has not been called.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            if (current is null)
            {
                await AcquireAsync(ct).ConfigureAwait(false);
            }

            var backoff = Backoff.ForLoops(time, started: true);
            DateTimeOffset? retryAt = null;
            DateTimeOffset lastCheck = time.GetUtcNow();
            while (true)
            {
                OwnLease lease = current!;
                DateTimeOffset due = retryAt ?? DueTime(lease, lastCheck);
                Task<string> woken;
                lock (wakeLock)
                {
                    woken = wakeup.Task;
                }

                TimeSpan wait = due - time.GetUtcNow();
                using (var delayCancellation = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    Task delay = wait > TimeSpan.Zero ? Task.Delay(wait, time, delayCancellation.Token) : Task.CompletedTask;
                    RenewalScheduled?.Invoke(due);
                    Task first = await Task.WhenAny(delay, woken).ConfigureAwait(false);
                    await delayCancellation.CancelAsync().ConfigureAwait(false);
                    ct.ThrowIfCancellationRequested();
                    if (first == woken)
                    {
                        lock (wakeLock)
                        {
                            wakeup = NewWakeup();
                        }

                        logger.LeaseVanished(lease.Subnet, woken.Result);
                        retryAt = null;
                        await ReacquireAsync(lease.Subnet, ct).ConfigureAwait(false);
                        lastCheck = time.GetUtcNow();
                        continue;
                    }
                }

                try
                {
                    OwnLease renewed = await store.RenewAsync(lease, ct).ConfigureAwait(false);
                    retryAt = null;
                    backoff.Reset();
                    lastCheck = time.GetUtcNow();
                    Publish(renewed);
                }
                catch (LeaseLostException e)
                {
                    logger.LeaseLost(lease.Subnet, e.Message);
                    retryAt = null;
                    await ReacquireAsync(lease.Subnet, ct).ConfigureAwait(false);
                    lastCheck = time.GetUtcNow();
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    // Transient or not (a revoked permission can be restored), the keeper keeps trying.
                    TimeSpan delay = backoff.Next();
                    retryAt = time.GetUtcNow() + delay;
                    logger.RenewFailed(lease.Subnet, store.Session.Describe(e), delay, lease.Expiration);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: the lease stays in etcd, so a restart keeps the subnet.
        }
    }

    /// <summary>
    /// Hands the keeper a watcher update; if this node's key was removed or now carries another owner, the
    /// keeper re-acquires at once instead of waiting for the next renewal.
    /// </summary>
    public void NotifyLeaseChanged(LeaseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        OwnLease? mine = current;
        if (mine is null)
        {
            return;
        }

        string? reason = null;
        foreach (LeaseChange change in update.Changes)
        {
            if (change.Subnet != mine.Subnet)
            {
                continue;
            }

            if (change.Kind == LeaseChangeKind.Removed)
            {
                reason = "its key was deleted or expired";
            }
            else if (change.Lease is { } now && !string.Equals(now.Attributes.OwnerId, mine.Lease.Attributes.OwnerId, StringComparison.Ordinal))
            {
                reason = $"its key now belongs to {now.Attributes.OwnerId ?? "a node with public IP " + now.Attributes.PublicIP}";
            }
            else
            {
                reason = null; // a later event in the same update shows it ours again
            }
        }

        if (reason is null && update.IsResync && !update.Current.Any(l => l.Subnet == mine.Subnet))
        {
            reason = "it is missing from a fresh list of leases";
        }

        if (reason is not null)
        {
            lock (wakeLock)
            {
                wakeup.TrySetResult(reason);
            }
        }
    }

    private DateTimeOffset DueTime(OwnLease lease, DateTimeOffset lastCheck) =>
        lease.Expiration is { } expiration
            ? expiration - options.RenewMargin
            : lastCheck + (options.Ttl - options.RenewMargin); // a reservation: check it on the same cadence

    private async Task ReacquireAsync(SubnetKey preferred, CancellationToken ct)
    {
        var backoff = new Backoff(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                OwnLease acquired = await store.AcquireAsync(config, self, attributes, preferred, ct).ConfigureAwait(false);
                if (acquired.Subnet == preferred)
                {
                    logger.Reacquired(preferred, acquired.How);
                }
                else
                {
                    logger.SubnetMoved(preferred, acquired.Subnet);
                }

                Publish(acquired);
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                TimeSpan delay = backoff.Next();
                logger.ReacquireFailed(preferred, e is OutOfSubnetsException ? e.Message : store.Session.Describe(e), delay);
                await Task.Delay(delay, time, ct).ConfigureAwait(false);
            }
        }
    }

    private void Publish(OwnLease lease)
    {
        bool first = current is null;
        current = lease;
        if (!first)
        {
            LeaseChanged?.Invoke(lease);
        }
    }

    private static TaskCompletionSource<string> NewWakeup() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The log lines of the lease keeper; event ids 2300-2399 (the lease manager has 2000-2999).</summary>
internal static partial class LeaseKeeperLog
{
    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "cannot acquire a subnet yet ({Error}); retrying in {Delay}")]
    public static partial void AcquireRetrying(this ILogger logger, string error, TimeSpan delay);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "cannot renew lease {Subnet} ({Error}); retrying in {Delay} (the lease expires at {Expiration:u})")]
    public static partial void RenewFailed(this ILogger logger, SubnetKey subnet, string error, TimeSpan delay, DateTimeOffset? expiration);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "LEASE LOST: {Subnet}: {Reason}; acquiring again (same subnet if it is free)")]
    public static partial void LeaseLost(this ILogger logger, SubnetKey subnet, string reason);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "LEASE LOST: {Subnet}: {Reason}; acquiring again (same subnet if it is free)")]
    public static partial void LeaseVanished(this ILogger logger, SubnetKey subnet, string reason);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Warning, Message = "re-acquired subnet {Subnet} ({How})")]
    public static partial void Reacquired(this ILogger logger, SubnetKey subnet, AllocationOutcome how);

    [LoggerMessage(EventId = 2306, Level = LogLevel.Warning, Message = "SUBNET CHANGED: lost {Old}, now holding {New}; pods on the old subnet must be restarted")]
    public static partial void SubnetMoved(this ILogger logger, SubnetKey old, SubnetKey @new);

    [LoggerMessage(EventId = 2307, Level = LogLevel.Error, Message = "cannot re-acquire a subnet after losing {Subnet} ({Error}); retrying in {Delay}")]
    public static partial void ReacquireFailed(this ILogger logger, SubnetKey subnet, string error, TimeSpan delay);
}
