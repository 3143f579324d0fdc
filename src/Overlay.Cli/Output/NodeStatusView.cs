using System.Globalization;
using System.Net.Sockets;
using Overlay.Cli.Inspection;

namespace Overlay.Cli.Output;

/// <summary>Everything <c>node status</c> prints: the comparison, the nftables tables and overlayd's own word.</summary>
internal sealed record NodeStatus(string? Netns, NodeView View, IReadOnlyList<string> NftTables, string? NftError, HealthReading? Health);

/// <summary>How <c>overlayctl node status</c> reads, as text and as JSON (pure).</summary>
internal static class NodeStatusView
{
    public static void WriteText(TextWriter w, NodeStatus status, DateTimeOffset now, bool wide)
    {
        NodeView view = status.View;
        static string Line(string label, string value) => $"{label,-11}{value}\n";
        if (status.Netns is not null)
        {
            w.Write(Line("Netns:", status.Netns));
        }

        if (view.Own is { } own)
        {
            string expires = own.IsReservation ? "reservation" : "expires in " + LeaseView.ExpiresIn(own, now);
            w.Write(Line("Lease:", $"{NodeComparison.LeaseName(own.Subnet)} public IP {own.Attributes.PublicIP}, {expires} ({view.OwnFoundBy})"));
        }
        else
        {
            w.Write(Line("Lease:", "none found"));
        }

        foreach (DeviceCheck device in view.Devices)
        {
            w.Write(Line("Device:", DeviceLine(device)));
        }

        PeerCounts counts = Count(view);
        w.Write(Line("Peers:", $"{counts.Peers} in etcd: {counts.Ok} ok, {counts.Broken} broken, {counts.Skipped} skipped"));
        w.Write(Line("Entries:", $"{view.Missing.Count} missing, {view.Stale.Count} stale, {view.Foreign.Count} foreign{(view.Foreign.Count > 0 && !wide ? " (listed with -o wide)" : "")}"));
        w.Write(Line("nftables:", status.NftError ?? (status.NftTables.Count == 0 ? "no tables" : string.Join(", ", status.NftTables))));
        w.Write(Line("overlayd:", HealthLine(status.Health)));

        if (view.Peers.Count > 0)
        {
            w.Write('\n');
            var table = new TableWriter("SUBNET", "PUBLIC IP", "VTEP MAC", "ROUTE", "NEIGHBOUR", "FDB", "STATE");
            foreach (PeerCheck peer in view.Peers)
            {
                table.Add(
                    peer.Subnet.ToString(),
                    PublicIP(peer) ?? "-",
                    VtepMac(peer) ?? "-",
                    Cell(peer, peer.Route),
                    Cell(peer, peer.Neighbour),
                    Cell(peer, peer.Fdb),
                    peer.State == PeerState.Skipped ? "skipped: " + peer.Reason : Name(peer.State));
            }

            table.WriteTo(w);
        }

        if (wide)
        {
            WriteEntries(w, "Missing", view.Missing);
            WriteEntries(w, "Stale", view.Stale);
            WriteEntries(w, "Foreign (on overlayd's devices, for no lease in etcd)", view.Foreign);
        }

        w.Write('\n');
        foreach (string problem in view.Problems)
        {
            w.Write($"Problem: {problem}\n");
        }

        w.Write(view.Matches
            ? "Result: the kernel matches etcd\n"
            : $"Result: the kernel does not match etcd{Summary(view)}{(wide ? "" : "; see -o wide")}\n");
    }

    public static NodeStatusJson ToJson(NodeStatus status, DateTimeOffset now)
    {
        NodeView view = status.View;
        PeerCounts counts = Count(view);
        return new NodeStatusJson(
            view.Matches,
            status.Netns,
            view.Own is null ? null : LeaseView.ToJson(view.Own, now),
            view.OwnFoundBy,
            view.Devices.Select(DeviceToJson).ToList(),
            view.Problems,
            new NodeCountsJson(counts.Peers, counts.Ok, counts.Broken, counts.Skipped, view.Missing.Count, view.Stale.Count, view.Foreign.Count),
            view.Peers.Select(p => new PeerJson(
                p.Subnet.ToString(), p.Lease.Subnet.ToString(), FamilyName(p.Family), PublicIP(p), VtepMac(p), Name(p.State), p.Reason,
                ToJson(p.Route), ToJson(p.Neighbour), ToJson(p.Fdb))).ToList(),
            view.Missing.Select(e => ToJson(e)!).ToList(),
            view.Stale.Select(e => ToJson(e)!).ToList(),
            view.Foreign.Select(e => ToJson(e)!).ToList(),
            new NftJson(status.NftTables, status.NftError),
            status.Health is { } health ? ToJson(health) : null);
    }

    private static DeviceJson DeviceToJson(DeviceCheck device) => new(
        device.Family.DeviceName,
        device.Present,
        device.Link?.Index,
        device.Link?.Vxlan?.Vni,
        device.Link?.Mac?.ToString(),
        device.Link?.Mtu,
        device.Link?.Vxlan?.Local?.ToString(),
        device.Link?.Vxlan?.Port,
        device.Link?.IsUp,
        device.Addresses,
        device.Problems);

    public static EntryJson? ToJson(EntryCheck? entry) => entry is null
        ? null
        : new EntryJson(KindName(entry.Kind), Name(entry.Status), entry.Expected, entry.Actual, entry.Lease?.ToString());

