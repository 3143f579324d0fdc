using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Overlay.Daemon.Services;

/// <summary>
/// What the service table holds after a plan is applied, kept in memory as the base of the next delta: the
/// skeleton's inputs, the canary token, each frontend's backends in slot order, and the sets' elements.
/// </summary>
public sealed class AppliedServiceRules
{
    internal AppliedServiceRules(
        AddressFamily family,
        IPNetwork serviceNetwork,
        IReadOnlyList<IPNetwork> podNetworks,
        int token,
        Dictionary<Frontend, Backend[]> slots,
        HashSet<IPAddress> clusterIPs,
        Dictionary<Backend, int> backendUses,
        Dictionary<IPAddress, int> addressUses,
        int lbChains)
    {
        Family = family;
        ServiceNetwork = serviceNetwork;
        PodNetworks = podNetworks;
        Token = token;
        SlotTable = slots;
        ClusterIPSet = clusterIPs;
        BackendUses = backendUses;
        AddressUses = addressUses;
        LbChains = lbChains;
    }

    public AddressFamily Family { get; }

    public IPNetwork ServiceNetwork { get; }

    public IReadOnlyList<IPNetwork> PodNetworks { get; }

    /// <summary>The canary's token, new with every full load, so a table restored from an old copy does not pass for this one.</summary>
    public int Token { get; }

    /// <summary>Each frontend's backends by slot (index = slot); empty for a frontend without endpoints.</summary>
    public IReadOnlyDictionary<Frontend, Backend[]> Slots => SlotTable;

    public IReadOnlySet<IPAddress> ClusterIPs => ClusterIPSet;

    /// <summary><see cref="Slots"/> itself, which a delta from change hints updates in place.</summary>
    internal Dictionary<Frontend, Backend[]> SlotTable { get; }

    /// <summary><see cref="ClusterIPs"/> itself, which a delta from change hints updates in place.</summary>
    internal HashSet<IPAddress> ClusterIPSet { get; }

    /// <summary>The node's own pod subnets the hairpin set was limited to (<see cref="ServiceRulesInput.LocalNetworks"/>); null: every endpoint.</summary>
    public IReadOnlyList<IPNetwork>? LocalNetworks { get; init; }

    /// <summary>The cluster DNS redirect the skeleton was loaded with (<see cref="ServiceRulesInput.ClusterDns"/>).</summary>
    public ClusterDnsRedirect? ClusterDns { get; init; }

    /// <summary>Endpoint addresses whose <c>ep . ep</c> pair is in the hairpin set.</summary>
    public IReadOnlyCollection<IPAddress> Hairpin => LocalNetworks is null
        ? AddressUses.Keys
        : AddressUses.Keys.Where(a => LocalNetworks.Any(n => n.Contains(a))).ToList();

    /// <summary>How many slots use each backend.</summary>
    internal Dictionary<Backend, int> BackendUses { get; }

    /// <summary>How many slots use each endpoint address.</summary>
    internal Dictionary<IPAddress, int> AddressUses { get; }

    /// <summary>The table has the chains <c>lb-1</c> to <c>lb-K</c>, K this.</summary>
    public int LbChains { get; }

    /// <summary>Elements of the <c>service-ips</c> map (frontends with at least one endpoint).</summary>
    public int ServiceElements => Slots.Values.Count(s => s.Length > 0);

    public int BackendElements => Slots.Values.Sum(s => s.Length);

    /// <summary>Every backend some frontend uses, once.</summary>
    public IEnumerable<Backend> Backends => BackendUses.Keys;
}

/// <summary>One <c>nft -f -</c> transaction: its script and the element operations in it.</summary>
public sealed record ServiceTransaction(string Script, int ElementsAdded, int ElementsRemoved);

/// <summary>The transactions that take the table from what was applied to what is desired, in order, and the state after them.</summary>
public sealed record ServiceRulesPlan(IReadOnlyList<ServiceTransaction> Transactions, AppliedServiceRules Result, bool FullLoad, IReadOnlyCollection<Backend> StaleBackends)
{
    public int ElementsAdded => Transactions.Sum(t => t.ElementsAdded);

