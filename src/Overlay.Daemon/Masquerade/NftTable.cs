using Overlay.Core.Processes;

namespace Overlay.Daemon.Masquerade;

/// <summary>
/// Applies and checks overlayd's nftables table with the <c>nft</c> tool. nft is the documented exception to
/// "no networking processes": its netlink protocol is a bytecode VM whose rule encoding changes across
/// kernel and nft versions, and nft's own parser keeps the rules exact. Routes, neighbours, FDB entries and
/// links never go through a process.
/// </summary>
public sealed class NftTable
{
    /// <summary>nft answers in milliseconds; a hung one must not stall the node loop.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string _nft;
    private NftRulesPlan? _applied;
    private string? _listing;

    public NftTable(string nft = "nft")
    {
        _nft = nft;
    }

    /// <summary>Makes the tables as <paramref name="plan"/> says in one transaction: present ones replaced, absent ones removed.</summary>
    public async Task ApplyAsync(NftRulesPlan plan, CancellationToken ct)
    {
        // With no table to fill, nft runs only to remove one an earlier run left; where nft cannot list tables, none can be left.
        if (plan.Present.Any() || await AnyLeftAsync(plan, ct))
        {
            await RunAsync(["-f", "-"], plan.Script, ct);
        }

        _applied = plan;
        _listing = await ListAsync(plan, ct);
    }

    /// <summary>True when the plan's present tables still read back as they did right after the last apply.</summary>
    public async Task<bool> IsIntactAsync(CancellationToken ct) =>
        _applied is not null && string.Equals(await ListAsync(_applied, ct), _listing, StringComparison.Ordinal);

    /// <summary>The plan's present tables as nft lists them (single stack: one nft run); a missing table reads as nothing.</summary>
    private async Task<string?> ListAsync(NftRulesPlan plan, CancellationToken ct)
    {
        string? listed = null;
        foreach (NftTablePlan table in plan.Present)
        {
            listed += await ListTableAsync(table.Family, ct);
        }

        return listed;
    }

    /// <summary>Whether any of the plan's tables exists (<c>nft list tables</c> prints one "table ip overlay" line per table).</summary>
    private async Task<bool> AnyLeftAsync(NftRulesPlan plan, CancellationToken ct)
    {
        string listed;
        try
        {
            listed = await RunAsync(["list", "tables"], null, ct);
        }
        catch (NftException)
        {
            return false;
        }

        string[] lines = listed.Split('\n', StringSplitOptions.TrimEntries);
        return plan.Tables.Any(t => lines.Contains($"table {t.Family} {NftRuleset.Table}", StringComparer.Ordinal));
    }

    private async Task<string?> ListTableAsync(string family, CancellationToken ct)
    {
        try
        {
            return await RunAsync(["list", "table", family, NftRuleset.Table], null, ct);
        }
        catch (NftException)
        {
            return null; // no such table
        }
    }

    private async Task<string> RunAsync(string[] args, string? input, CancellationToken ct)
    {
        try
        {
            return (await ChildProcess.RunAsync(_nft, args, input, timeout: Timeout, ct: ct)).EnsureSuccess().StandardOutput;
        }
        catch (ChildProcessException e)
        {
            throw new NftException(e.Failure switch
            {
                ChildProcessFailure.NotStarted => $"could not start {_nft} ({e.InnerException?.Message}): install it (apt-get install nftables), or run without --ip-masq and with --iptables-forward-rules=false",
                ChildProcessFailure.Exited => $"nft {string.Join(' ', args)} failed with exit code {e.ExitCode}: {e.StandardError.Trim()}",
                _ => e.Message,
            }, e);
        }
    }
}

/// <summary>nft failed to start, timed out or refused a script; carries its exit status and stderr.</summary>
public sealed class NftException : ChildProcessException
{
    public NftException(string message)
        : base(message)
    {
    }

    public NftException()
    {
    }

    public NftException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public NftException(string message, ChildProcessException cause)
        : base(message, cause.Command, cause.Failure, cause.ExitCode, cause.StandardError, cause)
    {
    }
}
