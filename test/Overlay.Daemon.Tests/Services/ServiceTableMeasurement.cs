using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Services;
using Overlay.Daemon.Services;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.Services;

/// <summary>
/// Not a test: a measuring loop, run by hand (it asserts nothing about time). Loads 10,000 services × 3 endpoints
/// into a namespace with overlayd's shape and with kube-proxy's, and prints how long loads, changes and checks take:
/// <c>dotnet test test/Overlay.Daemon.Tests -c Release --no-build --filter "FullyQualifiedName~ServiceTableMeasurement" --logger "console;verbosity=detailed"</c>
/// (<c>SERVICES=</c> sets the count).
/// </summary>
[Explicit("a measurement, minutes long")]
[NonParallelizable]
public class ServiceTableMeasurement
{
    private static readonly IPNetwork PodNetwork = IPNetwork.Parse("198.18.0.0/15");

    private static ServiceRulesInput Services(int count, int extra = 0)
    {
        var frontends = new Dictionary<Frontend, IReadOnlyList<Backend>>();
        for (int i = 0; i < count + extra; i++)
        {
            var frontend = new Frontend(new IPAddress([100, (byte)(64 + (i >> 16)), (byte)(i >> 8), (byte)i]), ServiceProtocol.Tcp, 80);
            frontends[frontend] = [.. Enumerable.Range(0, 3).Select(j => new Backend(Pod((i * 3) + j), 8080))];
        }

        return new ServiceRulesInput(IPNetwork.Parse("100.64.0.0/10"), [PodNetwork], frontends, [.. frontends.Keys.Select(f => f.ClusterIP)]);
    }

    private static IPAddress Pod(int n) => new([198, (byte)(18 + (n >> 16)), (byte)(n >> 8), (byte)n]);

    private static ServiceRulesInput Without(ServiceRulesInput input, Frontend frontend)
    {
        var frontends = input.Frontends.Where(f => f.Key != frontend).ToDictionary();
        return input with { Frontends = frontends, ClusterIPs = [.. frontends.Keys.Select(f => f.ClusterIP)] };
    }

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    private static string Summary(List<TimeSpan> times)
    {
        TimeSpan[] sorted = [.. times.Order()];
        return $"p50 {Ms(sorted[sorted.Length / 2])}, max {Ms(sorted[^1])} ({sorted.Length} runs)";
    }

