using Overlay.Cli.Inspection;
using Overlay.Cli.Output;
using Overlay.Core.Config;
using Overlay.Leases;
using Overlay.Leases.Store;

namespace Overlay.Cli.Commands;

/// <summary><c>overlayctl status</c>: the network, subnets used and free, leases close to expiry, reservations.</summary>
internal static class StatusCommand
{
    public static async Task<int> RunAsync(CliContext c, CancellationToken ct)
    {
        TimeSpan margin = c.RenewMargin;
        NetworkConfig config = await ConfigCommands.StoredConfigAsync(c, "status is reported against it", ct);
        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: true, ct);
        DateTimeOffset now = c.Now;
        var status = NetworkStatus.Compute(c.Prefix, config, snapshot, now, margin);
        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(status.ToJson(now)));
        }
        else
        {
            status.WriteText(c.Out, now);
        }

        return 0;
    }
}