    public int ElementsRemoved => Transactions.Sum(t => t.ElementsRemoved);
}

/// <summary>
/// Decides what to send to nft: a full load (first time, after drift, or when the service or pod networks changed)
/// or the element changes between what was applied and what is desired. Pure.
/// <para>
/// Each transaction is all or nothing. A plan larger than the budget is split, and every frontend's change (its
/// backends' slots and its <c>service-ips</c> element) stays inside one transaction, so no <c>service-ips</c>
/// element ever points at slots that are missing. Order: new hairpin pairs first, then the frontends, then the
/// ClusterIP set and the removed hairpin pairs. A cold start fills the
/// ClusterIP set last, so a service not yet loaded is dropped (the client retries) rather than refused.
/// </para>
/// </summary>
public static class ServiceRulesPlanner
{
    /// <param name="applied">What the table holds now, or null when unknown (first run, drift, failed apply): a full load.</param>
    /// <param name="token">The canary token a full load writes (ignored for a delta, which keeps the applied one).</param>
    /// <param name="budget">The most element operations one transaction carries.</param>
    /// <param name="previous">
    /// What was last applied even if it is no longer trusted as the base of a delta (after drift or a failed apply);
    /// the backends it used that <paramref name="desired"/> does not are reported stale. Defaults to <paramref name="applied"/>.
    /// </param>
    public static ServiceRulesPlan Plan(AppliedServiceRules? applied, ServiceRulesInput desired, int token, int budget = ServiceRuleset.DefaultTransactionBudget, AppliedServiceRules? previous = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, 1);
        AddressFamily family = desired.ServiceNetwork.BaseAddress.AddressFamily;
        IReadOnlyList<IPNetwork> podNetworks = Normalize(desired.PodNetworks.Where(n => n.BaseAddress.AddressFamily == family));
        if (applied is not null && desired.Changes is { } hints && ReferenceEquals(previous ?? applied, applied)
            && applied.Family == family && applied.ServiceNetwork.Equals(desired.ServiceNetwork)
            && applied.PodNetworks.SequenceEqual(podNetworks) && SameNetworks(applied.LocalNetworks, desired.LocalNetworks)
            && applied.ClusterDns == desired.ClusterDns
            && PlanChanges(applied, desired, hints, family, budget) is { } quick)
        {
            return quick;
        }

        int most = desired.Frontends.Where(f => f.Key.ClusterIP.AddressFamily == family).Select(f => f.Value.Count).DefaultIfEmpty(0).Max();
        bool full = applied is null || applied.Family != family || !applied.ServiceNetwork.Equals(desired.ServiceNetwork)
            || !applied.PodNetworks.SequenceEqual(podNetworks) || most > applied.LbChains
            || !SameNetworks(applied.LocalNetworks, desired.LocalNetworks) || applied.ClusterDns != desired.ClusterDns;
        IReadOnlyDictionary<Frontend, Backend[]> oldSlots = full ? new Dictionary<Frontend, Backend[]>() : applied!.Slots;

        // One pass over the desired frontends: an unchanged one reuses its slot array without allocating, so a
        // one-service change at 10,000 services costs a few milliseconds of planning.
        var slots = new Dictionary<Frontend, Backend[]>(desired.Frontends.Count);
        var changes = new List<(Frontend Frontend, Backend[] Old, Backend[] Now)>();
        foreach ((Frontend frontend, IReadOnlyList<Backend> backends) in desired.Frontends)
        {
            if (frontend.ClusterIP.AddressFamily != family)
            {
                continue;
            }

            if (oldSlots.TryGetValue(frontend, out Backend[]? old) && SameMembers(old, backends))
            {
                slots[frontend] = old;
                continue;
            }

            Backend[] wanted = [.. backends.Where(b => b.Address.AddressFamily == family).Distinct()];
            Backend[] now = old is null ? wanted : AssignSlots(old, wanted);
            slots[frontend] = now;
            if (!(old ?? []).AsSpan().SequenceEqual(now))
            {
                changes.Add((frontend, old ?? [], now));
            }
        }

