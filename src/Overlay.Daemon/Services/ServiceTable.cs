using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Overlay.Core.Processes;
using Overlay.Daemon.Masquerade;

namespace Overlay.Daemon.Services;

/// <summary>
/// The <c>nft</c> tool as a process per call, run the way <see cref="NftTable"/> runs it: the program and the
/// arguments before nft's own (e.g. <c>ip netns exec NAME nft</c> in tests).
/// </summary>
public sealed record NftCommand(string File, IReadOnlyList<string> Prefix) : INftRunner
{
    /// <summary>A cold start or a full listing at 50,000 services takes seconds; a hung nft must not stall the node loop.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static readonly NftCommand Default = new("nft", []);

    /// <summary>nft inside a named network namespace.</summary>
    public static NftCommand InNamespace(string name) => new("ip", ["netns", "exec", name, "nft"]);

    public Task<string> RunAsync(string script, CancellationToken ct) => RunAsync(["-f", "-"], script, ct);

    public Task<string> ListJsonAsync(string listCommand, CancellationToken ct) => RunAsync(["-j", .. listCommand.Split(' ')], null, ct);

    private async Task<string> RunAsync(string[] args, string? input, CancellationToken ct)
    {
        try
        {
            return (await ChildProcess.RunAsync(File, [.. Prefix, .. args], input, timeout: Timeout, ct: ct)).EnsureSuccess().StandardOutput;
        }
        catch (ChildProcessException e)
        {
            throw new NftException(e.Failure switch
            {
                ChildProcessFailure.NotStarted => $"could not start {File} ({e.InnerException?.Message}); install nftables or configure no ServiceNetwork",
                ChildProcessFailure.Exited => $"nft {string.Join(' ', args)} failed with exit code {e.ExitCode}: {FirstLines(e.StandardError)}",
                _ => e.Message,
            }, e);
        }
    }

    /// <summary>nft echoes the offending line of a 70,000-element script; a few lines say what went wrong.</summary>
    private static string FirstLines(string text)
    {
        string[] lines = text.Trim().Split('\n');
        return lines.Length <= 6 ? text.Trim() : string.Join('\n', lines.Take(6)) + $"\n... ({lines.Length - 6} more lines)";
    }
}

/// <summary>
/// The I/O edge of the service rules for one family: sends <see cref="ServiceRulesPlanner"/>'s transactions to
/// nft (the <c>nft</c> tool by default, or libnftables in-process: <see cref="NftLibrary"/>), keeps what it applied as the base of the next delta, and checks the table (a canary in
/// milliseconds, a full listing for the slow check). When a transaction fails, the kept copy is forgotten, so
/// the next apply loads everything again.
/// </summary>
public sealed class ServiceTable
{
    private readonly INftRunner _nft;
    private readonly int _budget;
    private AppliedServiceRules? _applied;

    /// <summary>What was last applied in full, kept through <see cref="Invalidate"/> and failures, so stale backends are still reported.</summary>
    private AppliedServiceRules? _lastApplied;

    public ServiceTable(AddressFamily family = AddressFamily.InterNetwork, INftRunner? nft = null, int transactionBudget = ServiceRuleset.DefaultTransactionBudget)
    {
        Family = family;
        FamilyName = ServiceRuleset.FamilyOf(family);
        _nft = nft ?? NftCommand.Default;
        _budget = transactionBudget;
    }

    public AddressFamily Family { get; }

    /// <summary>nft's name of the family: <c>ip</c> or <c>ip6</c>.</summary>
    public string FamilyName { get; }

    /// <summary>What was applied last, or null before the first apply, after a failure or <see cref="Invalidate"/>.</summary>
    public AppliedServiceRules? Applied => _applied;

    /// <summary>Forgets what was applied: the next <see cref="ApplyAsync"/> replaces the whole table (after drift).</summary>
    public void Invalidate() => _applied = null;

    /// <summary>Applies the delta against what was applied last (everything the first time), one transaction per chunk.</summary>
    public async Task<ServiceApplyResult> ApplyAsync(ServiceRulesInput desired, CancellationToken ct)
    {
        if (desired.ServiceNetwork.BaseAddress.AddressFamily != Family)
        {
            throw new ArgumentException($"the {FamilyName} service table cannot hold the service network {desired.ServiceNetwork}", nameof(desired));
        }

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(_applied, desired, NewToken(), _budget, _lastApplied);
        AppliedServiceRules? before = _applied;
        _applied = null; // until every transaction committed, what the table holds is uncertain
        foreach (ServiceTransaction transaction in plan.Transactions)
        {
            await _nft.RunAsync(transaction.Script, ct);
        }

        _applied = plan.Result;
        _lastApplied = plan.Result;
        return plan.Transactions.Count == 0 && before is not null
            ? ServiceApplyResult.Unchanged
            : new ServiceApplyResult(plan.ElementsAdded, plan.ElementsRemoved, plan.Transactions.Count, plan.FullLoad, plan.StaleBackends);
    }

