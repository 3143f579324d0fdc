using System.Globalization;
using Overlay.Cli.Output;
using Overlay.Core.Addressing;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Leases;
using Overlay.Leases.Store;

namespace Overlay.Cli.Inspection;

/// <summary>What <c>overlayctl status</c> reports, computed from the config and the leases (pure).</summary>
internal sealed record NetworkStatus(
    string Prefix,
    NetworkConfig Config,
    long TotalSubnets,
    int UsedSubnets,
    int LeaseCount,
    TimeSpan RenewMargin,
    IReadOnlyList<Lease> ExpiringSoon,
    IReadOnlyList<Lease> Reservations,
    IReadOnlyList<Lease> OutsideConfig,
    IReadOnlyList<SkippedEntry> Skipped)
{
    public long FreeSubnets => TotalSubnets - UsedSubnets;

    public static NetworkStatus Compute(string prefix, NetworkConfig config, LeaseSnapshot snapshot, DateTimeOffset now, TimeSpan renewMargin)
    {
        IReadOnlyList<Lease> leases = LeaseView.Sorted(snapshot.Leases);
        return new NetworkStatus(
            prefix,
            config,
            SubnetCount(config),
            leases.Where(l => SubnetAllocator.Fits(config, l.Subnet)).Select(l => l.Subnet.IPv4).Distinct().Count(),
            leases.Count,
            renewMargin,
            leases.Where(l => !l.IsReservation && (l.Expiration is not { } e || e - now < renewMargin)).ToList(),
            leases.Where(l => l.IsReservation).ToList(),
            leases.Where(l => !SubnetAllocator.Fits(config, l.Subnet)).ToList(),
            snapshot.Skipped);
    }

    /// <summary>How many IPv4 subnets lie between SubnetMin and SubnetMax.</summary>
    public static long SubnetCount(NetworkConfig config)
    {
        UInt128 size = IPAddressMath.BlockSize(config.Network.BaseAddress.AddressFamily, config.SubnetLen);
        UInt128 span = IPAddressMath.ToUInt128(config.SubnetMax) - IPAddressMath.ToUInt128(config.SubnetMin);
        return (long)(span / size) + 1;
    }

    public void WriteText(TextWriter writer, DateTimeOffset now)
    {
        string Line(string label, string value) => $"{label,-14}{value}\n";
        writer.Write(Line("Prefix:", Prefix));
        writer.Write(Line("Network:", $"{Config.Network}, /{Config.SubnetLen} subnets from {Config.SubnetMin} to {Config.SubnetMax}"));
        if (Config.IPv6 is { } v6)
        {
            writer.Write(Line("IPv6 network:", $"{v6.Network}, /{v6.SubnetLen} subnets from {v6.SubnetMin} to {v6.SubnetMax}"));
        }

        BackendConfig backend = Config.Backend;
        writer.Write(Line("Backend:", $"vxlan, VNI {backend.Vni}, port {backend.EffectivePort}{(backend.DirectRouting ? ", direct routing" : "")}"));
        writer.Write(Line("Subnets:", $"{UsedSubnets} used, {FreeSubnets} free of {TotalSubnets}"));
        writer.Write(Line("Leases:", $"{Plural(LeaseCount - Reservations.Count, "lease")}, {Plural(Reservations.Count, "reservation")}"));
        writer.Write('\n');

        writer.Write($"Expiring within the renew margin ({HumanDuration.Format(RenewMargin)}): {Count(ExpiringSoon)}\n");
        WriteLeases(writer, ExpiringSoon, now);
        writer.Write($"Reservations: {Count(Reservations)}\n");
        WriteLeases(writer, Reservations, now);
        if (OutsideConfig.Count > 0)
        {
            writer.Write($"Outside the network config (their owners give them up on restart): {Count(OutsideConfig)}\n");
            WriteLeases(writer, OutsideConfig, now);
        }

        if (Skipped.Count > 0)
        {
            writer.Write($"Not leases (skipped): {Count(Skipped)}\n");
            foreach (SkippedEntry skipped in Skipped)
            {
                writer.Write($"  {skipped.Key}: {skipped.Reason}\n");
            }
        }
    }

    public StatusJson ToJson(DateTimeOffset now) => new(
        Prefix,
        ConfigView.ToJson(Config),
        new SubnetCountJson(TotalSubnets, UsedSubnets, FreeSubnets),
        LeaseCount - Reservations.Count,
        (long)RenewMargin.TotalSeconds,
        ExpiringSoon.Select(l => LeaseView.ToJson(l, now)).ToList(),
        Reservations.Select(l => LeaseView.ToJson(l, now)).ToList(),
        OutsideConfig.Select(l => LeaseView.ToJson(l, now)).ToList(),
        LeaseView.Skipped(Skipped));

    private static string Plural(int count, string noun) => $"{count} {noun}{(count == 1 ? "" : "s")}";

    private static string Count<T>(IReadOnlyCollection<T> items) => items.Count == 0 ? "none" : items.Count.ToString(CultureInfo.InvariantCulture);

    private static void WriteLeases(TextWriter writer, IReadOnlyList<Lease> leases, DateTimeOffset now)
    {
        if (leases.Count == 0)
        {
            return;
        }

        var indented = new StringWriter();
        LeaseView.WriteTable(indented, leases, now, wide: false);
        foreach (string line in indented.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            writer.Write("  " + line + "\n");
        }
    }
}
