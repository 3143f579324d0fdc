using System.Net;
using System.Net.Sockets;
using Overlay.Core.Dns;
using Overlay.Core.Services;
using Overlay.Leases.Watching;

namespace Overlay.Daemon.Services;

/// <summary>A value under the registry's prefixes that could not be read: skipped, counted and logged; the last good value stays.</summary>
public readonly record struct SkippedRegistryEntry(string Key, string Reason);

/// <summary>
/// The service registry as one node sees it: the services and pods from etcd, and from them the frontends the
/// service rules need (<see cref="Desired"/>). Pure: fed with <see cref="PrefixUpdate"/>s, it keeps each service's
/// frontends and recomputes only the services a change touches (a pod change: the services of its namespace whose
/// selector matches its old or new labels), keeps the desired frontends and ClusterIPs up to date in place, and
/// hands the planner the ones that changed, so a change costs the same at 10 or 10,000 services.
/// </summary>
public sealed class ServiceCatalog
{
    private static readonly IReadOnlyList<Backend> NoBackends = [];

    private readonly string _prefix;
    private readonly string _servicesPrefix;
    private readonly string _podsPrefix;
    private readonly Dictionary<string, ServiceSpec> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodRecord> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _servicesByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _podsByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(Frontend Frontend, IReadOnlyList<Backend> Backends)>> _frontends = new(StringComparer.Ordinal);
    private readonly HashSet<string> _stale = new(StringComparer.Ordinal);

    // The desired state, kept up to date in place: every frontend with its backends and the service that owns it,
    // the ClusterIPs held (counted, and which service counted which), and what changed since the last Desired().
    private readonly Dictionary<Frontend, IReadOnlyList<Backend>> _desired = [];
    private readonly Dictionary<Frontend, string> _owners = [];
    private readonly HashSet<IPAddress> _clusterIPs = [];
    private readonly Dictionary<IPAddress, int> _clusterIPUses = [];
    private readonly Dictionary<string, IPAddress> _countedIPs = new(StringComparer.Ordinal);
    private readonly HashSet<Frontend> _changedFrontends = [];
    private readonly HashSet<IPAddress> _changedIPs = [];
    private IPNetwork? _serviceNetwork;
    private long _skipped;

    // What DNS has not been told yet (only when a zone is fed: see FeedZone): services recomputed, pods changed.
    private readonly HashSet<string> _zoneServices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodRecord?> _zonePods = new(StringComparer.Ordinal); // pod id: the record the zone was last told
    private bool _feedsZone;

    /// <param name="prefix">The etcd prefix without a trailing slash (<c>/coreos.com/network</c>).</param>
    public ServiceCatalog(string prefix)
    {
        _prefix = prefix;
        _servicesPrefix = RegistryKeys.ServicesPrefix(prefix);
        _podsPrefix = RegistryKeys.PodsPrefix(prefix);
    }

    public int ServiceCount => _services.Count;

    public int PodCount => _pods.Count;

    /// <summary>Values skipped so far because they could not be read.</summary>
    public long SkippedCount => _skipped;

    /// <summary>Takes in one registry update; returns the entries it had to skip.</summary>
    public IReadOnlyList<SkippedRegistryEntry> Apply(PrefixUpdate update)
    {
        List<SkippedRegistryEntry>? skipped = null;
        foreach (KeyChange change in update.Changes)
        {
            if (Apply(change) is { } bad)
            {
                (skipped ??= []).Add(bad);
                _skipped++;
            }
        }

        return (IReadOnlyList<SkippedRegistryEntry>?)skipped ?? [];
    }

    /// <summary>
    /// Every frontend of the IPv4 ClusterIPs in <paramref name="serviceNetwork"/> with its backends (none: the service
    /// has no endpoints), every ClusterIP held, and in <see cref="ServiceRulesInput.Changes"/> what changed since the
    /// previous call. The collections are the catalog's own, kept up to date in place: read them before the next
    /// <see cref="Apply(PrefixUpdate)"/>, and copy what must be kept.
    /// </summary>
    public ServiceRulesInput Desired(IPNetwork serviceNetwork, IReadOnlyList<IPNetwork> podNetworks)
    {
        if (!serviceNetwork.Equals(_serviceNetwork))
        {
            // Another network filters differently: everything again.
            _serviceNetwork = serviceNetwork;
            foreach (string id in _frontends.Keys.Concat(_countedIPs.Keys).Concat(_services.Keys).ToList())
            {
                _stale.Add(id);
            }
        }

        foreach (string stale in _stale)
        {
            Recompute(stale);
        }

        _stale.Clear();
        var changes = new ServiceRulesChanges([.. _changedFrontends], [.. _changedIPs]);
        _changedFrontends.Clear();
        _changedIPs.Clear();
        return new ServiceRulesInput(serviceNetwork, podNetworks, _desired, _clusterIPs) { Changes = changes };
    }