    [Test]
    public async Task Measure_overlayds_shape_and_kube_proxys_at_ten_thousand_services()
    {
        Root.Require();
        int count = int.Parse(Environment.GetEnvironmentVariable("SERVICES") ?? "10000", CultureInfo.InvariantCulture);
        using NetworkLab lab = NetworkLab.Create();
        NetNs ns = lab.AddNamespace("measure");
        ServiceRulesInput input = Services(count);
        TextWriter o = TestContext.Out;

        foreach (int budget in new[] { ServiceRuleset.DefaultTransactionBudget, int.MaxValue })
        {
            var cold = new ServiceTable(AddressFamily.InterNetwork, NftCommand.InNamespace(ns.Name), budget);
            var clock = Stopwatch.StartNew();
            ServiceApplyResult loaded = await cold.ApplyAsync(input, CancellationToken.None);
            o.WriteLine($"overlay: full load of {count} services x 3, budget {budget}: {Ms(clock.Elapsed)} in {loaded.Transactions} transactions, {loaded.ElementsAdded} elements");
        }

        var planClock = Stopwatch.StartNew();
        ServiceRulesPlan coldPlan = ServiceRulesPlanner.Plan(null, input, 1);
        o.WriteLine($"overlay: planning the full load alone: {Ms(planClock.Elapsed)}");
        string script = Path.Combine(Path.GetTempPath(), $"overlay-shape-{Environment.ProcessId}.nft");
        await File.WriteAllTextAsync(script, string.Concat(coldPlan.Transactions.Select(t => t.Script)));
        planClock.Restart();
        ns.ExecChecked("nft", "-f", script);
        o.WriteLine($"overlay: nft -f of the full load as one file: {Ms(planClock.Elapsed)}");
        File.Delete(script);

        using NftLibrary library = NftLibrary.Open(ns.Path);
        INftRunner runner = Environment.GetEnvironmentVariable("RUNNER") == "process" ? NftCommand.InNamespace(ns.Name) : library;
        o.WriteLine($"overlay: changes and checks below through {runner.GetType().Name}");
        var table = new ServiceTable(AddressFamily.InterNetwork, runner);
        await table.ApplyAsync(input, CancellationToken.None);
        Frontend added = Services(count, 1).Frontends.Keys.Last();
        ServiceRulesInput plusOne = Services(count, 1);
        var adds = new List<TimeSpan>();
        var endpointChanges = new List<TimeSpan>();
        Frontend changed = input.Frontends.Keys.First();
        for (int run = 0; run < 20; run++)
        {
            var clock = Stopwatch.StartNew();
            await table.ApplyAsync(plusOne, CancellationToken.None);
            adds.Add(clock.Elapsed);
            await table.ApplyAsync(input, CancellationToken.None);

            var moved = input.Frontends.ToDictionary();
            moved[changed] = [moved[changed][0], moved[changed][1], new Backend(Pod(200_000 + run), 8080)];
            clock.Restart();
            await table.ApplyAsync(input with { Frontends = moved }, CancellationToken.None);
            endpointChanges.Add(clock.Elapsed);
            await table.ApplyAsync(input, CancellationToken.None);
        }

        o.WriteLine($"overlay: add one service (ApplyAsync: plan + nft): {Summary(adds)}");
        o.WriteLine($"overlay: change one endpoint: {Summary(endpointChanges)}");

        var intact = new List<TimeSpan>();
        for (int run = 0; run < 20; run++)
        {
            var clock = Stopwatch.StartNew();
            Assert.That(await table.IsIntactAsync(CancellationToken.None), Is.True);
            intact.Add(clock.Elapsed);
        }

        o.WriteLine($"overlay: IsIntactAsync (canary): {Summary(intact)}");
        var full = Stopwatch.StartNew();
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);
        o.WriteLine($"overlay: IsCompleteAsync (nft -j list table): {Ms(full.Elapsed)}");
        var plans = new List<TimeSpan>();
        for (int run = 0; run < 20; run++)
        {
            var planOnly = Stopwatch.StartNew();
            ServiceRulesPlanner.Plan(table.Applied, plusOne, 1);
            plans.Add(planOnly.Elapsed);
        }

        o.WriteLine($"overlay: planning the one-service delta alone: {Summary(plans)}");
        await table.RemoveAsync(CancellationToken.None);

        if (Environment.GetEnvironmentVariable("SKIP_KUBE_PROXY") is not null)
        {
            return;
        }

        string file = Path.Combine(Path.GetTempPath(), $"kube-proxy-shape-{Environment.ProcessId}.nft");
        try
        {
            await File.WriteAllTextAsync(file, KubeProxyShape.Render(input));
            var clock = Stopwatch.StartNew();
            ns.ExecChecked("nft", "-f", file);
            o.WriteLine($"kube-proxy shape: full load of {count} services x 3 (one nft -f): {Ms(clock.Elapsed)}");

            var kubeAdds = new List<TimeSpan>();
            for (int run = 0; run < 5; run++)
            {
                var extra = new Frontend(new IPAddress([100, 127, 255, (byte)run]), ServiceProtocol.Tcp, 80);
                await File.WriteAllTextAsync(file, KubeProxyShape.RenderAddition(AddressFamily.InterNetwork, [PodNetwork], extra, plusOne.Frontends[added]));
                clock.Restart();
                ns.ExecChecked("nft", "-f", file);
                kubeAdds.Add(clock.Elapsed);
            }

            o.WriteLine($"kube-proxy shape: add one service: {Summary(kubeAdds)}");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
