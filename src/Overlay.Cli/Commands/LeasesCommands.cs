using System.Net;
using System.Net.Sockets;
using Overlay.Cli.Inspection;
using Overlay.Cli.Output;
using Overlay.Core.Addressing;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Leases;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;

namespace Overlay.Cli.Commands;

/// <summary><c>overlayctl leases ...</c>: list, get, watch, reserve, release, gc.</summary>
internal static class LeasesCommands
{
    public static async Task<int> ListAsync(CliContext c, CancellationToken ct)
    {
        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: true, ct);
        DateTimeOffset now = c.Now;
        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(LeaseView.ToJson(snapshot, now)));
            return 0;
        }

        WarnSkipped(c, snapshot.Skipped);
        if (snapshot.Leases.Count == 0)
        {
            c.Err.Write($"No leases under {SubnetKey.SubnetsPrefix(c.Prefix)}\n");
            return 0;
        }

        LeaseView.WriteTable(c.Out, snapshot.Leases, now, wide: c.Output == "wide");
        return 0;
    }

    public static async Task<int> GetAsync(CliContext c, CancellationToken ct)
    {
        SubnetArgument subnet = SubnetArgument.Parse(c.Arguments[0]);
        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: true, ct);
        Lease lease = Single(c, snapshot, subnet);
        DateTimeOffset now = c.Now;
        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(LeaseView.ToJson(lease, now)));
        }
        else
        {
            LeaseView.WriteTable(c.Out, [lease], now, wide: c.Output == "wide");
        }

        return 0;
    }

    public static async Task<int> WatchAsync(CliContext c, CancellationToken ct)
    {
        bool json = c.Output == "json";
        bool watchOnly = c.Flag(CommandLine.Flags.WatchOnly);

        // Fail fast (exit 1, with the endpoints tried) when etcd is unreachable; once running, the watch rides out outages.
        LeaseSnapshot present = await c.Store.ListAsync(withExpiration: false, ct);
        int ownerWidth = LeaseView.WatchOwnerWidth(present.Leases);
        var watcher = new LeaseWatcher(c.Store.Session, new StderrLogger<LeaseWatcher>(c.Err));
        if (!json)
        {
            c.Out.Write(LeaseView.WatchHeader(ownerWidth) + "\n");
        }

        // Once watching, an interrupt (SIGINT, SIGTERM) is how a watch ends: exit 0, wherever it lands, the
        // flush after a printed line included.
        try
        {
            bool first = true;
            await foreach (LeaseUpdate update in watcher.WatchAsync(ct))
            {
                bool initial = first && update.IsResync;
                first = false;
                if (initial && watchOnly)
                {
                    continue;
                }

                foreach (LeaseChange change in update.Changes.OrderBy(ch => IPAddressMath.First(ch.Subnet.IPv4)))
                {
                    c.Out.Write(json
                        ? Json.Line(LeaseView.ToWatchJson(change, update.Revision, initial, c.Now))
                        : LeaseView.WatchLine(change, ownerWidth) + "\n");
                }

                await c.Out.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }

        return 0;
    }

    public static async Task<int> ReserveAsync(CliContext c, CancellationToken ct)
    {
        SubnetArgument subnet = SubnetArgument.Parse(c.Arguments[0]);
        string publicIPText = c.Flag(CommandLine.Flags.PublicIP)
            ?? throw new UsageException($"'leases reserve' needs --public-ip: the IPv4 address of the node {subnet} is reserved for (e.g. --public-ip 192.0.2.11)") { CommandPath = "leases reserve" };
        IPAddress publicIP = Address("public-ip", publicIPText, AddressFamily.InterNetwork);
        IPAddress? publicIPv6 = c.Flag(CommandLine.Flags.PublicIPv6) is { } v6Text ? Address("public-ipv6", v6Text, AddressFamily.InterNetworkV6) : null;
        string? mac = null;
        if (c.Flag(CommandLine.Flags.VtepMac) is { } macText)
        {
            mac = VtepMac.TryParse(macText, out byte[] bytes)
                ? VtepMac.Format(bytes)
                : throw new UsageException($"flag --vtep-mac: '{macText}' is not a MAC address; give six colon-separated hex bytes such as 0e:2a:11:22:33:44") { CommandPath = "leases reserve" };
        }

        string? owner = c.Flag(CommandLine.Flags.Owner);
        if (owner is { Length: 0 })
        {
            throw new UsageException("flag --owner is empty: give the node's owner id (overlayd --node-name), or leave the flag out") { CommandPath = "leases reserve" };
        }

        NetworkConfig config = await ConfigCommands.StoredConfigAsync(c, "a reservation must fit the network config", ct);
        SubnetKey key = subnet.Key;
        if (!SubnetAllocator.Fits(config, key))
        {
            string dualStack = config.IPv6 is not null && !subnet.HasIPv6
                ? "; the network is dual-stack, so give both halves, e.g. 198.18.34.0-24&2001:db8:0:22::-64"
                : "";
            throw new CommandFailedException($"{subnet} is outside the network config ({ConfigView.Summary(config)}); reserve a subnet in that range, or change the config first{dualStack}");
        }

        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: false, ct);
        Lease? existing = snapshot.Leases.FirstOrDefault(l => l.Subnet == key);
        Lease? overlapping = snapshot.Leases.FirstOrDefault(l => l.Subnet != key && SubnetAllocator.Overlaps(l.Subnet, key));
        if (overlapping is not null)
        {
            throw new CommandFailedException($"cannot reserve {subnet}: it overlaps {overlapping.Subnet.ToString().Replace('-', '/')} held by {LeaseView.Holder(overlapping)}");
        }

        if (existing is not null && !SameNode(existing, publicIP, owner))
        {
            throw new CommandFailedException($"cannot reserve {subnet}: it is held by {LeaseView.Holder(existing)}; if that node is gone, release it first with 'overlayctl leases release {subnet}'");
        }

        var attributes = new LeaseAttributes
        {
            PublicIP = publicIP.ToString(),
            PublicIPv6 = publicIPv6?.ToString(),
            BackendType = BackendConfig.VxlanType,
            BackendData = mac is null ? null : new VxlanBackendData { Vni = config.Backend.Vni, VtepMac = mac },
            OwnerId = owner,
        };
        if (existing is not null && existing.Attributes.PublicIP == attributes.PublicIP)
        {
            // Pinning a running node's own lease: keep what it published, so it recognises the reservation as its own.
            attributes = attributes with
            {
                PublicIPv6 = attributes.PublicIPv6 ?? existing.Attributes.PublicIPv6,
                BackendData = attributes.BackendData ?? existing.Attributes.BackendData,
                BackendV6Data = existing.Attributes.BackendV6Data,
                OwnerId = attributes.OwnerId ?? existing.Attributes.OwnerId,
            };
        }

        try
        {
            await c.Store.ReserveAsync(key, attributes, ct);
        }
        catch (SubnetHeldException e)
        {
            throw new CommandFailedException($"{e.Message}; if that node is gone, release it first with 'overlayctl leases release {subnet}'");
        }

        var reserved = new Lease(key, attributes, Lease.NoEtcdLease);
        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(LeaseView.ToJson(reserved, c.Now)));
        }
        else
        {
            string was = existing is null ? "" : existing.IsReservation ? "; it replaces the earlier reservation" : "; it was that node's lease and now never expires";
            c.Out.Write($"reserved {subnet} for {LeaseView.Holder(reserved)}{was}\n");
        }

        return 0;
    }

    public static async Task<int> ReleaseAsync(CliContext c, CancellationToken ct)
    {
        SubnetArgument subnet = SubnetArgument.Parse(c.Arguments[0]);
        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: false, ct);
        Lease lease = Single(c, snapshot, subnet);
        string what = lease.IsReservation ? "the reservation " : "";
        string shown = lease.Subnet.ToString().Replace('-', '/');
        if (!c.Flag(CommandLine.Flags.Yes))
        {
            c.Err.Write($"Release {what}{shown} held by {LeaseView.Holder(lease)}? [y/N] ");
            await c.Err.FlushAsync(ct);
            string? answer = await c.In.ReadLineAsync(ct);
            if (answer is null)
            {
                c.Err.Write("\n");
                throw new CommandFailedException($"not releasing {shown}: no answer on stdin (not interactive?); pass --yes to release without asking");
            }

            if (answer.Trim().ToLowerInvariant() is not ("y" or "yes"))
            {
                throw new CommandFailedException($"not releasing {shown}: not confirmed");
            }
        }

        switch (await c.Store.ReleaseIfUnchangedAsync(lease.Subnet, snapshot.Revision, ct))
        {
            case ReleaseOutcome.Released:
                c.Out.Write($"released {what}{shown} (held by {LeaseView.Holder(lease)})\n");
                return 0;
            case ReleaseOutcome.Missing:
                c.Out.Write($"{shown} is already gone\n");
                return 0;
            default:
                throw new CommandFailedException($"not releasing {shown}: it changed since it was read (renewed, or taken by another node); run the command again to see it as it is now");
        }
    }

    public static async Task<int> GcAsync(CliContext c, CancellationToken ct)
    {
        IReadOnlyList<SubnetArgument> named = c.Arguments.Select(SubnetArgument.Parse).ToList();
        TimeSpan margin = c.RenewMargin;
        bool apply = c.Flag(CommandLine.Flags.Apply);
        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: true, ct);
        foreach (SubnetArgument subnet in named)
        {
            _ = Single(c, snapshot, subnet);
        }

        DateTimeOffset now = c.Now;
        IReadOnlyList<AbandonedLease> candidates = AbandonedLeases.Find(snapshot.Leases, now, margin, named);
        var results = new Dictionary<SubnetKey, string>();
        if (apply)
        {
            foreach (AbandonedLease candidate in candidates)
            {
                results[candidate.Lease.Subnet] = await c.Store.ReleaseIfUnchangedAsync(candidate.Lease.Subnet, snapshot.Revision, ct) switch
                {
                    ReleaseOutcome.Released => "released",
                    ReleaseOutcome.Missing => "gone",
                    _ => "changed",
                };
            }
        }

        if (c.Output == "json")
        {
            var json = new GcJson(apply, (long)margin.TotalSeconds, candidates
                .Select(a => new GcCandidateJson(LeaseView.ToJson(a.Lease, now), a.Reasons, results.GetValueOrDefault(a.Lease.Subnet)))
                .ToList());
            c.Out.Write(Json.Document(json));
            return 0;
        }

        WarnSkipped(c, snapshot.Skipped);
        if (candidates.Count == 0)
        {
            c.Out.Write($"No leases look abandoned (renew margin {HumanDuration.Format(margin)}).\n");
            return 0;
        }

        var table = apply
            ? new TableWriter("SUBNET", "PUBLIC IP", "OWNER", "EXPIRES IN", "RESULT", "WHY")
            : new TableWriter("SUBNET", "PUBLIC IP", "OWNER", "EXPIRES IN", "WHY");
        foreach (AbandonedLease candidate in candidates)
        {
            Lease lease = candidate.Lease;
            string[] cells = [lease.Subnet.ToString().Replace('-', '/'), lease.Attributes.PublicIP, lease.Attributes.OwnerId ?? LeaseView.None, LeaseView.ExpiresIn(lease, now)];
            string why = string.Join("; ", candidate.Reasons);
            table.Add(apply ? [.. cells, ResultText(results[lease.Subnet]), why] : [.. cells, why]);
        }

        table.WriteTo(c.Out);
        if (!apply)
        {
            string again = string.Join(" ", ["overlayctl leases gc", .. c.Arguments, .. c.Flag(CommandLine.Flags.RenewMargin) is { } m ? [$"--renew-margin={m}"] : Array.Empty<string>(), "--apply"]);
            c.Out.Write($"\n{candidates.Count} {(candidates.Count == 1 ? "lease looks" : "leases look")} abandoned; nothing was removed. To remove {(candidates.Count == 1 ? "it" : "them")}: {again}\n");
        }

        return 0;
    }

    /// <summary>The store's rule for replacing a key with a reservation: same owner id, or same public IP where either has none.</summary>
    private static bool SameNode(Lease existing, IPAddress publicIP, string? owner) =>
        existing.Attributes.OwnerId is { } held && owner is not null
            ? held == owner
            : existing.Attributes.PublicIP == publicIP.ToString();

    private static string ResultText(string result) => result switch
    {
        "released" => "released",
        "gone" => "already gone",
        _ => "kept: changed since listed",
    };

    /// <summary>The one lease the argument names; fails when none (or, for an IPv4-only argument, several dual-stack ones) match.</summary>
    private static Lease Single(CliContext c, LeaseSnapshot snapshot, SubnetArgument subnet)
    {
        List<Lease> matches = snapshot.Leases.Where(l => subnet.Matches(l.Subnet)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new CommandFailedException($"no lease or reservation for {subnet} under {SubnetKey.SubnetsPrefix(c.Prefix)}; 'overlayctl leases list' shows what there is"),
            _ => throw new CommandFailedException($"{subnet} is held under several keys ({string.Join(", ", matches.Select(m => m.Subnet))}); name one with the dual-stack key form"),
        };
    }

    private static void WarnSkipped(CliContext c, IReadOnlyList<SkippedEntry> skipped)
    {
        foreach (SkippedEntry entry in skipped)
        {
            c.Warn($"skipped {entry.Key}: {entry.Reason}");
        }
    }

    private static IPAddress Address(string flag, string text, AddressFamily family)
    {
        if (!IPAddressMath.TryParseAddress(text, out IPAddress? address) || address.AddressFamily != family)
        {
            string expected = family == AddressFamily.InterNetwork ? "an IPv4 address such as 192.0.2.11" : "an IPv6 address such as 2001:db8::11";
            throw new UsageException($"flag --{flag}: '{text}' is not valid; give {expected}") { CommandPath = "leases reserve" };
        }

        return address;
    }
}