    public static OverlaydJson ToJson(HealthReading health)
    {
        double? M(string name) => health.Metric(name) is { } v && double.IsFinite(v) ? v : null;
        return new OverlaydJson(
            health.Url.ToString(),
            health.Reachable,
            health.Error,
            health.Ready,
            health.ReadyText,
            health.Reachable
                ? new MetricsJson(M("overlay_ready"), M("overlay_peers_programmed"), M("overlay_leases_skipped"), M("overlay_repairs_total"),
                    M("overlay_etcd_reachable"), M("overlay_etcd_errors_total"), M("overlay_lease_expiry_seconds"),
                    M("overlay_reconcile_last_duration_seconds"), M("overlay_watch_lag_seconds"))
                : null);
    }

    public static string KindName(EntryKind kind) => kind switch
    {
        EntryKind.Route => "route",
        EntryKind.Neighbour => "neighbour",
        _ => "fdb",
    };

    public static string Name(EntryStatus status) => status.ToString().ToLowerInvariant();

    public static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4";

    private static string Name(PeerState state) => state.ToString().ToLowerInvariant();

    private sealed record PeerCounts(int Peers, int Ok, int Broken, int Skipped);

    /// <summary>Per lease (a dual-stack lease is broken when either half is).</summary>
    private static PeerCounts Count(NodeView view)
    {
        var byLease = view.Peers.GroupBy(p => p.Lease.Subnet).ToList();
        int broken = byLease.Count(g => g.Any(p => p.State == PeerState.Broken));
        int skipped = byLease.Count(g => g.All(p => p.State == PeerState.Skipped));
        return new PeerCounts(byLease.Count, byLease.Count - broken - skipped, broken, skipped);
    }

    private static string Summary(NodeView view)
    {
        var parts = new List<string>();
        if (view.Problems.Count > 0)
        {
            parts.Add(Plural(view.Problems.Count, "problem"));
        }

        if (view.Missing.Count > 0)
        {
            parts.Add($"{view.Missing.Count} missing");
        }

        if (view.Stale.Count > 0)
        {
            parts.Add($"{view.Stale.Count} stale");
        }

        if (view.Foreign.Count > 0)
        {
            parts.Add($"{view.Foreign.Count} foreign");
        }

        return parts.Count == 0 ? "" : ": " + string.Join(", ", parts);
    }

    private static string Plural(int count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";

    private static string DeviceLine(DeviceCheck device)
    {
        if (device.Link is not { } link)
        {
            return $"{device.Family.DeviceName} missing";
        }

        string vxlan = link.Vxlan is { } v ? $"VNI {v.Vni}, local {v.Local?.ToString() ?? "none"}, port {v.Port}, " : "";
        string addresses = device.Addresses.Count == 0 ? "no address" : string.Join(" ", device.Addresses);
        string verdict = device.Problems.Count == 0 ? "ok" : string.Join("; ", device.Problems);
        return $"{link.Name} {vxlan}MAC {link.Mac?.ToString() ?? "none"}, MTU {link.Mtu}, {(link.IsUp ? "up" : "down")}, {addresses}: {verdict}";
    }

    private static string HealthLine(HealthReading? health)
    {
        if (health is null)
        {
            return "not asked (--health-url off)";
        }

        if (!health.Reachable)
        {
            return $"{health.Url} not reachable: {health.Error}";
        }

        var facts = new List<string> { health.Ready == true ? "ready" : $"not ready ({health.ReadyText})" };
        if (health.Metric("overlay_peers_programmed") is { } peers)
        {
            facts.Add($"{peers.ToString(CultureInfo.InvariantCulture)} peers programmed");
        }

        if (health.Metric("overlay_leases_skipped") is { } skipped)
        {
            facts.Add($"{skipped.ToString(CultureInfo.InvariantCulture)} leases skipped");
        }

        if (health.Metric("overlay_repairs_total") is { } repairs)
        {
            facts.Add($"{repairs.ToString(CultureInfo.InvariantCulture)} repairs");
        }

        if (health.Metric("overlay_etcd_reachable") is { } etcd)
        {
            facts.Add(etcd == 1 ? "etcd reachable" : "etcd unreachable");
        }

        if (health.Metric("overlay_reconcile_last_duration_seconds") is { } reconcile)
        {
            facts.Add($"last reconcile {(reconcile * 1000).ToString("0.#", CultureInfo.InvariantCulture)} ms");
        }

        return $"{health.Url} {string.Join(", ", facts)}";
    }

    private static string Cell(PeerCheck peer, EntryCheck? entry) =>
        peer.State == PeerState.Skipped ? "-" : entry is null ? "n/a" : Name(entry.Status);

    private static string? PublicIP(PeerCheck peer) =>
        peer.Family == AddressFamily.InterNetworkV6 ? peer.Lease.Attributes.PublicIPv6 : peer.Lease.Attributes.PublicIP;

    private static string? VtepMac(PeerCheck peer) =>
        (peer.Family == AddressFamily.InterNetworkV6 ? peer.Lease.Attributes.BackendV6Data : peer.Lease.Attributes.BackendData)?.VtepMac;

    private static void WriteEntries(TextWriter w, string title, IReadOnlyList<EntryCheck> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        w.Write($"\n{title}:\n");
        foreach (EntryCheck entry in entries)
        {
            string kind = KindName(entry.Kind);
            string lease = entry.Lease is { } l ? $" (lease {NodeComparison.LeaseName(l)})" : "";
            w.Write(entry.Status switch
            {
                EntryStatus.Missing when entry.Actual is not null => $"  {kind} {entry.Expected}{lease}; the kernel has {entry.Actual} instead\n",
                EntryStatus.Missing => $"  {kind} {entry.Expected}{lease}\n",
                EntryStatus.Stale => $"  {kind} {entry.Actual}{lease}; should be {entry.Expected}\n",
                _ => $"  {kind} {entry.Actual}\n",
            });
        }
    }
}