    /// <summary>
    /// The cheap check: the canary chain's rule and the canary set's element, listed by one nft run, still carry the
    /// token of the last full load. Fails when the table was deleted, flushed (rules) or replaced; milliseconds at any size.
    /// </summary>
    public async Task<bool> IsIntactAsync(CancellationToken ct)
    {
        if (_applied is not { } applied)
        {
            return false;
        }

        string listed;
        try
        {
            listed = await _nft.RunAsync($"list chain {FamilyName} {ServiceRuleset.Table} canary\nlist set {FamilyName} {ServiceRuleset.Table} canary\n", ct);
        }
        catch (NftException)
        {
            return false; // no such table, chain or set
        }

        string token = applied.Token.ToString(CultureInfo.InvariantCulture);
        return listed.Contains($"comment \"{ServiceRuleset.CanaryComment(applied.Token)}\"", StringComparison.Ordinal)
            && listed.Contains($"elements = {{ {token} }}", StringComparison.Ordinal);
    }

    /// <summary>
    /// The slow check: lists the whole table (seconds at 10,000+ services) and compares every chain's rule count and
    /// every set's and map's element count with what was applied.
    /// </summary>
    public async Task<bool> IsCompleteAsync(CancellationToken ct)
    {
        if (_applied is not { } applied)
        {
            return false;
        }

        string json;
        try
        {
            json = await _nft.ListJsonAsync($"list table {FamilyName} {ServiceRuleset.Table}", ct);
        }
        catch (NftException)
        {
            return false;
        }

        ServiceTableCounts counts = ServiceTableCounts.Parse(json);
        return counts.Equals(ServiceTableCounts.Expected(applied));
    }

    /// <summary>Removes the table if an earlier run left it (no service network configured).</summary>
    public async Task RemoveAsync(CancellationToken ct)
    {
        _applied = null;
        _lastApplied = null;
        await _nft.RunAsync($"table {FamilyName} {ServiceRuleset.Table} {{}}\ndelete table {FamilyName} {ServiceRuleset.Table}\n", ct);
    }

    private static int NewToken() => Random.Shared.Next(1, 65536);
}

/// <summary>Rules per chain and elements per set or map: what the full check compares.</summary>
internal sealed record ServiceTableCounts(IReadOnlyDictionary<string, int> Rules, IReadOnlyDictionary<string, int> Elements)
{
    public static ServiceTableCounts Expected(AppliedServiceRules applied)
    {
        var rules = new Dictionary<string, int>(ServiceRuleset.SkeletonRuleCounts, StringComparer.Ordinal);
        for (int n = 1; n <= applied.LbChains; n++)
        {
            rules[ServiceRuleset.LbChain(n)] = 1;
        }

        var elements = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["canary"] = 1,
            ["pod-networks"] = applied.PodNetworks.Count,
            ["cluster-ips"] = applied.ClusterIPs.Count,
            ["hairpin"] = applied.Hairpin.Count,
            ["service-ips"] = applied.ServiceElements,
            ["backends"] = applied.BackendElements,
            ["cluster-dns"] = applied.ClusterDns is null ? 0 : 2,
        };
        return new ServiceTableCounts(rules, elements);
    }

    /// <summary>Counts from <c>nft -j list table</c>: one object per chain, rule, set and map.</summary>
    public static ServiceTableCounts Parse(string json)
    {
        var rules = new Dictionary<string, int>(StringComparer.Ordinal);
        var elements = new Dictionary<string, int>(StringComparer.Ordinal);
        using JsonDocument document = JsonDocument.Parse(json);
        foreach (JsonElement item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out JsonElement chain))
            {
                rules.TryAdd(chain.GetProperty("name").GetString()!, 0);
            }
            else if (item.TryGetProperty("rule", out JsonElement rule))
            {
                string name = rule.GetProperty("chain").GetString()!;
                rules[name] = rules.GetValueOrDefault(name) + 1;
            }
            else if (item.TryGetProperty("set", out JsonElement set) || item.TryGetProperty("map", out set))
            {
                elements[set.GetProperty("name").GetString()!] = set.TryGetProperty("elem", out JsonElement elem) ? elem.GetArrayLength() : 0;
            }
        }

        return new ServiceTableCounts(rules, elements);
    }

    public bool Equals(ServiceTableCounts? other) =>
        other is not null && Same(Rules, other.Rules) && Same(Elements, other.Elements);

    public override int GetHashCode() => Rules.Count ^ (Elements.Count << 8);

    private static bool Same(IReadOnlyDictionary<string, int> a, IReadOnlyDictionary<string, int> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out int v) && v == kv.Value);
}
