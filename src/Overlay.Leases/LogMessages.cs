using Microsoft.Extensions.Logging;
using Overlay.Core.Allocation;
using Overlay.Core.Leases;

namespace Overlay.Leases;

/// <summary>Every log line of the lease manager; event ids 2000-2999 (2000 session, 2100 store, 2200 watcher, 2300 keeper).</summary>
internal static partial class LogMessages
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "etcd {Operation} failed ({Error}); retry {Attempt} in {Delay}")]
    public static partial void EtcdCallRetrying(this ILogger logger, string operation, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "waiting for the network config: {Problem}")]
    public static partial void ConfigNotUsable(this ILogger logger, string problem);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Debug, Message = "still waiting for a usable network config (same problem)")]
    public static partial void ConfigStillNotUsable(this ILogger logger);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "network config at {Key} is usable now")]
    public static partial void ConfigUsable(this ILogger logger, string key);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "acquired subnet {Subnet} ({How}): {Reason}")]
    public static partial void Acquired(this ILogger logger, SubnetKey subnet, AllocationOutcome how, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "another node wrote {Subnet} first (attempt {Attempt}); looking again")]
    public static partial void AcquireRaceLost(this ILogger logger, SubnetKey subnet, int attempt);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Information, Message = "another node created a lease with the same IPv6 subnet first ({Holder}); giving up {Subnet}")]
    public static partial void IPv6RaceLost(this ILogger logger, SubnetKey subnet, SubnetKey holder);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "node {Owner} gets no subnet: {Reason}")]
    public static partial void OutOfSubnets(this ILogger logger, string owner, string reason);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Information, Message = "renewed lease {Subnet}: etcd lease {LeaseId:x} until {Expiration:u}")]
    public static partial void Renewed(this ILogger logger, SubnetKey subnet, long leaseId, DateTimeOffset expiration);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Debug, Message = "reservation {Subnet} is still ours")]
    public static partial void ReservationChecked(this ILogger logger, SubnetKey subnet);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Information, Message = "released lease {Subnet}")]
    public static partial void Released(this ILogger logger, SubnetKey subnet);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Information, Message = "reserved {Subnet} for {PublicIP}")]
    public static partial void Reserved(this ILogger logger, SubnetKey subnet, string publicIP);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "skipping {Key}: {Reason}")]
    public static partial void EntrySkipped(this ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "deleted this node's lease {Subnet}: it no longer fits the network config")]
    public static partial void StaleLeaseDeleted(this ILogger logger, SubnetKey subnet);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Information, Message = "listing the leases again from the newest revision: {Detail}")]
    public static partial void ListRestarted(this ILogger logger, string detail);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Debug, Message = "could not revoke unused etcd lease {LeaseId:x} ({Error}); it will expire")]
    public static partial void RevokeFailed(this ILogger logger, long leaseId, string error);

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
