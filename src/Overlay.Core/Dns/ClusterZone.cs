using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Services;

namespace Overlay.Core.Dns;

/// <summary>
/// The cluster zone (<c>cluster.local</c>) and the reverse zones of the service and pod networks, built from the
/// services and pods the registry holds (kubernetes/dns <c>docs/specification.md</c>, CoreDNS's kubernetes plugin with
/// <c>pods verified</c>).
/// </summary>
/// <remarks>
/// One writer (the daemon's loop) feeds it through <see cref="SetService"/>, <see cref="RemoveService"/>,
/// <see cref="SetPod"/> and <see cref="RemovePod"/>; those must not run at the same time as each other. Any number of
/// DNS threads call <see cref="Lookup"/> at once, without locks. Every service and every pod address is one immutable
/// value in a <see cref="ConcurrentDictionary{TKey,TValue}"/>, replaced whole: a reader sees a service's ports, addresses
/// and endpoints from one update, never a mix, and a change costs the size of that one service, not of the zone. The
/// values are the <see cref="ServiceSpec"/> and <see cref="PodRecord"/> objects the catalog already holds, so the zone's
/// own memory is little more than the dictionaries' nodes; records are made when they are asked for.
/// </remarks>
public sealed partial class ClusterZone : IClusterZone, IClusterZoneFeed
{
    public const uint DefaultTtl = 5;

    /// <summary>The version of the Kubernetes DNS specification this zone follows, the TXT of <c>dns-version</c>.</summary>
    public const string SpecificationVersion = "1.1.0";

    // CoreDNS's SOA timers; the minimum (the negative-caching TTL) is the zone's TTL.
    private const uint SoaRefresh = 7200;
    private const uint SoaRetry = 1800;
    private const uint SoaExpire = 86400;

    private static readonly DnsRecord[] NoRecords = [];

    private readonly string domainSuffix;
    private readonly string nameServer;
    private readonly string mailbox;
    private readonly TimeProvider time;

    // A query finds a service by "<svc>.<ns>", the middle of its name, as a span (ServiceName's comparer).
    private readonly ConcurrentDictionary<ServiceName, ServiceEntry> services = new(ServiceName.Comparer.Instance);
    private readonly ConcurrentDictionary<ServiceName, ServiceEntry>.AlternateLookup<ReadOnlySpan<char>> servicesByName;
    private readonly ConcurrentDictionary<IPAddress, ServiceSpec> servicesByClusterIP = new();

    // Pods by address (usually one pod; an array so a change replaces it whole), and by name for the writer alone.
    // The pods holding each address: a PodRecord, or (pods of several namespaces sharing one) a PodRecord[]. One
    // object per address, replaced whole; no array for the usual single pod, as there may be 30,000 of them.
    private readonly ConcurrentDictionary<IPAddress, object> podsByAddress = new();
    private int podCount;

    // How many services and pods each namespace holds: "<ns>.svc.<zone>" and "<ns>.pod.<zone>" exist while it is not 0.
    private readonly ConcurrentDictionary<string, int> serviceNamespaces = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> serviceNamespacesByName;
    private readonly ConcurrentDictionary<string, int> podNamespaces = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> podNamespacesByName;

    private readonly ReverseNetwork[] reverseNetworks;

    private volatile ApexAnswers apex;

    /// <param name="domain">The zone, lower case without a trailing dot (<c>cluster.local</c>).</param>
    /// <param name="dnsAddress">The cluster DNS address: the A (or AAAA) of <c>ns.dns.&lt;zone&gt;</c>, the zone's NS.</param>
    /// <param name="reverseNetworks">
    /// The networks whose reverse zones are answered here (the service network(s) and the pod network(s)); a reverse
    /// name outside them is forwarded.
    /// </param>
    /// <param name="ttl">The TTL of every record, and the SOA's minimum (negative caching).</param>
    /// <param name="time">The clock behind the SOA serial (the Unix time of the last change).</param>
    public ClusterZone(string domain, IPAddress dnsAddress, IEnumerable<IPNetwork> reverseNetworks, uint ttl = DefaultTtl, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        if (domain.EndsWith('.') || !string.Equals(domain, domain.ToLowerInvariant(), StringComparison.Ordinal))
        {
            throw new ArgumentException($"the zone '{domain}' must be lower case without a trailing dot", nameof(domain));
        }

        Domain = domain;
        DnsAddress = dnsAddress;
        Ttl = ttl;
        this.time = time ?? TimeProvider.System;
        domainSuffix = "." + domain;
        nameServer = "ns.dns." + domain;
        mailbox = "hostmaster." + domain;
        servicesByName = services.GetAlternateLookup<ReadOnlySpan<char>>();
        serviceNamespacesByName = serviceNamespaces.GetAlternateLookup<ReadOnlySpan<char>>();
        podNamespacesByName = podNamespaces.GetAlternateLookup<ReadOnlySpan<char>>();
        this.reverseNetworks = reverseNetworks.Select(ReverseNetwork.Of).ToArray();
        apex = MakeApexAnswers(CurrentSerial());
    }