        foreach ((Frontend frontend, Backend[] old) in oldSlots)
        {
            if (old.Length > 0 && !slots.ContainsKey(frontend))
            {
                changes.Add((frontend, old, []));
            }
        }

        // How many slots use each backend and each endpoint address: the hairpin set and the stale backends follow
        // from the counts that reach or leave zero.
        var backendUses = full ? new Dictionary<Backend, int>() : new Dictionary<Backend, int>(applied!.BackendUses);
        var addressUses = full ? new Dictionary<IPAddress, int>() : new Dictionary<IPAddress, int>(applied!.AddressUses);
        var touched = new HashSet<Backend>();
        foreach ((_, Backend[] old, Backend[] now) in changes)
        {
            foreach (Backend backend in old)
            {
                Count(backendUses, backend, -1);
                Count(addressUses, backend.Address, -1);
                touched.Add(backend);
            }

            foreach (Backend backend in now)
            {
                Count(backendUses, backend, +1);
                Count(addressUses, backend.Address, +1);
                touched.Add(backend);
            }
        }

        var clusterIPs = new HashSet<IPAddress>(desired.ClusterIPs.Where(a => a.AddressFamily == family));
        int lbChains = full ? ServiceRuleset.LbChainsFor(slots.Values.Select(s => s.Length).DefaultIfEmpty(0).Max()) : applied!.LbChains;
        var result = new AppliedServiceRules(family, desired.ServiceNetwork, podNetworks, full ? token : applied!.Token, slots, clusterIPs, backendUses, addressUses, lbChains)
        {
            LocalNetworks = desired.LocalNetworks,
            ClusterDns = family == AddressFamily.InterNetwork ? desired.ClusterDns : null,
        };

        previous ??= applied;
        Backend[] stale = previous is null ? []
            : full || !ReferenceEquals(previous, applied) ? [.. previous.BackendUses.Keys.Where(b => !backendUses.ContainsKey(b))]
            : [.. touched.Where(b => previous.BackendUses.ContainsKey(b) && !backendUses.ContainsKey(b))];

        var writer = new TransactionWriter(family, budget);
        if (full)
        {
            var skeleton = new StringBuilder();
            ServiceRuleset.AppendSkeleton(skeleton, family, desired.ServiceNetwork, podNetworks, lbChains, result.Token, result.ClusterDns);
            writer.Start(skeleton.ToString());
            foreach (IPAddress address in addressUses.Keys.Where(desired.CanHairpin))
            {
                writer.Add(Change.Single(ElementList.HairpinAdd, ServiceRuleset.HairpinElement(address)));
            }

            foreach ((Frontend frontend, Backend[] old, Backend[] now) in changes)
            {
                writer.Add(FrontendChange(frontend, old, now));
            }

            foreach (IPAddress address in clusterIPs)
            {
                writer.Add(Change.Single(ElementList.ClusterIPAdd, ServiceRuleset.Address(address)));
            }
        }
        else
        {
            var touchedAddresses = new HashSet<IPAddress>(touched.Select(b => b.Address).Where(desired.CanHairpin));
            foreach (IPAddress address in touchedAddresses.Where(a => !applied!.AddressUses.ContainsKey(a) && addressUses.ContainsKey(a)))
            {
                writer.Add(Change.Single(ElementList.HairpinAdd, ServiceRuleset.HairpinElement(address)));
            }

            foreach ((Frontend frontend, Backend[] old, Backend[] now) in changes)
            {
                writer.Add(FrontendChange(frontend, old, now));
            }

            foreach (IPAddress address in clusterIPs.Where(a => !applied!.ClusterIPs.Contains(a)))
            {
                writer.Add(Change.Single(ElementList.ClusterIPAdd, ServiceRuleset.Address(address)));
            }

            foreach (IPAddress address in applied!.ClusterIPs.Where(a => !clusterIPs.Contains(a)))
            {
                writer.Add(Change.Single(ElementList.ClusterIPDelete, ServiceRuleset.Address(address)));
            }

            foreach (IPAddress address in touchedAddresses.Where(a => applied.AddressUses.ContainsKey(a) && !addressUses.ContainsKey(a)))
            {
                writer.Add(Change.Single(ElementList.HairpinDelete, ServiceRuleset.HairpinElement(address)));
            }
        }

