using System.Globalization;
using Overlay.Cli.Inspection;
using Overlay.Core.Services;

namespace Overlay.Cli.Output;

/// <summary>A service a ClusterIP belongs to, with the endpoints it maps to.</summary>
internal sealed record TracedService(ServiceSpec Service, IReadOnlyList<PortEndpointRows> Ports);

/// <summary>What <c>overlayctl trace</c> found: both ends, the service when the destination is a ClusterIP, one path per destination address.</summary>
internal sealed record TraceReport(TraceEnd Source, TraceEnd Destination, TracedService? Service, IReadOnlyList<TracedPath> Paths, string? Refusal)
{
    public bool Whole => Refusal is null && Paths.Count > 0 && Paths.All(p => p.Whole);

    public string Verdict
    {
        get
        {
            if (Refusal is not null)
            {
                return "broken: " + Refusal;
            }

            List<TracedPath> broken = Paths.Where(p => !p.Whole).ToList();
            if (broken.Count == 0)
            {
                return Paths.Count == 1 ? "the path is whole" : $"the paths to all {Paths.Count} endpoints are whole";
            }

            return Paths.Count == 1
                ? $"broken at the {broken[0].BreaksAt}: {broken[0].Explanation}"
                : $"{broken.Count} of {Paths.Count} endpoints cannot be reached from this node: " + string.Join("; ", broken.Select(p => $"{p.Destination.Address} breaks at the {p.BreaksAt}"));
        }
    }
}

/// <summary>How <c>overlayctl trace</c> reads, as text and as JSON (pure).</summary>
internal static class TraceView
{
    public static void WriteText(TextWriter w, TraceReport trace)
    {
        w.Write($"Source:       {End(trace.Source)}\n");
        w.Write($"Destination:  {End(trace.Destination)}\n");
        if (trace.Service is { } service)
        {
            w.Write($"Service:      {service.Service.FullName}, ClusterIP {ServiceView.ClusterIP(service.Service)}\n");
            foreach (PortEndpointRows port in service.Ports)
            {
                string endpoints = port.Endpoints.Count == 0
                    ? "no endpoints: connections are refused"
                    : string.Join(", ", port.Endpoints.Select(e => $"{e.Address}:{e.Port.ToString(CultureInfo.InvariantCulture)}{(e.Pod is null ? "" : $" ({e.Pod.FullName} on {e.Pod.Node})")}"));
                w.Write($"  {ServiceEndpointsView.PortName(port.Port)} → {endpoints}\n");
            }
        }

        foreach (TracedPath path in trace.Paths)
        {
            w.Write('\n');
            if (trace.Paths.Count > 1 || trace.Service is not null)
            {
                w.Write($"To {End(path.Destination)}\n");
            }

            if (path.Entries.Count > 0)
            {
                var table = new TableWriter("ENTRY", "ON THIS NODE", "STATE");
                foreach (EntryCheck entry in path.Entries)
                {
                    string state = NodeStatusView.Name(entry.Status);
                    if (entry.Status != EntryStatus.Ok && entry.Actual is not null)
                    {
                        state += " (kernel: " + entry.Actual + ")";
                    }

                    table.Add(NodeStatusView.KindName(entry.Kind), entry.Expected ?? "-", state);
                }

                table.WriteTo(w);
            }

            w.Write($"Kernel:       {path.Destination.Address} {(path.KernelRoute is null ? "has no route" : "goes " + path.KernelRoute)}\n");
            w.Write($"Path:         {path.Explanation}\n");
            if (path.Whole && path.Destination.Kind == EndKind.Pod && !path.Destination.ThisNode && trace.Source.Lease is not null)
            {
                w.Write($"Replies:      need the same entries on node {path.Destination.NodeAddress} for {trace.Source.Subnet}; "
                    + $"run 'overlayctl trace {path.Destination.Address} {trace.Source.Address}' there\n");
            }
        }

        w.Write($"\nResult: {trace.Verdict}\n");
    }

    public static TraceJson ToJson(TraceReport trace) => new(
        trace.Whole,
        ToJson(trace.Source),
        ToJson(trace.Destination),
        trace.Service is { } s
            ? new TraceServiceJson(s.Service.Namespace, s.Service.Name, ServiceView.ClusterIP(s.Service),
                s.Ports.SelectMany(p => p.Endpoints).Select(e => new EndpointJson(e.Address.ToString(), e.Port, e.Pod?.FullName, e.Pod?.Node)).ToList())
            : null,
        trace.Paths.Select(p => new TracePathJson(ToJson(p.Destination), p.Whole, p.BreaksAt, p.Entries.Select(e => NodeStatusView.ToJson(e)!).ToList(), p.KernelRoute, p.Explanation)).ToList(),
        trace.Verdict);

    private static TraceEndJson ToJson(TraceEnd end) => new(
        end.Address.ToString(),
        end.Kind switch { EndKind.Pod => "pod", EndKind.Node => "node", EndKind.ClusterIP => "clusterIP", _ => "other" },
        end.Subnet?.ToString(),
        end.Lease?.Subnet.ToString(),
        end.NodeAddress,
        end.VtepMac,
        end.ThisNode);

    private static string End(TraceEnd end)
    {
        string where = end.Kind switch
        {
            EndKind.Pod => $"in {end.Subnet}, node {end.NodeAddress}",
            EndKind.Node => $"node {end.NodeAddress}'s address (lease {NodeComparison.LeaseName(end.Lease!.Subnet)})",
            EndKind.ClusterIP => "in the service network",
            _ => "in no lease's subnet, no node's address",
        };
        string mac = end.Kind == EndKind.Pod && !end.ThisNode && end.VtepMac is not null ? $", VTEP MAC {end.VtepMac}" : "";
        return $"{end.Address} {where}{(end.ThisNode ? " (this node)" : "")}{mac}";
    }
}