    public string Domain { get; }

    public IPAddress DnsAddress { get; }

    public uint Ttl { get; }

    /// <summary>The SOA serial: the Unix time (seconds) of the last change, or of the zone's creation.</summary>
    public uint Serial => apex.Serial;

    public int ServiceCount => services.Count;

    public int PodCount => podCount;

    /// <summary>
    /// Adds or replaces a service. <paramref name="endpointAddresses"/> are its ready endpoints' addresses (both
    /// families); only a headless service's are used (its A/AAAA, its endpoint names and SRV targets). The zone keeps
    /// <paramref name="service"/> as it is: the caller must not change it afterwards (records are immutable).
    /// </summary>
    public void SetService(ServiceSpec service, IReadOnlyList<IPAddress> endpointAddresses)
    {
        var key = new ServiceName(service.Name, service.Namespace);
        IPAddress[] endpoints = service.IsHeadless ? endpointAddresses.Distinct().ToArray() : [];
        bool existed = services.TryGetValue(key, out ServiceEntry? old);
        services[key] = new ServiceEntry(service, endpoints);
        if (!existed)
        {
            Count(serviceNamespaces, service.Namespace, +1);
        }

        foreach (IPAddress address in ClusterIPs(service))
        {
            servicesByClusterIP[address] = service;
        }

        if (old is not null)
        {
            foreach (IPAddress address in ClusterIPs(old.Spec))
            {
                if (!address.Equals(service.ClusterIP) && !address.Equals(service.ClusterIPv6))
                {
                    RemoveClusterIP(address, old.Spec);
                }
            }
        }

        Touch();
    }

    /// <summary>Removes a service; false when the zone did not hold it.</summary>
    public bool RemoveService(string serviceNamespace, string name)
    {
        if (!services.TryRemove(new ServiceName(name, serviceNamespace), out ServiceEntry? old))
        {
            return false;
        }

        foreach (IPAddress address in ClusterIPs(old.Spec))
        {
            RemoveClusterIP(address, old.Spec);
        }

        Count(serviceNamespaces, serviceNamespace, -1);
        Touch();
        return true;
    }

    /// <summary>
    /// Adds or replaces a pod: its addresses get <c>&lt;a-b-c-d&gt;.&lt;ns&gt;.pod.&lt;zone&gt;</c> and a PTR.
    /// <paramref name="previous"/> is the record last given for this pod (same namespace and name), null when it is new:
    /// the catalog has it at hand, and the zone keeps no index of pods by name of its own (it would cost a megabyte at
    /// 30,000 pods).
    /// </summary>
    public void SetPod(PodRecord pod, PodRecord? previous)
    {
        if (previous is null)
        {
            podCount++;
            Count(podNamespaces, pod.Namespace, +1);
        }

        // The new addresses first, then the old ones it lost, so an address it keeps never disappears for a moment.
        foreach (IPAddress address in pod.Addresses)
        {
            podsByAddress[address] = WithPod(podsByAddress.TryGetValue(address, out object? holders) ? holders : null, pod);
        }

        if (previous is not null)
        {
            foreach (IPAddress address in previous.Addresses)
            {
                if (!pod.Addresses.Contains(address))
                {
                    RemovePodAddress(address, previous);
                }
            }
        }

        Touch();
    }

    /// <summary>Removes a pod, given the record last given for it.</summary>
    public void RemovePod(PodRecord pod)
    {
        foreach (IPAddress address in pod.Addresses)
        {
            RemovePodAddress(address, pod);
        }

        podCount--;
        Count(podNamespaces, pod.Namespace, -1);
        Touch();
    }