        return new ServiceRulesPlan(writer.Finish(), result, full, stale);
    }

    /// <summary>
    /// The delta for the frontends and ClusterIPs <paramref name="hints"/> names, and only those: the work and the
    /// allocation of a change no longer grow with the number of services. <paramref name="applied"/> is updated in
    /// place and becomes the result (the table forgets it when a transaction fails, so the next apply is a full load;
    /// the backends such a failed change removed are then not reported stale). Null when a changed frontend needs
    /// more <c>lb-N</c> chains than the table has: the caller makes the full plan.
    /// </summary>
    private static ServiceRulesPlan? PlanChanges(AppliedServiceRules applied, ServiceRulesInput desired, ServiceRulesChanges hints, AddressFamily family, int budget)
    {
        foreach (Frontend frontend in hints.Frontends)
        {
            if (frontend.ClusterIP.AddressFamily == family && desired.Frontends.TryGetValue(frontend, out IReadOnlyList<Backend>? wanted) && wanted.Count > applied.LbChains)
            {
                return null;
            }
        }

        Dictionary<Frontend, Backend[]> slots = applied.SlotTable;
        var changes = new List<(Frontend Frontend, Backend[] Old, Backend[] Now)>();
        foreach (Frontend frontend in hints.Frontends)
        {
            if (frontend.ClusterIP.AddressFamily != family)
            {
                continue;
            }

            slots.TryGetValue(frontend, out Backend[]? old);
            Backend[] now;
            if (desired.Frontends.TryGetValue(frontend, out IReadOnlyList<Backend>? backends))
            {
                if (old is not null && SameMembers(old, backends))
                {
                    continue;
                }

                Backend[] wanted = [.. backends.Where(b => b.Address.AddressFamily == family).Distinct()];
                now = old is null ? wanted : AssignSlots(old, wanted);
                slots[frontend] = now;
            }
            else
            {
                if (old is null)
                {
                    continue;
                }

                now = [];
                slots.Remove(frontend);
            }

            if (!(old ?? []).AsSpan().SequenceEqual(now))
            {
                changes.Add((frontend, old ?? [], now));
            }
        }

        // Use counts updated in place; what each backend and address was before decides the stale backends and the hairpin pairs.
        var backendWasUsed = new Dictionary<Backend, bool>();
        var addressWasUsed = new Dictionary<IPAddress, bool>();
        foreach ((_, Backend[] old, Backend[] now) in changes)
        {
            foreach ((Backend backend, int delta) in old.Select(b => (b, -1)).Concat(now.Select(b => (b, +1))))
            {
                backendWasUsed.TryAdd(backend, applied.BackendUses.ContainsKey(backend));
                addressWasUsed.TryAdd(backend.Address, applied.AddressUses.ContainsKey(backend.Address));
                Count(applied.BackendUses, backend, delta);
                Count(applied.AddressUses, backend.Address, delta);
            }
        }

        Backend[] stale = [.. backendWasUsed.Where(b => b.Value && !applied.BackendUses.ContainsKey(b.Key)).Select(b => b.Key)];
        var writer = new TransactionWriter(family, budget);
        foreach ((IPAddress address, bool was) in addressWasUsed)
        {
            if (!was && applied.AddressUses.ContainsKey(address) && desired.CanHairpin(address))
            {
                writer.Add(Change.Single(ElementList.HairpinAdd, ServiceRuleset.HairpinElement(address)));
            }
        }

        foreach ((Frontend frontend, Backend[] old, Backend[] now) in changes)
        {
            writer.Add(FrontendChange(frontend, old, now));
        }

        var removedIPs = new List<IPAddress>();
        foreach (IPAddress address in hints.ClusterIPs)
        {
            if (address.AddressFamily != family)
            {
                continue;
            }

            bool wanted = desired.ClusterIPs is IReadOnlySet<IPAddress> set ? set.Contains(address) : desired.ClusterIPs.Contains(address);
            if (wanted && applied.ClusterIPSet.Add(address))
            {
                writer.Add(Change.Single(ElementList.ClusterIPAdd, ServiceRuleset.Address(address)));
            }
            else if (!wanted && applied.ClusterIPSet.Remove(address))
            {
                removedIPs.Add(address);
            }
        }

        foreach (IPAddress address in removedIPs)
        {
            writer.Add(Change.Single(ElementList.ClusterIPDelete, ServiceRuleset.Address(address)));
        }

        foreach ((IPAddress address, bool was) in addressWasUsed)
        {
            if (was && !applied.AddressUses.ContainsKey(address) && desired.CanHairpin(address))
            {
                writer.Add(Change.Single(ElementList.HairpinDelete, ServiceRuleset.HairpinElement(address)));
            }
        }

        return new ServiceRulesPlan(writer.Finish(), applied, FullLoad: false, stale);
    }

    private static bool SameNetworks(IReadOnlyList<IPNetwork>? a, IReadOnlyList<IPNetwork>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b);

    private static void Count<T>(Dictionary<T, int> uses, T key, int delta)
        where T : notnull
    {
        int now = uses.GetValueOrDefault(key) + delta;
        if (now > 0)
        {
            uses[key] = now;
        }
        else
        {
            uses.Remove(key);
        }
    }

    /// <summary>True when <paramref name="backends"/> holds exactly the backends of <paramref name="slots"/>, in any order.</summary>
    internal static bool SameMembers(Backend[] slots, IReadOnlyList<Backend> backends)
    {
        if (slots.Length != backends.Count)
        {
            return false;
        }

        if (slots.Length > 16)
        {
            var set = new HashSet<Backend>(slots);
            return set.SetEquals(backends);
        }

        for (int i = 0; i < slots.Length; i++)
        {
            if (Array.IndexOf(slots, backends[i]) < 0)
            {
                return false;
            }

            bool found = false;
            for (int j = 0; j < backends.Count && !found; j++)
            {
                found = backends[j] == slots[i];
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The new slot order for a frontend whose endpoints changed: a kept backend keeps its slot when the slot still
    /// exists, so only the slots that really change are rewritten (and established picks stay where they were).
    /// </summary>
    internal static Backend[] AssignSlots(Backend[] old, Backend[] wanted)
    {
        var result = new Backend?[wanted.Length];
        var wantedSet = new HashSet<Backend>(wanted);
        var placed = new HashSet<Backend>();
        for (int slot = 0; slot < Math.Min(old.Length, wanted.Length); slot++)
        {
            if (wantedSet.Contains(old[slot]))
            {
                result[slot] = old[slot];
                placed.Add(old[slot]);
            }
        }

        int free = 0;
        foreach (Backend backend in wanted)
        {
            if (placed.Contains(backend))
            {
                continue;
            }

            while (result[free] is not null)
            {
                free++;
            }

            result[free] = backend;
        }

        return [.. result.Select(b => b!.Value)];
    }

    /// <summary>The element operations that turn a frontend's slots from <paramref name="old"/> into <paramref name="now"/>.</summary>
    private static Change FrontendChange(Frontend frontend, Backend[] old, Backend[] now)
    {
        var change = new Change();
        if (old.Length != now.Length)
        {
            if (old.Length > 0)
            {
                change.Lists[(int)ElementList.ServiceDelete].Add(ServiceRuleset.FrontendKey(frontend));
            }

            if (now.Length > 0)
            {
                change.Lists[(int)ElementList.ServiceAdd].Add(ServiceRuleset.ServiceElement(frontend, now.Length));
            }
        }

        for (int slot = 0; slot < Math.Max(old.Length, now.Length); slot++)
        {
            bool inOld = slot < old.Length;
            bool inNow = slot < now.Length;
            if (inOld && inNow && old[slot] == now[slot])
            {
                continue;
            }

            if (inOld)
            {
                change.Lists[(int)ElementList.BackendDelete].Add(ServiceRuleset.BackendKey(frontend, slot));
            }

            if (inNow)
            {
                change.Lists[(int)ElementList.BackendAdd].Add(ServiceRuleset.BackendElement(frontend, slot, now[slot]));
            }
        }

        return change;
    }

    /// <summary>Sorted, without networks inside others (an interval set refuses overlapping elements).</summary>
    private static IPNetwork[] Normalize(IEnumerable<IPNetwork> networks)
    {
        IPNetwork[] all = [.. networks.Distinct().OrderBy(n => n.PrefixLength)];
        var kept = new List<IPNetwork>();
        foreach (IPNetwork network in all)
        {
            if (!kept.Any(k => k.Contains(network.BaseAddress)))
            {
                kept.Add(network);
            }
        }

        return [.. kept.OrderBy(n => n.BaseAddress.GetAddressBytes(), ByteOrder.Instance).ThenBy(n => n.PrefixLength)];
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    /// <summary>The element lists of a transaction, in the order the script lists them.</summary>
    private enum ElementList
    {
        HairpinAdd,
        ServiceDelete,
        BackendDelete,
        BackendAdd,
        ServiceAdd,
        ClusterIPAdd,
        ClusterIPDelete,
        HairpinDelete,
    }

    /// <summary>Element operations that must commit together (one frontend's, or a single independent element).</summary>
    private sealed class Change
    {
        public List<string>[] Lists { get; } = [.. Enumerable.Range(0, 8).Select(_ => new List<string>())];

        public int Operations => Lists.Sum(l => l.Count);

        public static Change Single(ElementList list, string element)
        {
            var change = new Change();
            change.Lists[(int)list].Add(element);
            return change;
        }
    }

    /// <summary>Packs changes into transactions of at most the budget (a change larger than it gets one of its own).</summary>
    private sealed class TransactionWriter(AddressFamily family, int budget)
    {
        private static readonly (string Verb, string Set, bool Adds)[] Lists =
        [
            ("add", "hairpin", true),
            ("delete", "service-ips", false),
            ("delete", "backends", false),
            ("add", "backends", true),
            ("add", "service-ips", true),
            ("add", "cluster-ips", true),
            ("delete", "cluster-ips", false),
            ("delete", "hairpin", false),
        ];

        private readonly List<ServiceTransaction> _done = [];
        private string? _prelude;
        private Change _open = new();

        public void Start(string prelude) => _prelude = prelude;

        public void Add(Change change)
        {
            if (_open.Operations > 0 && _open.Operations + change.Operations > budget)
            {
                Close();
            }

            for (int i = 0; i < change.Lists.Length; i++)
            {
                _open.Lists[i].AddRange(change.Lists[i]);
            }
        }

        public IReadOnlyList<ServiceTransaction> Finish()
        {
            if (_open.Operations > 0 || _prelude is not null)
            {
                Close();
            }

            return _done;
        }

        private void Close()
        {
            var text = new StringBuilder(_prelude);
            string f = ServiceRuleset.FamilyOf(family);
            int added = 0;
            int removed = 0;
            for (int i = 0; i < Lists.Length; i++)
            {
                List<string> elements = _open.Lists[i];
                if (elements.Count == 0)
                {
                    continue;
                }

                text.Append(Lists[i].Verb).Append(" element ").Append(f).Append(' ').Append(ServiceRuleset.Table).Append(' ').Append(Lists[i].Set).Append(" {\n");
                for (int e = 0; e < elements.Count; e++)
                {
                    text.Append("    ").Append(elements[e]).Append(e + 1 < elements.Count ? ",\n" : "\n");
                }

                text.Append("}\n");
                if (Lists[i].Adds)
                {
                    added += elements.Count;
                }
                else
                {
                    removed += elements.Count;
                }
            }

            _done.Add(new ServiceTransaction(text.ToString(), added, removed));
            _prelude = null;
            _open = new Change();
        }
    }
}
