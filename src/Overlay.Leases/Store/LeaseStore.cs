using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using Overlay.Core.Addressing;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Leases.Etcd;
using EtcdLease = Overlay.Core.Leases.Lease;

namespace Overlay.Leases.Store;

/// <summary>
/// The lease protocol's operations on etcd: the network config, listing leases, acquiring a subnet in
/// flannel's order with create-if-absent transactions, renewing as the owner, reservations and release.
/// See docs/leases.md.
/// </summary>
public sealed class LeaseStore
{
    private readonly EtcdSession session;
    private readonly ILogger logger;
    private readonly TimeProvider time;

    public LeaseStore(EtcdSession session, LeaseOptions? options = null, ILogger<LeaseStore>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        this.session = session;
        Options = options ?? new LeaseOptions();
        Options.Validate();
        this.logger = logger ?? NullLogger<LeaseStore>.Instance;
        this.time = time ?? session.Time;
    }

    public LeaseOptions Options { get; }

    public EtcdSession Session => session;

    public async Task<string?> GetConfigJsonAsync(CancellationToken ct)
    {
        RangeResponse response = await RangeAsync(session.ConfigKey, prefix: false, ct).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    /// <summary>Writes the config as given; validating it is the caller's business (the CLI does).</summary>
    public Task PutConfigJsonAsync(string json, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(json);
        var request = new PutRequest { Key = ByteString.CopyFromUtf8(session.ConfigKey), Value = ByteString.CopyFromUtf8(json) };
        return session.CallAsync("put config", o => session.Kv.PutAsync(request, o).ResponseAsync, ct);
    }

    /// <summary>Reads and validates the config; throws <see cref="NetworkConfigMissingException"/> or <see cref="InvalidNetworkConfigException"/>.</summary>
    public async Task<NetworkConfig> GetConfigAsync(CancellationToken ct)
    {
        string? json = await GetConfigJsonAsync(ct).ConfigureAwait(false);
        if (json is null)
        {
            throw NetworkConfigMissingException.ForKey(session.ConfigKey);
        }

        return NetworkConfigParser.Parse(json);
    }

    /// <summary>
    /// Waits until the config is present and valid, retrying through etcd outages; each distinct problem is
    /// logged once, as one line.
    /// </summary>
    public Task<NetworkConfig> WaitForConfigAsync(CancellationToken ct) => WaitForConfigAsync(null, ct);

    /// <summary>
    /// As <see cref="WaitForConfigAsync(CancellationToken)"/>, telling <paramref name="problemChanged"/> each new
    /// problem (for /readyz and systemd's status line).
    /// </summary>
    public async Task<NetworkConfig> WaitForConfigAsync(Action<string>? problemChanged, CancellationToken ct)
    {
        // Start-up waits here: at most a second between attempts, so the node goes on as soon as etcd answers.
        var backoff = Backoff.ForLoops(time);
        string? lastProblem = null;
        while (true)
        {
            string problem;
            try
            {
                NetworkConfig config = await GetConfigAsync(ct).ConfigureAwait(false);
                if (lastProblem is not null)
                {
                    logger.ConfigUsable(session.ConfigKey);
                }

                return config;
            }
            catch (NetworkConfigMissingException e)
            {
                problem = e.Message;
            }
            catch (InvalidNetworkConfigException e)
            {
                problem = $"{session.ConfigKey}: {e.Message}";
            }
            catch (Exception e) when (EtcdErrors.IsTransient(e, ct))
            {
                problem = $"cannot read {session.ConfigKey}: etcd is unreachable ({session.Describe(e)})";
            }

            if (!string.Equals(problem, lastProblem, StringComparison.Ordinal))
            {
                logger.ConfigNotUsable(problem);
                lastProblem = problem;
                problemChanged?.Invoke(problem);
            }
            else
            {
                logger.ConfigStillNotUsable();
            }

            await backoff.DelayAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every lease under the prefix and the revision it was read at. Entries that are not leases are
    /// returned in <see cref="LeaseSnapshot.Skipped"/>. Expirations are asked of etcd only when
    /// <paramref name="withExpiration"/> is set (one LeaseTimeToLive call per etcd lease).
    /// </summary>
    public async Task<LeaseSnapshot> ListAsync(bool withExpiration, CancellationToken ct)
    {
        Listing listing = await ListEntriesAsync(ct).ConfigureAwait(false);
        IReadOnlyList<EtcdLease> leases = listing.Entries.Select(e => e.Lease).ToList();
        if (withExpiration)
        {
            var expirations = new Dictionary<long, DateTimeOffset?>();
            foreach (long id in leases.Select(l => l.EtcdLeaseId).Where(id => id != EtcdLease.NoEtcdLease).Distinct())
            {
                var request = new LeaseTimeToLiveRequest { ID = id };
                LeaseTimeToLiveResponse ttl = await session.CallAsync("lease ttl", o => session.Leases.LeaseTimeToLiveAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
                expirations[id] = ttl.TTL > 0 ? time.GetUtcNow() + TimeSpan.FromSeconds(ttl.TTL) : null;
            }

            leases = leases.Select(l => l.IsReservation ? l : l with { Expiration = expirations.GetValueOrDefault(l.EtcdLeaseId) }).ToList();
        }

        return new LeaseSnapshot(leases, listing.Revision, listing.Skipped);
    }

    /// <summary>
    /// Acquires a subnet for this node in flannel's order: its own lease or reservation (by owner id, else by
    /// public IP), then <paramref name="previous"/> if free, then a random free one. New keys are created with
    /// <c>txn(version == 0)</c> over every key that holds the same IPv4 subnet (<see cref="IPv4IsFree"/>); an existing
    /// one is rewritten only if its mod revision is still the one read.
    /// A lost race is retried with a fresh list. Throws <see cref="OutOfSubnetsException"/> when nothing is free.
    /// </summary>
    public async Task<OwnLease> AcquireAsync(NetworkConfig config, NodeIdentity self, LeaseAttributes attributes, SubnetKey? previous, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(attributes);
        LeaseAttributes value = attributes with { OwnerId = self.OwnerId };
        Grant? grant = null;
        bool used = false;
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                Listing listing = await ListEntriesAsync(ct).ConfigureAwait(false);
                AllocationDecision decision = SubnetAllocator.Decide(config, listing.Entries.Select(e => e.Lease).ToList(), self, previous, Random.Shared, listing.UnreadableSubnets(session.Prefix));
                foreach (EtcdLease stale in decision.StaleOwnLeases)
                {
                    await DeleteStaleAsync(listing.Find(stale.Subnet), ct).ConfigureAwait(false);
                }

                if (decision.Outcome == AllocationOutcome.OutOfSubnets || decision.Subnet is not { } subnet)
                {
                    logger.OutOfSubnets(self.OwnerId, decision.Reason);
                    throw new OutOfSubnetsException(decision.Reason);
                }

                string key = subnet.ToEtcdKey(session.Prefix);
                if (decision.Outcome == AllocationOutcome.ReuseLease && listing.Find(subnet) is { } existing && existing.Lease.IsReservation)
                {
                    // A reservation stays a reservation: rewrite our value (the VTEP MAC may have changed) with no lease.
                    TxnResponse kept = await PutIfAsync(key, value, EtcdLease.NoEtcdLease, ModRevisionIs(key, existing.ModRevision), ct).ConfigureAwait(false);
                    if (kept.Succeeded)
                    {
                        logger.Acquired(subnet, decision.Outcome, decision.Reason);
                        return new OwnLease(new EtcdLease(subnet, value, EtcdLease.NoEtcdLease), kept.Header.Revision, null, decision.Outcome);
                    }
                }
                else
                {
                    grant ??= await GrantAsync(ct).ConfigureAwait(false);
                    bool newKey = !(decision.Outcome == AllocationOutcome.ReuseLease && listing.Find(subnet) is { });
                    Compare[] guards = newKey ? IPv4IsFree(subnet) : [ModRevisionIs(key, listing.Find(subnet)!.Value.ModRevision)];
                    if (BeforeCreate is { } hook)
                    {
                        await hook(subnet).ConfigureAwait(false);
                    }

                    TxnResponse created = await PutIfAsync(key, value, grant.Id, guards, ct).ConfigureAwait(false);
                    if (created.Succeeded && newKey && subnet.IPv6 is not null
                        && await EarlierIPv6HolderAsync(subnet, created.Header.Revision, ct).ConfigureAwait(false) is { } holder)
                    {
                        // Two nodes picked the same IPv6 subnet under different IPv4 subnets at once (the keys differ,
                        // so version == 0 let both through): the key etcd created first keeps it, this one looks again.
                        logger.IPv6RaceLost(subnet, holder);
                        await DeleteIfUnchangedAsync(key, created.Header.Revision, "give up a colliding lease", ct).ConfigureAwait(false);
                    }
                    else if (created.Succeeded)
                    {
                        used = true;
                        logger.Acquired(subnet, decision.Outcome, decision.Reason);
                        return new OwnLease(new EtcdLease(subnet, value, grant.Id, grant.Expiration), created.Header.Revision, grant.Expiration, decision.Outcome);
                    }
                }

                // flannel exits here; another node made progress, so a fresh look will find something else.
                logger.AcquireRaceLost(subnet, attempt);
            }
        }
        finally
        {
            if (grant is not null && !used)
            {
                await RevokeQuietlyAsync(grant.Id).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Renews this node's lease as its owner: a fresh etcd lease, and the key rewritten only if its mod revision
    /// is still ours (or it still carries our owner id). A reservation is checked, never attached to a lease.
    /// Throws <see cref="LeaseLostException"/> when the key is gone or another node holds it.
    /// </summary>
    public async Task<OwnLease> RenewAsync(OwnLease current, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(current);
        SubnetKey subnet = current.Lease.Subnet;
        string key = subnet.ToEtcdKey(session.Prefix);
        string? owner = current.Lease.Attributes.OwnerId;
        if (current.Lease.IsReservation)
        {
            return await RenewReservationAsync(current, key, ct).ConfigureAwait(false);
        }

        Grant grant = await GrantAsync(ct).ConfigureAwait(false);
        bool used = false;
        try
        {
            long expected = current.ModRevision;
            for (int attempt = 0; attempt < 5; attempt++)
            {
                TxnResponse response = await PutIfAsync(key, current.Lease.Attributes, grant.Id, ModRevisionIs(key, expected), ct).ConfigureAwait(false);
                if (response.Succeeded)
                {
                    used = true;
                    logger.Renewed(subnet, grant.Id, grant.Expiration);
                    return current with
                    {
                        Lease = current.Lease with { EtcdLeaseId = grant.Id, Expiration = grant.Expiration },
                        ModRevision = response.Header.Revision,
                        Expiration = grant.Expiration,
                    };
                }

                KeyValue? stored = FailureRange(response);
                if (stored is null)
                {
                    throw new LeaseLostException(subnet, $"lease {subnet} is gone from etcd (deleted, or its etcd lease expired)");
                }

                if (!LeaseEntries.HasOwner(stored, owner))
                {
                    throw new LeaseLostException(subnet, $"lease {subnet} is now held by {LeaseEntries.DescribeHolder(stored)}; not overwriting it");
                }

                if (stored.Lease == EtcdLease.NoEtcdLease)
                {
                    // An administrator reserved our subnet for us: keep it a reservation.
                    return await RenewReservationAsync(current with { Lease = current.Lease with { EtcdLeaseId = EtcdLease.NoEtcdLease, Expiration = null }, ModRevision = stored.ModRevision }, key, ct).ConfigureAwait(false);
                }

                // Still ours (written by an earlier run of this node, or our own write whose answer was lost): follow it.
                expected = stored.ModRevision;
            }

            throw new LeaseLostException(subnet, $"lease {subnet} keeps changing under us; giving it up");
        }
        finally
        {
            if (!used)
            {
                await RevokeQuietlyAsync(grant.Id).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes a lease key (for the CLI and tests; the daemon keeps its lease over a restart). True if it existed.</summary>
    public async Task<bool> ReleaseAsync(SubnetKey subnet, CancellationToken ct)
    {
        var request = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(subnet.ToEtcdKey(session.Prefix)) };
        DeleteRangeResponse response = await session.CallAsync("delete lease", o => session.Kv.DeleteRangeAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
        if (response.Deleted > 0)
        {
            logger.Released(subnet);
        }

        return response.Deleted > 0;
    }

    /// <summary>
    /// Writes a reservation: the key with no etcd lease, so it never expires. An existing key is replaced only if
    /// it belongs to the same node (owner id, or public IP where either has no owner id); otherwise
    /// <see cref="SubnetHeldException"/>.
    /// </summary>
    public async Task ReserveAsync(SubnetKey subnet, LeaseAttributes attributes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        string key = subnet.ToEtcdKey(session.Prefix);
        Compare[] guards = IPv4IsFree(subnet);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            TxnResponse response = await PutIfAsync(key, attributes, EtcdLease.NoEtcdLease, guards, ct).ConfigureAwait(false);
            if (response.Succeeded)
            {
                logger.Reserved(subnet, attributes.PublicIP);
                return;
            }

            if (FailureRange(response) is not { } stored)
            {
                // The key is absent, so another key (with another IPv6 half) holds the IPv4 subnet, or held it a moment ago.
                IPv4HolderKeys holders = subnet.IPv4Holders(session.Prefix);
                RangeResponse others = await RangeAsync(holders.DualStackFrom, holders.DualStackTo, ct).ConfigureAwait(false);
                if (others.Kvs.Count > 0)
                {
                    throw new SubnetHeldException(
                        $"cannot reserve {subnet}: its IPv4 subnet is held by {others.Kvs[0].Key.ToStringUtf8()} ({LeaseEntries.DescribeHolder(others.Kvs[0])})");
                }

                guards = IPv4IsFree(subnet);
                continue;
            }

            if (!SameNode(stored, attributes))
            {
                throw new SubnetHeldException($"cannot reserve {subnet}: it is held by {LeaseEntries.DescribeHolder(stored)}");
            }

            guards = [ModRevisionIs(key, stored.ModRevision)];
        }

        throw new SubnetHeldException($"cannot reserve {subnet}: the key keeps changing");
    }

    /// <summary>
    /// Leases per list page. A /10 cut into /24s holds 16,384 leases, about 3 MiB in one response: near gRPC's
    /// 4 MiB message limit, and a megabyte buffer the daemon would keep. Pages of this many stay small.
    /// </summary>
    internal int ListPageSize { get; init; } = EtcdSession.DefaultPageSize;

    /// <summary>For tests: runs between the list and the create transaction of an acquisition, where races happen.</summary>
    internal Func<SubnetKey, Task>? BeforeCreate { get; init; }

    /// <summary>Every entry under the subnets prefix, read in pages at the revision of the first page (one snapshot).</summary>
    internal async Task<Listing> ListEntriesAsync(CancellationToken ct)
    {
        (List<KeyValue> kvs, long revision) = await session.ListAsync(session.SubnetsPrefix, ListPageSize, ct).ConfigureAwait(false);
        var entries = new List<LeaseEntry>(kvs.Count);
        var skipped = new List<SkippedEntry>();
        foreach (KeyValue kv in kvs)
        {
            if (LeaseEntries.TryParse(session.Prefix, kv, out EtcdLease? lease, out SkippedEntry? bad))
            {
                entries.Add(new LeaseEntry(lease, kv.ModRevision, kv.CreateRevision));
            }
            else
            {
                logger.EntrySkipped(bad.Key, bad.Reason);
                skipped.Add(bad);
            }
        }

        return new Listing(entries, revision, skipped);
    }

    private static bool SameNode(KeyValue stored, LeaseAttributes attributes)
    {
        if (!LeaseAttributes.TryParse(stored.Value.ToStringUtf8(), out LeaseAttributes? held, out _))
        {
            return false;
        }

        return held.OwnerId is not null && attributes.OwnerId is not null
            ? string.Equals(held.OwnerId, attributes.OwnerId, StringComparison.Ordinal)
            : string.Equals(held.PublicIP, attributes.PublicIP, StringComparison.Ordinal);
    }

    private async Task<OwnLease> RenewReservationAsync(OwnLease current, string key, CancellationToken ct)
    {
        SubnetKey subnet = current.Lease.Subnet;
        RangeResponse response = await RangeAsync(key, prefix: false, ct).ConfigureAwait(false);
        if (response.Kvs.Count == 0)
        {
            throw new LeaseLostException(subnet, $"reservation {subnet} is gone from etcd (deleted)");
        }

        KeyValue stored = response.Kvs[0];
        if (!LeaseEntries.HasOwner(stored, current.Lease.Attributes.OwnerId))
        {
            throw new LeaseLostException(subnet, $"reservation {subnet} is now held by {LeaseEntries.DescribeHolder(stored)}; not overwriting it");
        }

        string ours = current.Lease.Attributes.ToJson();
        if (stored.Lease == EtcdLease.NoEtcdLease && stored.Value.ToStringUtf8() == ours)
        {
            logger.ReservationChecked(subnet);
            return current with { ModRevision = stored.ModRevision, Expiration = null };
        }

        // Ours, but rewritten (or attached to a lease) by someone: restore our value as a reservation.
        TxnResponse put = await PutIfAsync(key, current.Lease.Attributes, EtcdLease.NoEtcdLease, ModRevisionIs(key, stored.ModRevision), ct).ConfigureAwait(false);
        if (!put.Succeeded)
        {
            throw new LeaseLostException(subnet, $"reservation {subnet} changed while it was being checked");
        }

        logger.ReservationChecked(subnet);
        return current with { Lease = current.Lease with { EtcdLeaseId = EtcdLease.NoEtcdLease, Expiration = null }, ModRevision = put.Header.Revision, Expiration = null };
    }

    private async Task DeleteStaleAsync(LeaseEntry? entry, CancellationToken ct)
    {
        if (entry is { } stale && await DeleteIfUnchangedAsync(stale.Lease.Subnet.ToEtcdKey(session.Prefix), stale.ModRevision, "delete stale lease", ct).ConfigureAwait(false))
        {
            logger.StaleLeaseDeleted(stale.Lease.Subnet);
        }
    }

    /// <summary>Deletes <paramref name="key"/> if it is still at <paramref name="modRevision"/>; true when it was.</summary>
    private async Task<bool> DeleteIfUnchangedAsync(string key, long modRevision, string operation, CancellationToken ct)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(ModRevisionIs(key, modRevision));
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } });
        TxnResponse response = await session.CallAsync(operation, o => session.Kv.TxnAsync(txn, o).ResponseAsync, ct).ConfigureAwait(false);
        return response.Succeeded;
    }

    /// <summary>
    /// Another lease whose IPv6 subnet overlaps <paramref name="ours"/>' and whose key etcd created before ours (at
    /// <paramref name="createdAt"/>), or null. Of two keys created concurrently, the later creator always sees the
    /// earlier one here, so exactly one of them gives way.
    /// </summary>
    private async Task<SubnetKey?> EarlierIPv6HolderAsync(SubnetKey ours, long createdAt, CancellationToken ct)
    {
        Listing listing = await ListEntriesAsync(ct).ConfigureAwait(false);
        foreach (LeaseEntry entry in listing.Entries)
        {
            if (entry.Lease.Subnet != ours && entry.CreateRevision < createdAt
                && entry.Lease.Subnet.IPv6 is { } theirs && IPAddressMath.Overlaps(theirs, ours.IPv6!.Value))
            {
                return entry.Lease.Subnet;
            }
        }

        return null;
    }

    private Task<RangeResponse> RangeAsync(string key, bool prefix, CancellationToken ct)
    {
        var request = new RangeRequest { Key = ByteString.CopyFromUtf8(key) };
        if (prefix)
        {
            request.RangeEnd = EtcdSession.RangeEnd(key);
        }

        return session.CallAsync(prefix ? "list" : "get", o => session.Kv.RangeAsync(request, o).ResponseAsync, ct);
    }

    private Task<RangeResponse> RangeAsync(string from, string to, CancellationToken ct)
    {
        var request = new RangeRequest { Key = ByteString.CopyFromUtf8(from), RangeEnd = ByteString.CopyFromUtf8(to), Limit = 1 };
        return session.CallAsync("get", o => session.Kv.RangeAsync(request, o).ResponseAsync, ct);
    }

    private Task<TxnResponse> PutIfAsync(string key, LeaseAttributes value, long leaseId, Compare guard, CancellationToken ct) =>
        PutIfAsync(key, value, leaseId, [guard], ct);

    private Task<TxnResponse> PutIfAsync(string key, LeaseAttributes value, long leaseId, Compare[] guards, CancellationToken ct)
    {
        ByteString keyBytes = ByteString.CopyFromUtf8(key);
        var txn = new TxnRequest();
        txn.Compare.Add(guards);
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = keyBytes, Value = ByteString.CopyFromUtf8(value.ToJson()), Lease = leaseId } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = keyBytes } });
        return session.CallAsync("txn", o => session.Kv.TxnAsync(txn, o).ResponseAsync, ct);
    }

    private static KeyValue? FailureRange(TxnResponse response) =>
        response.Responses.Count > 0 && response.Responses[0].ResponseRange is { Kvs.Count: > 0 } range ? range.Kvs[0] : null;

    private static Compare KeyIsAbsent(string key) => new()
    {
        Key = ByteString.CopyFromUtf8(key),
        Target = Compare.Types.CompareTarget.Version,
        Result = Compare.Types.CompareResult.Equal,
        Version = 0,
    };

    /// <summary>
    /// No key holds <paramref name="subnet"/>'s IPv4 subnet: neither the IPv4-only key nor any dual-stack key that starts
    /// with it (etcd compares every key in a range; an empty range passes <c>version == 0</c>). The key itself is among
    /// them, so this is also flannel's create guard. The IPv6 half sits at the end of the key, where no range reaches:
    /// <see cref="EarlierIPv6HolderAsync"/> settles that after the create.
    /// </summary>
    private Compare[] IPv4IsFree(SubnetKey subnet)
    {
        IPv4HolderKeys holders = subnet.IPv4Holders(session.Prefix);
        Compare dualStack = KeyIsAbsent(holders.DualStackFrom);
        dualStack.RangeEnd = ByteString.CopyFromUtf8(holders.DualStackTo);
        return [KeyIsAbsent(holders.IPv4Only), dualStack];
    }

    private static Compare ModRevisionIs(string key, long revision) => new()
    {
        Key = ByteString.CopyFromUtf8(key),
        Target = Compare.Types.CompareTarget.Mod,
        Result = Compare.Types.CompareResult.Equal,
        ModRevision = revision,
    };

    private async Task<Grant> GrantAsync(CancellationToken ct)
    {
        var request = new LeaseGrantRequest { TTL = (long)Math.Ceiling(Options.Ttl.TotalSeconds) };
        DateTimeOffset now = time.GetUtcNow();
        LeaseGrantResponse response = await session.CallAsync("grant lease", o => session.Leases.LeaseGrantAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error))
        {
            throw new InvalidOperationException($"etcd refused a lease of {Options.Ttl}: {response.Error}");
        }

        return new Grant(response.ID, now + TimeSpan.FromSeconds(response.TTL));
    }

    private async Task RevokeQuietlyAsync(long id)
    {
        try
        {
            var request = new LeaseRevokeRequest { ID = id };
            using var timeout = new CancellationTokenSource(session.Options.CallTimeout);
            await session.Leases.LeaseRevokeAsync(request, cancellationToken: timeout.Token).ResponseAsync.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Unused etcd leases expire on their own; this only tidies up.
            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.RevokeFailed(id, session.Describe(e));
            }
        }
    }

    private sealed record Grant(long Id, DateTimeOffset Expiration);

    internal sealed record Listing(IReadOnlyList<LeaseEntry> Entries, long Revision, IReadOnlyList<SkippedEntry> Skipped)
    {
        /// <summary>The subnets of skipped entries whose key is a lease key (their value is what could not be read).</summary>
        public IReadOnlyCollection<SubnetKey> UnreadableSubnets(string prefix) =>
            [.. Skipped.Select(s => SubnetKey.TryParseEtcdKey(prefix, s.Key, out SubnetKey subnet, out _) ? subnet : (SubnetKey?)null).OfType<SubnetKey>()];

        public LeaseEntry? Find(SubnetKey subnet)
        {
            foreach (LeaseEntry entry in Entries)
            {
                if (entry.Lease.Subnet == subnet)
                {
                    return entry;
                }
            }

            return null;
        }
    }
}

/// <summary>The log lines of the lease store; event ids 2100-2199 (the lease manager has 2000-2999).</summary>
internal static partial class LeaseStoreLog
{
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

    [LoggerMessage(EventId = 2105, Level = LogLevel.Debug, Message = "node {Owner} gets no subnet: {Reason}")]
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

    [LoggerMessage(EventId = 2112, Level = LogLevel.Debug, Message = "could not revoke unused etcd lease {LeaseId:x} ({Error}); it will expire")]
    public static partial void RevokeFailed(this ILogger logger, long leaseId, string error);
}
