using System.Diagnostics;
using System.Globalization;
using System.Net;
using Overlay.Core.Services;
using Overlay.Daemon.Services;
using Overlay.Leases.Watching;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// In-process, no kernel, no etcd: the pure part of the service proxy at scale. S services × E explicit endpoints go
/// into a <see cref="ServiceCatalog"/> as registry values; then the first full plan, and C one-service changes each
/// turned into a desired state and a delta plan (what every registry update costs before nft). Reports time and the
/// managed memory each stage keeps (GC.GetTotalMemory after a full collection).
/// </summary>
internal static class ServiceModelBenchmark
{
    public static int Run(string[] args)
    {
        int services = Option(args, "--services", 10_000);
        int endpoints = Option(args, "--endpoints", 3);
        int changes = Option(args, "--changes", 100);
        var table = new Table(string.Create(CultureInfo.InvariantCulture, $"servicemodel: {services} services × {endpoints} endpoints, {changes} changes, {Machine()}"));
        var network = IPNetwork.Parse("198.19.0.0/16");
        IReadOnlyList<IPNetwork> pods = [IPNetwork.Parse(PodNetwork)];

        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        var values = Enumerable.Range(0, services)
            .Select(i => new KeyChange(RegistryKeys.Service(Prefix, "bench", Name(i)), ServiceCodec.Serialize(Service(i, endpoints, 0))))
            .ToList();
        long withValues = GC.GetTotalMemory(true);
        table.Add("registry values as text (MiB)", (withValues - baseline) / 1048576.0);

        var specs = values.Select(v => ServiceCodec.Parse(v.Value!)).ToList();
        table.Add("the services alone, parsed (MiB)", (GC.GetTotalMemory(true) - withValues) / 1048576.0);
        GC.KeepAlive(specs);
        specs = null!;
        var catalog = new ServiceCatalog(Prefix);
        long started = Stopwatch.GetTimestamp();
        catalog.Apply(new PrefixUpdate(values, 1, IsResync: true));
        ServiceRulesInput desired = catalog.Desired(network, pods);
        table.Add("catalog: parse every value + first desired state (ms)", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        values = null!;
        long withCatalog = GC.GetTotalMemory(true);
        GC.KeepAlive(catalog);
        table.Add("catalog kept (MiB)", (withCatalog - baseline) / 1048576.0);

        started = Stopwatch.GetTimestamp();
        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(null, desired, token: 1);
        table.Add("planner: full load (ms)", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        table.Add("planner: full load script (MiB of text)", plan.Transactions.Sum(t => (long)t.Script.Length) * 2 / 1048576.0);
        AppliedServiceRules applied = plan.Result;
        plan = null!;
        desired = null!;
        long withApplied = GC.GetTotalMemory(true);
        table.Add("applied copy kept (MiB)", (withApplied - withCatalog) / 1048576.0);

        for (int change = 0; change < changes; change++)
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            started = Stopwatch.GetTimestamp();
            int i = change % services;
            IReadOnlyList<SkippedRegistryEntry> skipped = catalog.Apply(new PrefixUpdate([new KeyChange(RegistryKeys.Service(Prefix, "bench", Name(i)), ServiceCodec.Serialize(Service(i, endpoints, change + 1)))], 2 + change, IsResync: false));
            if (skipped.Count > 0)
            {
                throw new InvalidOperationException($"{skipped[0].Key}: {skipped[0].Reason}");
            }

            ServiceRulesInput next = catalog.Desired(network, pods);
            double desiredMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            ServiceRulesPlan delta = ServiceRulesPlanner.Plan(applied, next, token: 1);
            table.Add("one change: desired state (ms)", desiredMs);
            table.Add("one change: desired state + delta plan (ms)", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            table.Add("one change: allocated (MiB)", (GC.GetAllocatedBytesForCurrentThread() - allocated) / 1048576.0);
            if (delta.ElementsAdded == 0)
            {
                throw new InvalidOperationException($"change {change} planned nothing (full load: {delta.FullLoad}, {delta.Transactions.Count} transactions)");
            }

            applied = delta.Result;
        }

        GC.KeepAlive(catalog);
        GC.KeepAlive(applied);
        table.Print();
        return 0;
    }

    private static string Name(int i) => "svc-" + i.ToString(CultureInfo.InvariantCulture);

    private static ServiceSpec Service(int index, int endpoints, int generation) => new()
    {
        Namespace = "bench",
        Name = Name(index),
        ClusterIP = new IPAddress([198, 19, (byte)(1 + (index >> 8)), (byte)(index & 0xff)]),
        Ports = [new ServicePort("http", 80, 8080, ServiceProtocol.Tcp)],
        Endpoints = [.. Enumerable.Range(0, endpoints).Select(j => new ServiceEndpoint(new IPAddress([100, (byte)(64 + (index >> 8) % 60), (byte)(index & 0xff), (byte)(10 + j + generation % 200)]), 8080))],
    };
}
