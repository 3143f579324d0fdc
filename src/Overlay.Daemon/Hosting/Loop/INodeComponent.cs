namespace Overlay.Daemon.Hosting.Loop;

/// <summary>
/// A part of overlayd that reacts to triggers: the peers' kernel entries, the VXLAN devices, the nftables
/// rules, subnet.env, health. Each component runs in its own lane of <see cref="NodeLoop"/>: triggers queued
/// while a pass runs are coalesced into the next pass, and a slow pass holds up only its own component.
/// </summary>
public interface INodeComponent
{
    /// <summary>For logs: what the component keeps (<c>peers</c>, <c>devices</c>, <c>rules</c>…).</summary>
    string Name { get; }

    /// <summary>The trigger kinds that wake this component.</summary>
    Triggers Wants { get; }

    /// <summary>
    /// One pass over the coalesced triggers, usually <c>PassPlanner.Plan(batch, state)</c> and then the
    /// component's part of the plan. An <see cref="NodeLoop.IsRetryable"/> failure is logged and the pass runs
    /// again after a pause; any other exception stops overlayd.
    /// </summary>
    ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct);
}

/// <summary>Something that produces triggers for as long as overlayd runs: a watch, a monitor, a timer.</summary>
public interface ITriggerSource
{
    Task RunAsync(ITriggerSink sink, CancellationToken ct);
}

/// <summary>Where triggers go: to every component that wants their kind.</summary>
public interface ITriggerSink
{
    void Publish(Trigger trigger);
}