    public ZoneAnswer? Lookup(string name, DnsType type)
    {
        if (string.Equals(name, Domain, StringComparison.Ordinal))
        {
            return AtApex(type);
        }

        if (name.EndsWith(domainSuffix, StringComparison.Ordinal))
        {
            return InZone(name, name.AsSpan(0, name.Length - domainSuffix.Length), type);
        }

        return LookupReverse(name, type);
    }

    private static IEnumerable<IPAddress> ClusterIPs(ServiceSpec service)
    {
        if (service.ClusterIP is not null)
        {
            yield return service.ClusterIP;
        }

        if (service.ClusterIPv6 is not null)
        {
            yield return service.ClusterIPv6;
        }
    }

    private static bool IsSamePod(PodRecord a, PodRecord b) =>
        string.Equals(a.Namespace, b.Namespace, StringComparison.Ordinal) && string.Equals(a.Name, b.Name, StringComparison.Ordinal);

    private static void Count(ConcurrentDictionary<string, int> counts, string key, int change)
    {
        int count = (counts.TryGetValue(key, out int current) ? current : 0) + change;
        if (count > 0)
        {
            counts[key] = count;
        }
        else
        {
            counts.TryRemove(key, out _);
        }
    }

    private void RemoveClusterIP(IPAddress address, ServiceSpec service)
    {
        // Only while it still names this service: another service may have taken the address since.
        if (servicesByClusterIP.TryGetValue(address, out ServiceSpec? holder)
            && string.Equals(holder.Namespace, service.Namespace, StringComparison.Ordinal)
            && string.Equals(holder.Name, service.Name, StringComparison.Ordinal))
        {
            servicesByClusterIP.TryRemove(address, out _);
        }
    }

    private void RemovePodAddress(IPAddress address, PodRecord pod)
    {
        if (!podsByAddress.TryGetValue(address, out object? holders))
        {
            return;
        }

        object? rest = WithoutPod(holders, pod);
        if (rest is null)
        {
            podsByAddress.TryRemove(address, out _);
        }
        else if (!ReferenceEquals(rest, holders))
        {
            podsByAddress[address] = rest;
        }
    }

    private static int HolderCount(object holders) => holders is PodRecord[] many ? many.Length : 1;

    private static PodRecord Holder(object holders, int index) => holders is PodRecord[] many ? many[index] : (PodRecord)holders;

    private static object WithPod(object? holders, PodRecord pod)
    {
        if (holders is null)
        {
            return pod;
        }

        var updated = new List<PodRecord>(HolderCount(holders) + 1);
        bool replaced = false;
        for (int i = 0; i < HolderCount(holders); i++)
        {
            PodRecord holder = Holder(holders, i);
            replaced |= IsSamePod(holder, pod);
            updated.Add(IsSamePod(holder, pod) ? pod : holder);
        }

        if (!replaced)
        {
            updated.Add(pod);
        }

        return updated.Count == 1 ? updated[0] : updated.ToArray();
    }

    /// <summary>The holders without <paramref name="pod"/>: the same object when it was not there, null when none is left.</summary>
    private static object? WithoutPod(object holders, PodRecord pod)
    {
        var rest = new List<PodRecord>(HolderCount(holders));
        for (int i = 0; i < HolderCount(holders); i++)
        {
            if (!IsSamePod(Holder(holders, i), pod))
            {
                rest.Add(Holder(holders, i));
            }
        }

        return rest.Count == HolderCount(holders) ? holders : rest.Count switch
        {
            0 => null,
            1 => rest[0],
            _ => rest.ToArray(),
        };
    }

    private uint CurrentSerial() => (uint)Math.Clamp(time.GetUtcNow().ToUnixTimeSeconds(), 1, uint.MaxValue);

    /// <summary>A change moves the SOA serial to now (at most once a second: the answers it is part of are rebuilt).</summary>
    private void Touch()
    {
        uint now = CurrentSerial();
        if (now > apex.Serial)
        {
            apex = MakeApexAnswers(now);
        }
    }

    private DnsRecord Soa(string zone, uint serial) =>
        new(zone, Ttl, new SoaData(nameServer, mailbox, serial, SoaRefresh, SoaRetry, SoaExpire, Ttl));

