using Overlay.Leases.Store;
using Overlay.Leases.Watching;

namespace Overlay.Daemon.Hosting.Loop;

/// <summary>What woke a component. Kinds are flags so that a coalesced batch is one value.</summary>
[Flags]
public enum Triggers
{
    None = 0,

    /// <summary>The lease set in etcd changed (<see cref="LeaseUpdate"/>s ride along).</summary>
    Leases = 1 << 0,

    /// <summary>Someone deleted one of overlayd's routes, neighbours or FDB entries.</summary>
    Kernel = 1 << 1,

    /// <summary>A VXLAN device was deleted or changed (MAC, MTU, state, address).</summary>
    Device = 1 << 2,

    /// <summary>The periodic backstop (<c>--resync-interval</c>), or the kernel monitor lost notifications.</summary>
    Resync = 1 << 3,

    /// <summary>This node's own lease was renewed or moved.</summary>
    OwnLease = 1 << 4,

    /// <summary>Time to check that the nftables tables are as overlayd left them.</summary>
    Rules = 1 << 5,

    /// <summary>Time to tell systemd the loop is alive.</summary>
    Watchdog = 1 << 6,

    /// <summary>The device component recreated a device or changed its address: every entry on it is gone.</summary>
    DeviceRebuilt = 1 << 7,

    /// <summary>A component's previous pass failed; it asked to run again.</summary>
    Retry = 1 << 8,

    /// <summary>The housekeeping tick (status line, giving memory back once things are quiet).</summary>
    Housekeeping = 1 << 9,

    /// <summary>The service registry changed: services or pods in etcd (<see cref="PrefixUpdate"/>s ride along).</summary>
    Services = 1 << 10,

    /// <summary>The pods folder changed (a CNI ADD or DEL), or its periodic rescan.</summary>
    PodFiles = 1 << 11,

    /// <summary>A departed peer's grace ended (<c>DepartureGrace</c>): remove its entries unless its lease came back.</summary>
    Departures = 1 << 12,
}

/// <summary>
/// One wake-up: its kind, and for <see cref="Triggers.Leases"/> the update and when it arrived; for
/// <see cref="Triggers.Services"/> the registry update.
/// </summary>
public readonly record struct Trigger(Triggers Kind, LeaseUpdate? Update = null, long ReceivedAt = 0, PrefixUpdate? Registry = null);

/// <summary>Everything that was queued for a component when its pass began, coalesced.</summary>
public sealed class TriggerBatch
{
    private readonly List<LeaseUpdate> _updates = [];
    private List<PrefixUpdate>? _registry;

    public Triggers Kinds { get; private set; }

    /// <summary>The lease updates in the order they arrived.</summary>
    public IReadOnlyList<LeaseUpdate> LeaseUpdates => _updates;

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp of the oldest lease update; 0 when there is none.</summary>
    public long OldestUpdateAt { get; private set; }

    public bool AnyLeaseResync => _updates.Exists(u => u.IsResync);

    /// <summary>The service registry updates in the order they arrived.</summary>
    public IReadOnlyList<PrefixUpdate> RegistryUpdates => (IReadOnlyList<PrefixUpdate>?)_registry ?? [];

    public static TriggerBatch Of(params ReadOnlySpan<Trigger> triggers)
    {
        var batch = new TriggerBatch();
        foreach (Trigger trigger in triggers)
        {
            batch.Add(trigger);
        }

        return batch;
    }

    public void Add(Trigger trigger)
    {
        Kinds |= trigger.Kind;
        if (trigger.Update is { } update)
        {
            _updates.Add(update);
            if (OldestUpdateAt == 0)
            {
                OldestUpdateAt = trigger.ReceivedAt;
            }
        }

        if (trigger.Registry is { } registry)
        {
            (_registry ??= []).Add(registry);
        }
    }

    public bool Has(Triggers kind) => (Kinds & kind) != 0;

    public override string ToString() => Kinds.ToString().Replace(", ", "+", StringComparison.Ordinal);
}
