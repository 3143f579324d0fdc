using Microsoft.Extensions.Logging;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Store;

namespace Overlay.Daemon.Masquerade;

/// <summary>
/// Keeps the nftables tables for <c>--ip-masq</c> and the forward rules: applies them at start and when the
/// own lease moves, checks them every few seconds and restores them when someone changed them.
/// </summary>
public sealed partial class RulesComponent : INodeComponent
{
    private readonly NftTable _nft;
    private readonly NetworkConfig _config;
    private readonly bool _ipMasq;
    private readonly bool _forwardRules;
    private readonly Func<OwnLease> _own;
    private readonly DaemonStatus _status;
    private readonly ILogger _logger;
    private SubnetKey? _appliedFor;

    public RulesComponent(NftTable nft, NetworkConfig config, bool ipMasq, bool forwardRules, Func<OwnLease> own, DaemonStatus status, ILogger logger)
    {
        _nft = nft;
        _config = config;
        _ipMasq = ipMasq;
        _forwardRules = forwardRules;
        _own = own;
        _status = status;
        _logger = logger;
    }

    public string Name => "rules";

    public Triggers Wants => Triggers.Rules | Triggers.OwnLease | Triggers.Retry;

    private bool Managed => _ipMasq || _forwardRules;

    /// <summary>
    /// Applies the plan for the current own lease in one transaction: the tables --ip-masq and the forward rules
    /// want, and the removal of any overlayd table they do not want (left by an earlier run).
    /// </summary>
    public async Task ApplyAsync(CancellationToken ct)
    {
        // A failure (nft missing, a script refused) is logged by the caller, once per distinct reason, and retried.
        OwnLease own = _own();
        await _nft.ApplyAsync(NftRuleset.Plan(_config, own.Subnet, _ipMasq, _forwardRules), ct);
        _appliedFor = own.Subnet;
    }

    public async ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        PassPlan plan = PassPlanner.Plan(batch, new PlannerState(OwnLeaseMoved: _own().Subnet != _appliedFor, RulesManaged: Managed));
        if (plan.ApplyRules)
        {
            await ApplyAsync(ct);
        }
        else if (plan.CheckRules && !await _nft.IsIntactAsync(ct))
        {
            LogRulesRestored(_logger);
            await ApplyAsync(ct);
            _status.AddRepairs(1);
        }
    }

    [LoggerMessage(1013, LogLevel.Warning, "nftables table was changed by someone else; restoring it")]
    private static partial void LogRulesRestored(ILogger logger);
}