    private ApexAnswers MakeApexAnswers(uint serial)
    {
        DnsRecord soa = Soa(Domain, serial);
        DnsRecord[] authority = [soa];
        return new ApexAnswers(
            serial,
            soa,
            new ZoneAnswer(DnsResponseCode.NameError, true, NoRecords, authority, NoRecords),
            new ZoneAnswer(DnsResponseCode.NoError, true, NoRecords, authority, NoRecords));
    }

    private ZoneAnswer Answer(List<DnsRecord> answers, List<DnsRecord>? additional, ZoneAnswer noData) =>
        answers.Count == 0
            ? noData
            : new ZoneAnswer(DnsResponseCode.NoError, true, answers, NoRecords, additional is { Count: > 0 } ? additional : NoRecords);

    private static bool Asks(DnsType asked, DnsType type) => asked == type || asked == DnsType.ANY;

    private static bool Asks(DnsType asked, IPAddress address) =>
        Asks(asked, address.AddressFamily == AddressFamily.InterNetwork ? DnsType.A : DnsType.AAAA);

    /// <summary>The SOA and NS of the zone; the NS's address goes in the additional section.</summary>
    private ZoneAnswer AtApex(DnsType type)
    {
        ApexAnswers current = apex;
        var answers = new List<DnsRecord>(2);
        List<DnsRecord>? additional = null;
        if (Asks(type, DnsType.SOA))
        {
            answers.Add(current.Soa);
        }

        if (Asks(type, DnsType.NS))
        {
            answers.Add(new DnsRecord(Domain, Ttl, new NameData(DnsType.NS, nameServer)));
            additional = [new DnsRecord(nameServer, Ttl, new AddressData(DnsAddress))];
        }

        return Answer(answers, additional, current.NoData);
    }

    /// <summary>
    /// A name below the apex; <paramref name="relative"/> is its part before <c>.&lt;zone&gt;</c>. The names that exist:
    /// <c>dns-version</c>, <c>ns.dns</c> (and <c>dns</c>), <c>svc</c> and everything of <see cref="InServices"/>,
    /// <c>pod</c> and everything of <see cref="InPods"/>; all others are NXDOMAIN.
    /// </summary>
    private ZoneAnswer InZone(string name, ReadOnlySpan<char> relative, DnsType type)
    {
        ApexAnswers current = apex;
        ReadOnlySpan<char> rest = CutLastLabel(relative, out ReadOnlySpan<char> last, out bool more);
        switch (last)
        {
            case "dns-version" when !more:
                return Asks(type, DnsType.TXT)
                    ? Answer([new DnsRecord(name, Ttl, new TxtData([SpecificationVersion]))], null, current.NoData)
                    : current.NoData;
            case "dns" when !more:
                return current.NoData;
            case "dns" when rest is "ns":
                return Asks(type, DnsAddress) ? Answer([new DnsRecord(name, Ttl, new AddressData(DnsAddress))], null, current.NoData) : current.NoData;
            case "svc" when !more:
                return current.NoData;
            case "svc":
                return InServices(name, rest, type, current);
            case "pod" when !more:
                return current.NoData;
            case "pod":
                return InPods(name, rest, type, current);
            default:
                return current.NxDomain;
        }
    }

