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
    private string? _applied;
    private string[] _families = [];

    public NftTable(string nft = "nft")
    {
        _nft = nft;
    }

    /// <summary>Replaces the tables with <paramref name="script"/> in one transaction.</summary>
    public async Task ApplyAsync(string script, CancellationToken ct)
    {
        await RunAsync(["-f", "-"], script, ct);
        // Only the tables the script fills are checked afterwards (single stack: one nft run per check).
        _families = [.. new[] { NftRuleset.Family, NftRuleset.Family6 }.Where(f => script.Contains($"table {f} {NftRuleset.Table} {{\n", StringComparison.Ordinal))];
        _applied = await ListAsync(ct);
    }

    /// <summary>True when the tables still read back as they did right after the last apply.</summary>
    public async Task<bool> IsIntactAsync(CancellationToken ct) =>
        _applied is not null && string.Equals(await ListAsync(ct), _applied, StringComparison.Ordinal);

    /// <summary>The tables the last script filled, as nft lists them; a missing table reads as nothing.</summary>
    private async Task<string?> ListAsync(CancellationToken ct)
    {
        string? listed = null;
        foreach (string family in _families)
        {
            listed += await ListTableAsync(family, ct);
        }

        return listed;
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
                ChildProcessFailure.NotStarted => $"could not start {_nft} ({e.InnerException?.Message}); install nftables or run without --ip-masq and with --iptables-forward-rules=false",
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
