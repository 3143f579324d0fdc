using Microsoft.Extensions.Logging;

namespace Overlay.Daemon.Hosting;

/// <summary>overlayd's log messages, with event ids 1000-1999.</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "overlayd {Version} starting: etcd {Endpoints}, prefix {Prefix}")]
    public static partial void Starting(ILogger logger, string version, string endpoints, string prefix);

    [LoggerMessage(1001, LogLevel.Information, "underlay: {Interface} (index {Index}, MTU {Mtu}), local {Local}, public IP {PublicIP}: {Reason}")]
    public static partial void UnderlayChosen(ILogger logger, string @interface, int index, int mtu, string local, string publicIP, string reason);

    [LoggerMessage(1002, LogLevel.Information, "network {Network}, /{SubnetLen} subnets, VNI {Vni}, port {Port}")]
    public static partial void ConfigLoaded(ILogger logger, string network, int subnetLen, int vni, int port);

    [LoggerMessage(1003, LogLevel.Information, "device {Device}: {Action} ({Reason}); MAC {Mac}, MTU {Mtu}")]
    public static partial void DeviceReady(ILogger logger, string device, string action, string reason, string mac, int mtu);

    [LoggerMessage(1004, LogLevel.Information, "lease {Subnet} ({How}), expires {Expiration}")]
    public static partial void LeaseAcquired(ILogger logger, string subnet, string how, string expiration);

    [LoggerMessage(1005, LogLevel.Information, "wrote {Path}")]
    public static partial void SubnetFileWritten(ILogger logger, string path);

    [LoggerMessage(1006, LogLevel.Information, "ready: {Peers} peers programmed, {Milliseconds} ms after the process started")]
    public static partial void Ready(ILogger logger, long peers, long milliseconds);

    [LoggerMessage(1007, LogLevel.Information, "reconciled ({Trigger}): {Changes} changes, {Peers} peers, {Failed} failed, {Milliseconds} ms")]
    public static partial void Reconciled(ILogger logger, string trigger, int changes, int peers, int failed, double milliseconds);

    [LoggerMessage(1008, LogLevel.Warning, "kernel change failed: {Error}")]
    public static partial void ChangeFailed(ILogger logger, string error);

    [LoggerMessage(1009, LogLevel.Warning, "lease {Subnet} is not programmed: {Reason}")]
    public static partial void LeaseSkipped(ILogger logger, string subnet, string reason);

    [LoggerMessage(1010, LogLevel.Warning, "device {Device} is gone; recreating it and reprogramming every peer")]
    public static partial void DeviceGone(ILogger logger, string device);

    [LoggerMessage(1011, LogLevel.Warning, "device {Device} MAC changed to {Found}; setting it back to {Wanted}")]
    public static partial void MacReasserted(ILogger logger, string device, string found, string wanted);

    [LoggerMessage(1012, LogLevel.Warning, "this node's subnet changed from {Old} to {New}; reprogramming")]
    public static partial void SubnetChanged(ILogger logger, string old, string @new);

    [LoggerMessage(1013, LogLevel.Warning, "nftables table was changed by someone else; restoring it")]
    public static partial void RulesRestored(ILogger logger);

    [LoggerMessage(1014, LogLevel.Error, "nftables: {Error}")]
    public static partial void RulesFailed(ILogger logger, string error);

    [LoggerMessage(1015, LogLevel.Error, "reconcile failed, will retry: {Error}")]
    public static partial void ReconcileFailed(ILogger logger, string error);

    [LoggerMessage(1016, LogLevel.Information, "stopping; the device, routes and subnet file stay in place")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(1017, LogLevel.Critical, "overlayd cannot run: {Error}")]
    public static partial void Fatal(ILogger logger, string error);

    [LoggerMessage(1018, LogLevel.Information, "health endpoint on http://{Address}:{Port}/ (/healthz, /readyz, /metrics)")]
    public static partial void HealthListening(ILogger logger, string address, int port);

    [LoggerMessage(1019, LogLevel.Error, "health endpoint could not listen on {Address}:{Port}: {Error}")]
    public static partial void HealthListenFailed(ILogger logger, string address, int port, string error);

    [LoggerMessage(1020, LogLevel.Warning, "kernel event monitor lost events; doing a full resync")]
    public static partial void MonitorOverrun(ILogger logger);

    [LoggerMessage(1021, LogLevel.Warning, "underlay not ready yet, retrying: {Error}")]
    public static partial void UnderlayRetry(ILogger logger, string error);

    [LoggerMessage(1022, LogLevel.Warning, "lease {Subnet}: its IPv6 part is not programmed: {Reason}")]
    public static partial void LeaseV6Skipped(ILogger logger, string subnet, string reason);

    [LoggerMessage(1023, LogLevel.Information, "dual stack: IPv6 device {Device}, local and public IPv6 {Local} ({Reason}), MTU {Mtu}")]
    public static partial void IPv6Underlay(ILogger logger, string device, string local, string reason, int mtu);
}