    /// <summary>
    /// Tells <paramref name="zone"/> what changed since the last call: each service recomputed by <see cref="Desired"/>
    /// (with the addresses of its endpoints, which a headless service answers with) and each pod added, changed or
    /// removed. The first call tells everything. Call it after the rules of the same <see cref="Desired"/> are live, so
    /// a name never resolves before its address is served.
    /// </summary>
    public void FeedZone(IClusterZoneFeed zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (!_feedsZone)
        {
            _feedsZone = true;
            _zoneServices.UnionWith(_services.Keys);
            foreach (string id in _pods.Keys)
            {
                _zonePods[id] = null;
            }
        }

        foreach ((string id, PodRecord? told) in _zonePods)
        {
            if (_pods.TryGetValue(id, out PodRecord? pod))
            {
                zone.SetPod(pod, told);
            }
            else if (told is not null)
            {
                zone.RemovePod(told);
            }
        }

        foreach (string id in _zoneServices)
        {
            if (_services.TryGetValue(id, out ServiceSpec? service))
            {
                zone.SetService(service, service.IsHeadless ? EndpointAddresses(service) : []);
            }
            else
            {
                int slash = id.IndexOf('/', StringComparison.Ordinal);
                zone.RemoveService(id[..slash], id[(slash + 1)..]);
            }
        }

        _zonePods.Clear();
        _zoneServices.Clear();
    }

    /// <summary>A headless service's endpoint addresses, each once: the selected pods' addresses, or the explicit endpoints'.</summary>
    private List<IPAddress> EndpointAddresses(ServiceSpec service)
    {
        IEnumerable<IPAddress> addresses = service.Selector is null
            ? (service.Endpoints ?? []).Select(e => e.Address)
            : EndpointSelection.SelectPods(service, _podsByNamespace.TryGetValue(service.Namespace, out HashSet<string>? ids) ? ids.Select(p => _pods[p]) : [])
                .SelectMany(p => p.Addresses);
        return addresses.Distinct().ToList();
    }

    private SkippedRegistryEntry? Apply(KeyChange change)
    {
        if (change.Key.StartsWith(_servicesPrefix, StringComparison.Ordinal))
        {
            return ApplyService(change);
        }

        if (change.Key.StartsWith(_podsPrefix, StringComparison.Ordinal))
        {
            return ApplyPod(change);
        }

        return null; // another prefix's key: not the catalog's business
    }

    private SkippedRegistryEntry? ApplyService(KeyChange change)
    {
        if (change.IsDeleted)
        {
            if (RegistryKeys.TrySplit(change.Key, _servicesPrefix, out string ns, out string name) && _services.Remove(ns + "/" + name))
            {
                string id = ns + "/" + name;
                _servicesByNamespace[ns].Remove(id);
                _stale.Add(id); // its frontends and ClusterIP leave the desired state
            }

            return null;
        }

        if (!ServiceEntries.TryParse(_prefix, change.Key, change.Value!, out ServiceSpec? service, out string reason))
        {
            return new SkippedRegistryEntry(change.Key, reason);
        }

        _services[service.FullName] = service;
        Index(_servicesByNamespace, service.Namespace).Add(service.FullName);
        _stale.Add(service.FullName);
        return null;
    }

