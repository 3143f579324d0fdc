using System.Net;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Services;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;

namespace Overlay.Leases.Services;

/// <summary>
/// The services in etcd (see docs/services.md): <c>&lt;prefix&gt;/services/&lt;ns&gt;/&lt;name&gt;</c> holds a
/// service's JSON (<see cref="ServiceCodec"/>), <c>&lt;prefix&gt;/clusterips/&lt;ip&gt;</c> the <c>&lt;ns&gt;/&lt;name&gt;</c>
/// holding that address. A service and its address keys are created and deleted together in one transaction;
/// each key guards itself with <c>create_revision == 0</c>, so two creators can never both get one address
/// (no read-then-write window), and a lost race on a picked address is retried with another.
/// </summary>
public sealed class ServiceRegistry
{
    /// <summary>Transactions a create tries with freshly picked addresses before giving up.</summary>
    public const int PickAttempts = 16;

    private readonly EtcdSession session;
    private readonly ILogger logger;
    private readonly Random random;

    public ServiceRegistry(EtcdSession session, ILogger<ServiceRegistry>? logger = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        this.session = session;
        this.logger = logger ?? NullLogger<ServiceRegistry>.Instance;
        this.random = random ?? Random.Shared;
    }

    public EtcdSession Session => session;

    public string ServicesPrefix => RegistryKeys.ServicesPrefix(session.Prefix);

    public string ClusterIPsPrefix => RegistryKeys.ClusterIPsPrefix(session.Prefix);

    /// <summary>Entries per list page, as the lease list pages (small responses, far from gRPC's 4 MiB).</summary>
    internal int ListPageSize { get; init; } = EtcdSession.DefaultPageSize;