    /// <summary>
    /// <c>&lt;ns&gt;.svc</c> (while a service lives in it), <c>&lt;svc&gt;.&lt;ns&gt;.svc</c>,
    /// <c>_&lt;port&gt;._&lt;proto&gt;.&lt;svc&gt;.&lt;ns&gt;.svc</c> (and <c>_&lt;proto&gt;.…</c>), and a headless
    /// service's <c>&lt;a-b-c-d&gt;.&lt;svc&gt;.&lt;ns&gt;.svc</c>. <paramref name="rest"/> is what precedes <c>.svc</c>.
    /// </summary>
    private ZoneAnswer InServices(string name, ReadOnlySpan<char> rest, DnsType type, ApexAnswers current)
    {
        ReadOnlySpan<char> beforeNamespace = CutLastLabel(rest, out ReadOnlySpan<char> serviceNamespace, out bool more);
        if (!more)
        {
            return serviceNamespacesByName.ContainsKey(serviceNamespace) ? current.NoData : current.NxDomain;
        }

        ReadOnlySpan<char> below = CutLastLabel(beforeNamespace, out ReadOnlySpan<char> serviceName, out more);
        int keyStart = more ? below.Length + 1 : 0;
        if (serviceName.Length == 0 || !servicesByName.TryGetValue(rest[keyStart..], out ServiceEntry? entry))
        {
            return current.NxDomain;
        }

        // The service's own name: the owner name of the query when it is the service, else rebuilt once here.
        string serviceDomain = more ? name[(below.Length + 1)..] : name;
        if (!more)
        {
            return ServiceRecords(entry, serviceDomain, type, current, protocol: null, portName: null);
        }

        ReadOnlySpan<char> first = CutLastLabel(below, out ReadOnlySpan<char> label, out more);
        if (!more)
        {
            if (label.StartsWith('_'))
            {
                // "_tcp.<svc>…": a name only because a named port of that protocol lies below it.
                return ParseProtocol(label) is ServiceProtocol protocol && entry.Spec.Ports.Any(p => p.Protocol == protocol && !string.IsNullOrEmpty(p.Name))
                    ? current.NoData
                    : current.NxDomain;
            }

            return EndpointRecords(entry, label, name, type, current);
        }

        // "_<port>._<proto>.<svc>…", and nothing deeper.
        CutLastLabel(first, out ReadOnlySpan<char> portLabel, out more);
        if (more || ParseProtocol(label) is not ServiceProtocol srvProtocol || portLabel.Length < 2 || portLabel[0] != '_')
        {
            return current.NxDomain;
        }

        string? portName = null;
        foreach (ServicePort port in entry.Spec.Ports)
        {
            if (port.Protocol == srvProtocol && port.Name is not null && portLabel[1..].SequenceEqual(port.Name))
            {
                portName = port.Name;
                break;
            }
        }

        return portName is null
            ? current.NxDomain
            : ServiceRecords(entry, serviceDomain, type, current, srvProtocol, portName, owner: name);
    }

    private static ServiceProtocol? ParseProtocol(ReadOnlySpan<char> label) => label switch
    {
        "_tcp" => ServiceProtocol.Tcp,
        "_udp" => ServiceProtocol.Udp,
        _ => null,
    };

    /// <summary>
    /// The records of a service's name (<paramref name="portName"/> null: A/AAAA, and SRV for every port) or of one
    /// port's SRV name (<paramref name="owner"/>): the SRV targets are the service's name, or for a headless service each
    /// endpoint's name, with their addresses in the additional section. SRV weights are CoreDNS's: 100 shared evenly.
    /// </summary>
    private ZoneAnswer ServiceRecords(
        ServiceEntry entry, string serviceDomain, DnsType type, ApexAnswers current, ServiceProtocol? protocol, string? portName, string? owner = null)
    {
        ServiceSpec service = entry.Spec;
        var answers = new List<DnsRecord>();
        List<DnsRecord>? additional = null;
        bool srvName = owner is not null;
        if (!srvName)
        {
            AddServiceAddresses(entry, serviceDomain, type, answers);
        }

        if (!Asks(type, DnsType.SRV))
        {
            return Answer(answers, null, current.NoData);
        }

        var ports = service.Ports.Where(p => portName is null || (p.Protocol == protocol && p.Name == portName)).ToList();
        int count = ports.Count * (service.IsHeadless ? entry.Endpoints.Length : 1);
        if (count == 0)
        {
            return Answer(answers, null, current.NoData);
        }

        ushort weight = (ushort)Math.Max(1, 100 / count);
        additional = [];
        string srvOwner = owner ?? serviceDomain;
        if (!service.IsHeadless)
        {
            foreach (ServicePort port in ports)
            {
                answers.Add(new DnsRecord(srvOwner, Ttl, new SrvData(0, weight, (ushort)port.Port, serviceDomain)));
            }

            AddServiceAddresses(entry, serviceDomain, DnsType.ANY, additional);
            return Answer(answers, additional, current.NoData);
        }

        foreach (IPAddress endpoint in entry.Endpoints)
        {
            string target = AddressLabels.Dashed(endpoint) + "." + serviceDomain;
            foreach (ServicePort port in ports)
            {
                answers.Add(new DnsRecord(srvOwner, Ttl, new SrvData(0, weight, (ushort)EndpointPort(service, endpoint, port), target)));
            }

            additional.Add(new DnsRecord(target, Ttl, new AddressData(endpoint)));
        }

        return Answer(answers, additional, current.NoData);
    }