    private SkippedRegistryEntry? ApplyPod(KeyChange change)
    {
        if (!RegistryKeys.TrySplit(change.Key, _podsPrefix, out string ns, out string name))
        {
            return change.IsDeleted ? null : new SkippedRegistryEntry(change.Key, "not a pod key: expected <prefix>/pods/<namespace>/<name>");
        }

        string id = ns + "/" + name;
        PodRecord? pod = null;
        if (!change.IsDeleted)
        {
            if (!PodCodec.TryParse(change.Value!, out pod, out string reason))
            {
                return new SkippedRegistryEntry(change.Key, reason);
            }

            if (pod.Namespace != ns || pod.Name != name)
            {
                return new SkippedRegistryEntry(change.Key, $"the value names {pod.FullName}, the key {id}");
            }
        }

        _pods.TryGetValue(id, out PodRecord? previous);
        if (pod is null)
        {
            if (previous is null)
            {
                return null;
            }

            _pods.Remove(id);
            _podsByNamespace[ns].Remove(id);
        }
        else
        {
            _pods[id] = pod;
            Index(_podsByNamespace, ns).Add(id);
        }

        if (_feedsZone)
        {
            _zonePods.TryAdd(id, previous);
        }

        // The services that selected the pod before or select it now.
        if (_servicesByNamespace.TryGetValue(ns, out HashSet<string>? services))
        {
            foreach (string serviceId in services)
            {
                ServiceSpec service = _services[serviceId];
                if ((previous is not null && EndpointSelection.Selects(service, previous)) || (pod is not null && EndpointSelection.Selects(service, pod)))
                {
                    _stale.Add(serviceId);
                }
            }
        }

        return null;
    }

    /// <summary>Brings one service's frontends and ClusterIP in the desired state up to date (all gone when the service is).</summary>
    private void Recompute(string id)
    {
        if (_feedsZone)
        {
            _zoneServices.Add(id); // headless ones too: DNS answers them with their endpoints
        }

        if (_frontends.Remove(id, out List<(Frontend Frontend, IReadOnlyList<Backend> Backends)>? old))
        {
            foreach ((Frontend frontend, _) in old)
            {
                if (_owners.TryGetValue(frontend, out string? owner) && owner == id)
                {
                    _owners.Remove(frontend);
                    _desired.Remove(frontend);
                    _changedFrontends.Add(frontend);
                }
            }
        }

        if (_countedIPs.Remove(id, out IPAddress? counted) && --_clusterIPUses[counted] == 0)
        {
            _clusterIPUses.Remove(counted);
        }

        if (!_services.TryGetValue(id, out ServiceSpec? service) || _serviceNetwork is not { } network
            || service.ClusterIP is not { } clusterIP || !network.Contains(clusterIP))
        {
            SyncClusterIP(counted);
            return;
        }

        var list = new List<(Frontend, IReadOnlyList<Backend>)>(service.Ports.Count);
        IEnumerable<PodRecord> pods = _podsByNamespace.TryGetValue(service.Namespace, out HashSet<string>? ids)
            ? ids.Select(p => _pods[p])
            : [];
        foreach (PortEndpoints port in EndpointSelection.Endpoints(service, pods, AddressFamily.InterNetwork))
        {
            IReadOnlyList<Backend> backends = port.Endpoints.Count == 0 ? NoBackends : port.Endpoints.Select(e => new Backend(e.Address, e.Port)).ToList();
            var frontend = new Frontend(clusterIP, port.Port.Protocol, port.Port.Port);
            list.Add((frontend, backends));

            // Two services on one address and port can only come from a hand-made value: the one that had it keeps it.
            if (_owners.TryAdd(frontend, id))
            {
                _desired[frontend] = backends;
                _changedFrontends.Add(frontend);
            }
        }

        _frontends[id] = list;
        _countedIPs[id] = clusterIP;
        _clusterIPUses[clusterIP] = _clusterIPUses.GetValueOrDefault(clusterIP) + 1;
        SyncClusterIP(counted);
        SyncClusterIP(clusterIP);
    }

    /// <summary>The held set follows the use counts; a ClusterIP whose membership changed is reported.</summary>
    private void SyncClusterIP(IPAddress? address)
    {
        if (address is null)
        {
            return;
        }

        bool changed = _clusterIPUses.ContainsKey(address) ? _clusterIPs.Add(address) : _clusterIPs.Remove(address);
        if (changed)
        {
            _changedIPs.Add(address);
        }
    }

    private static HashSet<string> Index(Dictionary<string, HashSet<string>> index, string ns)
    {
        if (!index.TryGetValue(ns, out HashSet<string>? set))
        {
            index[ns] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        return set;
    }
}