    /// <summary>
    /// Creates <paramref name="spec"/> (its ClusterIPs are ignored) with the ClusterIP <paramref name="choice"/> says,
    /// and, in a dual-stack service network, an IPv6 one; returns the service as stored. Throws
    /// <see cref="ServiceExistsException"/>, <see cref="ClusterIPUnavailableException"/> (a requested address
    /// taken, naming the holder, or outside the network) or <see cref="ServiceNetworkExhaustedException"/>.
    /// </summary>
    public async Task<ServiceSpec> CreateAsync(NetworkConfig config, ServiceSpec spec, ClusterIPChoice choice, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(choice);
        spec = spec with { ClusterIP = null, ClusterIPv6 = null };
        IReadOnlyList<string> problems = ServiceValidation.Problems(spec);
        if (problems.Count > 0)
        {
            throw new ArgumentException($"service {spec.FullName} is not valid: {string.Join("; ", problems)}", nameof(spec));
        }

        ClusterIPAllocator? v4 = null;
        ClusterIPAllocator? v6 = null;
        if (choice.Kind != ClusterIPKind.Headless)
        {
            v4 = config.ServiceNetwork is { } range
                ? new ClusterIPAllocator(range)
                : throw new ServiceRegistryException($"the network config has no ServiceNetwork, so service {spec.FullName} cannot get a ClusterIP; add one (e.g. \"ServiceNetwork\": \"198.19.0.0/16\") with 'overlayctl config set FILE', or create a headless service");
            v6 = config.ServiceIPv6Network is { } range6 ? new ClusterIPAllocator(range6) : null;
        }

        if (choice.Address is { } requested && v4!.RequestProblem(requested) is { } outside)
        {
            throw new ClusterIPUnavailableException(outside, requested, null);
        }

        if (choice.AddressV6 is { } requestedV6)
        {
            string? problem = v6 is null
                ? $"ClusterIP {requestedV6} cannot be given: the network config has no ServiceIPv6Network"
                : v6.RequestProblem(requestedV6);
            if (problem is not null)
            {
                throw new ClusterIPUnavailableException(problem, requestedV6, null);
            }
        }

        string serviceKey = RegistryKeys.Service(session.Prefix, spec.Namespace, spec.Name);
        for (int attempt = 1; ; attempt++)
        {
            IReadOnlyList<HeldClusterIP>? held = null;
            if ((v4 is not null && choice.Address is null) || (v6 is not null && choice.AddressV6 is null))
            {
                held = await ListClusterIPsAsync(ct).ConfigureAwait(false);
            }

            IPAddress? address = choice.Address ?? (v4 is null ? null : Pick(v4, held!, config.ClusterDns));
            IPAddress? addressV6 = choice.AddressV6 ?? (v6 is null ? null : Pick(v6, held!, null));
            ServiceSpec stored = spec with { ClusterIP = address, ClusterIPv6 = addressV6 };

            var txn = new TxnRequest();
            var keys = new List<string> { serviceKey };
            txn.Success.Add(Put(serviceKey, ServiceCodec.Serialize(stored)));
            foreach (IPAddress ip in new[] { address, addressV6 }.OfType<IPAddress>())
            {
                string key = RegistryKeys.ClusterIP(session.Prefix, ip);
                keys.Add(key);
                txn.Success.Add(Put(key, spec.FullName));
            }

            foreach (string key in keys)
            {
                txn.Compare.Add(KeyIsAbsent(key));
                txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(key) } });
            }

            TxnResponse response = await session.CallAsync("create service", o => session.Kv.TxnAsync(txn, o).ResponseAsync, ct).ConfigureAwait(false);
            if (response.Succeeded)
            {
                logger.ServiceCreated(stored.FullName, stored.ClusterIP, attempt);
                return stored;
            }

            if (Found(response, 0) is { } existing)
            {
                string held4 = ServiceCodec.TryParse(existing.Value.ToStringUtf8(), out ServiceSpec? other, out _)
                    ? $" (ClusterIP {other.ClusterIP?.ToString() ?? ServiceCodec.Headless})"
                    : "";
                throw new ServiceExistsException($"service {spec.FullName} exists already{held4}; remove it first with 'overlayctl service rm {spec.Name} -n {spec.Namespace}', or choose another name");
            }

            int index = 1;
            foreach ((IPAddress? ip, bool wasRequested) in new[] { (address, choice.Address is not null), (addressV6, choice.AddressV6 is not null) })
            {
                if (ip is null)
                {
                    continue;
                }

                if (Found(response, index++) is { } taken)
                {
                    string owner = taken.Value.ToStringUtf8();
                    if (wasRequested)
                    {
                        throw new ClusterIPUnavailableException($"ClusterIP {ip} is taken by service {owner}; request another address, or none to get one picked", ip, owner);
                    }

                    logger.ClusterIPRaceLost(ip, owner, spec.FullName, attempt);
                }
            }

            if (attempt >= PickAttempts)
            {
                throw new ServiceNetworkExhaustedException($"no ClusterIP for {spec.FullName} after {attempt} attempts: other services kept taking the addresses picked; try again");
            }
        }
    }

    /// <summary>The service, or null when there is none. A stored value that is not a service throws <see cref="ServiceRegistryException"/> with the reason.</summary>
    public async Task<ServiceSpec?> GetAsync(string @namespace, string name, CancellationToken ct)
    {
        string key = RegistryKeys.Service(session.Prefix, @namespace, name);
        KeyValue? kv = await GetKeyAsync(key, ct).ConfigureAwait(false);
        if (kv is null)
        {
            return null;
        }

        return TryRead(kv, out ServiceSpec? spec, out SkippedEntry? skipped)
            ? spec
            : throw new ServiceRegistryException($"{skipped.Key} does not hold a service: {skipped.Reason}");
    }

    /// <summary>
    /// Every service of <paramref name="namespace"/> (null: of every namespace), read in pages at one revision.
    /// Entries that are not services (bad key, bad value, a value naming another service) are skipped, logged
    /// and returned with the reason, never thrown.
    /// </summary>
    public async Task<ServiceListing> ListAsync(string? @namespace, CancellationToken ct)
    {
        string folder = @namespace is null ? ServicesPrefix : ServicesPrefix + @namespace + "/";
        var services = new List<ServiceSpec>();
        var skipped = new List<SkippedEntry>();
        long revision = await RangeAllAsync(folder, kv =>
        {
            if (TryRead(kv, out ServiceSpec? spec, out SkippedEntry? bad))
            {
                services.Add(spec);
            }
            else
            {
                logger.ServiceEntrySkipped(bad.Key, bad.Reason);
                skipped.Add(bad);
            }
        }, ct).ConfigureAwait(false);
        return new ServiceListing(services, revision, skipped);
    }

    /// <summary>Every ClusterIP key and its holder; keys that are not addresses are skipped (and logged).</summary>
    public async Task<IReadOnlyList<HeldClusterIP>> ListClusterIPsAsync(CancellationToken ct)
    {
        var held = new List<HeldClusterIP>();
        string folder = ClusterIPsPrefix;
        await RangeAllAsync(folder, kv =>
        {
            string key = kv.Key.ToStringUtf8();
            if (IPAddressMath.TryParseAddress(key[folder.Length..], out IPAddress? address))
            {
                held.Add(new HeldClusterIP(address, kv.Value.ToStringUtf8()));
            }
            else
            {
                logger.ServiceEntrySkipped(key, "not a ClusterIP key: the part after clusterips/ is not an IP address");
            }
        }, ct).ConfigureAwait(false);
        return held;
    }

    /// <summary>
    /// Deletes the service and releases its ClusterIP key(s), in one transaction guarded by the revisions read;
    /// returns the service as it was (null when its value was not readable). Throws
    /// <see cref="ServiceNotFoundException"/> when there is no such service.
    /// </summary>
    public async Task<ServiceSpec?> DeleteAsync(string @namespace, string name, CancellationToken ct)
    {
        string key = RegistryKeys.Service(session.Prefix, @namespace, name);
        string fullName = $"{@namespace}/{name}";
        for (int attempt = 1; ; attempt++)
        {
            KeyValue kv = await GetKeyAsync(key, ct).ConfigureAwait(false)
                ?? throw new ServiceNotFoundException($"there is no service {fullName} (no key {key}); 'overlayctl service list -A' shows what there is");

            ServiceSpec? spec = TryRead(kv, out ServiceSpec? read, out _) ? read : null;

            // The address keys this service holds: those its value names, or (an unreadable value) any naming it.
            var addressKeys = new List<KeyValue>();
            if (spec is not null)
            {
                foreach (IPAddress ip in new[] { spec.ClusterIP, spec.ClusterIPv6 }.OfType<IPAddress>())
                {
                    if (await GetKeyAsync(RegistryKeys.ClusterIP(session.Prefix, ip), ct).ConfigureAwait(false) is { } ipKey && ipKey.Value.ToStringUtf8() == fullName)
                    {
                        addressKeys.Add(ipKey);
                    }
                }
            }
            else
            {
                await RangeAllAsync(ClusterIPsPrefix, ipKey =>
                {
                    if (ipKey.Value.ToStringUtf8() == fullName)
                    {
                        addressKeys.Add(ipKey);
                    }
                }, ct).ConfigureAwait(false);
            }

            var txn = new TxnRequest();
            foreach (KeyValue held in addressKeys.Prepend(kv))
            {
                txn.Compare.Add(ModRevisionIs(held.Key, held.ModRevision));
                txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = held.Key } });
            }

            TxnResponse response = await session.CallAsync("delete service", o => session.Kv.TxnAsync(txn, o).ResponseAsync, ct).ConfigureAwait(false);
            if (response.Succeeded)
            {
                logger.ServiceDeleted(fullName, addressKeys.Count);
                return spec;
            }

            if (attempt >= 5)
            {
                throw new ServiceRegistryException($"service {fullName} kept changing while it was being deleted; try again");
            }
        }
    }

    /// <summary>A free address; a cluster DNS address the config names is kept back like <c>.10</c>.</summary>
    private IPAddress Pick(ClusterIPAllocator allocator, IReadOnlyList<HeldClusterIP> held, IPAddress? clusterDns) =>
        allocator.PickFree(held.Select(h => h.Address).Concat(clusterDns is null ? [] : [clusterDns]), random)
            ?? throw new ServiceNetworkExhaustedException(
                $"the service network {allocator.Range} is full: every ClusterIP but the kept {allocator.KubernetesAddress} and {allocator.DnsAddress} is held; remove a service, or widen the service network with 'overlayctl config set'");

    private bool TryRead(KeyValue kv, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ServiceSpec? spec, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out SkippedEntry? skipped)
    {
        string key = kv.Key.ToStringUtf8();
        skipped = null;
        if (ServiceEntries.TryParse(session.Prefix, key, kv.Value.ToStringUtf8(), out spec, out string reason))
        {
            return true;
        }

        skipped = new SkippedEntry(key, reason);
        return false;
    }

    private async Task<KeyValue?> GetKeyAsync(string key, CancellationToken ct)
    {
        var request = new RangeRequest { Key = ByteString.CopyFromUtf8(key) };
        RangeResponse response = await session.CallAsync("get", o => session.Kv.RangeAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    /// <summary>Hands every key under <paramref name="folder"/> to <paramref name="each"/>, page by page at the first page's revision; returns it.</summary>
    private async Task<long> RangeAllAsync(string folder, Action<KeyValue> each, CancellationToken ct)
    {
        (List<KeyValue> entries, long revision) = await session.ListAsync(folder, ListPageSize, ct).ConfigureAwait(false);
        foreach (KeyValue kv in entries)
        {
            each(kv);
        }

        return revision;
    }

    private static KeyValue? Found(TxnResponse response, int index) =>
        response.Responses.Count > index && response.Responses[index].ResponseRange is { Kvs.Count: > 0 } range ? range.Kvs[0] : null;

    private static RequestOp Put(string key, string value) =>
        new() { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) } };

    private static Compare KeyIsAbsent(string key) => new()
    {
        Key = ByteString.CopyFromUtf8(key),
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Equal,
        CreateRevision = 0,
    };

    private static Compare ModRevisionIs(ByteString key, long revision) => new()
    {
        Key = key,
        Target = Compare.Types.CompareTarget.Mod,
        Result = Compare.Types.CompareResult.Equal,
        ModRevision = revision,
    };
}

/// <summary>The log lines of the service registry; event ids 2401-2499.</summary>
internal static partial class ServiceRegistryLog
{
    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "created service {Service} with ClusterIP {ClusterIP} (attempt {Attempt}; none: headless)")]
    public static partial void ServiceCreated(this ILogger logger, string service, IPAddress? clusterIP, int attempt);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "ClusterIP {ClusterIP} picked for {Service} was taken by {Owner} first (attempt {Attempt}); picking another")]
    public static partial void ClusterIPRaceLost(this ILogger logger, IPAddress clusterIP, string owner, string service, int attempt);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Information, Message = "deleted service {Service} and {AddressKeys} ClusterIP key(s)")]
    public static partial void ServiceDeleted(this ILogger logger, string service, int addressKeys);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Warning, Message = "skipping {Key}: {Reason}")]
    public static partial void ServiceEntrySkipped(this ILogger logger, string key, string reason);
}