    /// <summary>A service's addresses of the type asked: its ClusterIPs, or a headless service's endpoints.</summary>
    private void AddServiceAddresses(ServiceEntry entry, string owner, DnsType type, List<DnsRecord> records)
    {
        if (entry.Spec.IsHeadless)
        {
            foreach (IPAddress endpoint in entry.Endpoints)
            {
                Add(endpoint);
            }
        }
        else
        {
            Add(entry.Spec.ClusterIP);
            Add(entry.Spec.ClusterIPv6);
        }

        void Add(IPAddress? address)
        {
            if (address is not null && Asks(type, address))
            {
                records.Add(new DnsRecord(owner, Ttl, new AddressData(address)));
            }
        }
    }

    /// <summary>Clients reach a headless service's endpoints directly: the port given with the endpoint, else the target port.</summary>
    private static int EndpointPort(ServiceSpec service, IPAddress endpoint, ServicePort port)
    {
        if (service.Endpoints is not null)
        {
            foreach (ServiceEndpoint given in service.Endpoints)
            {
                if (given.Port is int overridden && given.Address.Equals(endpoint))
                {
                    return overridden;
                }
            }
        }

        return port.TargetPort;
    }

    /// <summary><c>&lt;a-b-c-d&gt;.&lt;svc&gt;.&lt;ns&gt;.svc</c>: the address of one endpoint of a headless service.</summary>
    private ZoneAnswer EndpointRecords(ServiceEntry entry, ReadOnlySpan<char> label, string name, DnsType type, ApexAnswers current)
    {
        IPAddress? address = AddressLabels.ParseDashed(label);
        if (address is null || Array.IndexOf(entry.Endpoints, address) < 0)
        {
            return current.NxDomain;
        }

        return Asks(type, address) ? Answer([new DnsRecord(name, Ttl, new AddressData(address))], null, current.NoData) : current.NoData;
    }

    /// <summary>
    /// <c>&lt;ns&gt;.pod</c> (while a pod lives in it) and <c>&lt;a-b-c-d&gt;.&lt;ns&gt;.pod</c>, which exists only when a
    /// pod of that namespace has that address (CoreDNS's <c>pods verified</c>).
    /// </summary>
    private ZoneAnswer InPods(string name, ReadOnlySpan<char> rest, DnsType type, ApexAnswers current)
    {
        ReadOnlySpan<char> beforeNamespace = CutLastLabel(rest, out ReadOnlySpan<char> podNamespace, out bool more);
        if (!more)
        {
            return podNamespacesByName.ContainsKey(podNamespace) ? current.NoData : current.NxDomain;
        }

        CutLastLabel(beforeNamespace, out ReadOnlySpan<char> label, out more);
        IPAddress? address = more ? null : AddressLabels.ParseDashed(label);
        if (address is null || !podsByAddress.TryGetValue(address, out object? holders) || !HasPodIn(holders, podNamespace))
        {
            return current.NxDomain;
        }

        return Asks(type, address) ? Answer([new DnsRecord(name, Ttl, new AddressData(address))], null, current.NoData) : current.NoData;
    }

    private static bool HasPodIn(object holders, ReadOnlySpan<char> podNamespace)
    {
        for (int i = 0; i < HolderCount(holders); i++)
        {
            if (podNamespace.SequenceEqual(Holder(holders, i).Namespace))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Splits the last label off: what precedes it (without the dot), and whether anything does.</summary>
    private static ReadOnlySpan<char> CutLastLabel(ReadOnlySpan<char> name, out ReadOnlySpan<char> label, out bool more)
    {
        int dot = name.LastIndexOf('.');
        label = name[(dot + 1)..];
        more = dot >= 0;
        return more ? name[..dot] : [];
    }

    /// <summary>A service's ports, ClusterIPs and (headless) endpoint addresses, replaced whole on every change.</summary>
    private sealed record ServiceEntry(ServiceSpec Spec, IPAddress[] Endpoints);

    /// <summary>What the apex answers whatever the name: its SOA, and the NXDOMAIN and NODATA answers that carry it.</summary>
    private sealed record ApexAnswers(uint Serial, DnsRecord Soa, ZoneAnswer NxDomain, ZoneAnswer NoData);
}
