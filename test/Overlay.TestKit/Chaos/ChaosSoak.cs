using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Overlay.TestKit.Chaos;

/// <summary>How long a <see cref="ChaosSoak"/> runs, with which seed, and which faults it injects.</summary>
public sealed class ChaosSoakOptions
{
    /// <summary>How long to inject faults; a slow machine still finishes the first round, so every kind is injected once.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Chooses the order of the faults and their victims; the same seed on the same cluster replays a run.</summary>
    public int Seed { get; init; }

    /// <summary>The quiet time after a fault's repair before the next fault.</summary>
    public TimeSpan SettleGap { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>The faults to inject: in rounds, each round every kind once in an order drawn from the seed.</summary>
    public IReadOnlyList<FaultKind> Kinds { get; init; } = Enum.GetValues<FaultKind>();

    /// <summary>How long after the last fault every node's kernel must equal etcd's lease set.</summary>
    public TimeSpan EndCheckBound { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Restarts etcd for <see cref="FaultKind.EtcdRestart"/>; null: the cluster's single etcd.</summary>
    public Func<Task<string>>? RestartEtcd { get; init; }

    /// <summary>Called with each fault as soon as it is repaired (or given up on), for progress output.</summary>
    public Action<InjectedFault>? Progress { get; init; }
}

/// <summary>
/// The chaos soak: on a running <see cref="OverlayCluster"/> with a pod on every node, every pod pings every other pod
/// (<see cref="PodPings"/>) while a <see cref="FaultInjector"/> injects one fault after another for
/// <see cref="ChaosSoakOptions.Duration"/>, each followed by its repair and a settle gap. Each echo is attributed to the
/// fault injected last before it was sent, so loss is counted per fault type. At the end, every node's kernel must equal
/// etcd's lease set within <see cref="ChaosSoakOptions.EndCheckBound"/>.
/// </summary>
public static class ChaosSoak
{
    /// <summary>
    /// A cluster ready for a soak: overlayd with <c>--ip-masq</c> (so there is an nftables table to flush), a pod on
    /// every node, and every pod answering every other; etcd a cluster of <paramref name="etcdMembers"/> (1: a single etcd).
    /// </summary>
    public static async Task<OverlayCluster> StartClusterAsync(string overlayd, int nodes = 3, int etcdMembers = 3, CancellationToken ct = default)
    {
        OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = overlayd,
            Nodes = nodes,
            EtcdMembers = etcdMembers,
            DaemonArgs = ["--ip-masq", "--resync-interval", "30s"],
        }, ct).ConfigureAwait(false);
        try
        {
            foreach (ClusterNode node in cluster.Nodes)
            {
                node.WaitForSubnetFile(TimeSpan.FromSeconds(120)); // a loaded machine starts three overlayd slowly
                node.AddPod();
            }

            bool connected = Poll.Until(
                () => cluster.Nodes.All(a => cluster.Nodes.Where(b => b != a).All(b => a.Pod!.Ping(b.PodAddress, timeoutSeconds: 0.5))),
                TimeSpan.FromSeconds(60));
            if (!connected)
            {
                throw new TimeoutException("the pods do not all reach each other before the soak");
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public static async Task<ChaosSoakReport> RunAsync(OverlayCluster cluster, ChaosSoakOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        var random = new Random(options.Seed);
        var injector = new FaultInjector(cluster, random) { RestartEtcd = options.RestartEtcd };
        var faults = new List<InjectedFault>();
        await using PodPings pings = PodPings.Start(cluster.Nodes);
        long started = Stopwatch.GetTimestamp();
        // A quiet gap first: the loss of an unharmed cluster, the baseline.
        await Task.Delay(options.SettleGap, ct).ConfigureAwait(false);
        var round = new Queue<FaultKind>();
        while (Stopwatch.GetElapsedTime(started) < options.Duration || faults.Count < options.Kinds.Count)
        {
            if (round.Count == 0)
            {
                FaultKind[] kinds = [.. options.Kinds];
                random.Shuffle(kinds);
                kinds.ToList().ForEach(round.Enqueue);
            }

            InjectedFault fault = await injector.InjectAsync(round.Dequeue(), ct).ConfigureAwait(false);
            faults.Add(fault);
            options.Progress?.Invoke(fault);
            await Task.Delay(options.SettleGap, ct).ConfigureAwait(false);
        }

        IReadOnlyList<Probe> probes = await pings.StopAsync().ConfigureAwait(false);
        long lastEnded = faults.Count > 0 ? faults[^1].Ended : started;
        IReadOnlyList<string> endDifferences = KernelAgreement.Differences(cluster, cluster.Nodes);
        var checkClock = Stopwatch.StartNew();
        while (endDifferences.Count > 0 && checkClock.Elapsed < options.EndCheckBound)
        {
            await Task.Delay(20, ct).ConfigureAwait(false);
            endDifferences = KernelAgreement.Differences(cluster, cluster.Nodes);
        }

        return new ChaosSoakReport(options.Seed, Stopwatch.GetElapsedTime(started), faults, probes, endDifferences,
            Stopwatch.GetElapsedTime(lastEnded));
    }
}

/// <summary>What a <see cref="ChaosSoak"/> did and saw.</summary>
/// <param name="EndDifferences">How the kernels still differed from etcd at the end check; empty when they matched.</param>
/// <param name="EndCheckAfterLastFault">From the end of the last fault to the end check's verdict.</param>
public sealed record ChaosSoakReport(
    int Seed, TimeSpan Elapsed, IReadOnlyList<InjectedFault> Faults, IReadOnlyList<Probe> Probes,
    IReadOnlyList<string> EndDifferences, TimeSpan EndCheckAfterLastFault)
{
    /// <summary>The echoes of each fault's window: from its start to the next fault's start (or the end of the pings).</summary>
    public IReadOnlyList<(InjectedFault Fault, IReadOnlyList<Probe> Probes)> Windows
    {
        get
        {
            var windows = Faults.Select(f => (Fault: f, Probes: new List<Probe>())).ToList();
            foreach (Probe probe in Probes)
            {
                int at = Faults.Count - 1;
                while (at >= 0 && Faults[at].Started > probe.SentAt)
                {
                    at--;
                }

                if (at >= 0)
                {
                    windows[at].Probes.Add(probe);
                }
            }

            return windows.Select(w => (w.Fault, (IReadOnlyList<Probe>)w.Probes)).ToList();
        }
    }

    /// <summary>The echoes sent before the first fault.</summary>
    public IReadOnlyList<Probe> Baseline => Probes.Where(p => Faults.Count == 0 || p.SentAt < Faults[0].Started).ToList();

    /// <summary>
    /// Every pair that lost echoes, per fault window (and before any fault: <see cref="LossRecord.Fault"/> null), split
    /// into echoes sent while an underlay link was down (during an <see cref="FaultKind.UnderlayLinkDown"/>'s injection)
    /// and the others.
    /// </summary>
    public IReadOnlyList<LossRecord> Losses
    {
        get
        {
            var losses = new List<LossRecord>();
            losses.AddRange(Baseline.Where(p => !p.Answered).GroupBy(p => $"{p.From}->{p.To}").Select(g => new LossRecord(null, g.Key, 0, g.Count())));
            foreach ((InjectedFault fault, IReadOnlyList<Probe> probes) in Windows)
            {
                losses.AddRange(probes.Where(p => !p.Answered).GroupBy(p => $"{p.From}->{p.To}").Select(g =>
                {
                    int whileDown = g.Count(p => fault.Kind == FaultKind.UnderlayLinkDown && p.SentAt <= fault.Ended);
                    return new LossRecord(fault, g.Key, whileDown, g.Count() - whileDown);
                }));
            }

            return losses;
        }
    }

    /// <summary>
    /// The issue's rule: echoes lost anywhere except while an underlay link was down, one sentence per fault and pair.
    /// </summary>
    public IReadOnlyList<string> ForbiddenLoss => Losses.Where(l => l.LostOtherwise > 0).Select(l => l.ToString(Faults.Count > 0 ? Faults[0].Started : 0)).ToList();

    /// <summary>The per-fault-type table (markdown) and the summary lines under it.</summary>
    public string Table()
    {
        var text = new StringBuilder();
        text.AppendLine("| fault | injected | kernel = etcd after (median / max) | whole again after (median / max) | echoes sent | lost | lost while link down | lost otherwise |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        IReadOnlyList<(InjectedFault Fault, IReadOnlyList<Probe> Probes)> windows = Windows;
        foreach (IGrouping<FaultKind, (InjectedFault Fault, IReadOnlyList<Probe> Probes)> kind in windows.GroupBy(w => w.Fault.Kind).OrderBy(g => g.Key))
        {
            List<Probe> probes = kind.SelectMany(w => w.Probes).ToList();
            int lost = probes.Count(p => !p.Answered);
            int whileDown = kind.Where(w => w.Fault.Kind == FaultKind.UnderlayLinkDown)
                .Sum(w => w.Probes.Count(p => !p.Answered && p.SentAt <= w.Fault.Ended));
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {kind.Key} | {kind.Count()} | {Times(kind.Select(w => w.Fault.KernelMatchTime))} | {Times(kind.Select(w => w.Fault.RepairTime))} | {probes.Count} | {lost} ({Percent(lost, probes.Count)}) | {whileDown} | {lost - whileDown} |"));
        }

        IReadOnlyList<Probe> baseline = Baseline;
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| (before any fault) | - | - | - | {baseline.Count} | {baseline.Count(p => !p.Answered)} | - | {baseline.Count(p => !p.Answered)} |"));
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"seed {Seed}, {Elapsed.TotalSeconds:F0} s, {Faults.Count} faults, {Probes.Count} echoes ({Probes.Count(p => !p.Answered)} lost); " +
            $"end check: every kernel {(EndDifferences.Count == 0 ? "equals" : "does NOT equal")} etcd, read {EndCheckAfterLastFault.TotalMilliseconds:F0} ms after the last fault's injection ended (its repair wait and the pings' last replies included)"));
        foreach (string difference in EndDifferences)
        {
            text.AppendLine("  " + difference);
        }

        return text.ToString();
    }

    /// <summary>Every fault, one line each, with its time since the first fault.</summary>
    public string FaultLog()
    {
        var text = new StringBuilder();
        foreach ((InjectedFault fault, IReadOnlyList<Probe> probes) in Windows)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{Stopwatch.GetElapsedTime(Faults[0].Started, fault.Started).TotalSeconds,7:F1} s  {fault}; {probes.Count(p => !p.Answered)}/{probes.Count} echoes lost"));
        }

        return text.ToString();
    }

    private static string Times(IEnumerable<TimeSpan?> times)
    {
        List<TimeSpan?> all = times.ToList();
        List<double> known = all.Where(t => t is not null).Select(t => t!.Value.TotalMilliseconds).Order().ToList();
        string text = known.Count == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{known[known.Count / 2]:F0} / {known[^1]:F0} ms");
        int missing = all.Count - known.Count;
        return missing == 0 ? text : string.Create(CultureInfo.InvariantCulture, $"{text}, {missing} never");
    }

    private static string Percent(int part, int whole) =>
        whole == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * part / whole:F2} %");
}

/// <summary>Echoes one pair lost in one fault's window (<paramref name="Fault"/> null: before any fault).</summary>
public sealed record LossRecord(InjectedFault? Fault, string Pair, int LostWhileLinkDown, int LostOtherwise)
{
    public string ToString(long firstFaultStarted) => Fault is null
        ? $"before any fault: {Pair} lost {LostOtherwise.ToString(CultureInfo.InvariantCulture)}"
        : string.Create(CultureInfo.InvariantCulture,
            $"{Fault.Kind} on {Fault.Node} at {Stopwatch.GetElapsedTime(firstFaultStarted, Fault.Started).TotalSeconds:F1} s: {Pair} lost {LostOtherwise}{(LostWhileLinkDown > 0 ? $" (and {LostWhileLinkDown} while the link was down)" : "")}");
}
