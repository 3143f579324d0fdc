using System.Reflection;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Overlay.Daemon.Health;
using Overlay.Daemon.Options;
using Overlay.Leases.Etcd;

namespace Overlay.Daemon.Hosting;

/// <summary>
/// The node daemon as a hosted service: runs the <see cref="StartupSequence"/> (interface → config → device →
/// lease → first reconcile → rules → subnet.env → ready), then the node's loop until stopped. Data flows one way:
/// etcd → the lease set → desired kernel state → diff → netlink.
/// </summary>
public sealed partial class OverlayNode : BackgroundService
{
    private readonly DaemonOptions _options;
    private readonly DaemonStatus _status;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly SystemdNotify _systemd = new();

    public OverlayNode(DaemonOptions options, DaemonStatus status, ILoggerFactory loggers, TimeProvider time, IHostApplicationLifetime lifetime)
    {
        _options = options;
        _status = status;
        _loggers = loggers;
        _logger = loggers.CreateLogger("overlayd");
        _time = time;
        _lifetime = lifetime;
    }

    public static string Version =>
        typeof(OverlayNode).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            LogStarting(_logger, Version, string.Join(",", _options.Etcd.Endpoints), _options.Etcd.Prefix);
            WarnAboutIgnoredSettings();
            await using var node = new NodeStartup(_options, _status, _loggers, _time, _systemd);
            await new StartupSequence(node, _time, _logger).RunAsync(stoppingToken);
            await node.Loop.RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            string reason = e is RpcException { StatusCode: StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.InvalidArgument }
                ? $"etcd refused the request ({EtcdErrors.Describe(e, _options.Etcd.OverTls)}); check --etcd-username and --etcd-password (or FLANNELD_ETCD_USERNAME / FLANNELD_ETCD_PASSWORD) and the user's permissions on {_options.Etcd.Prefix}"
                : e.Message;
            LogFatal(_logger, reason);
            _systemd.Status("failed: " + reason);
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
        }
        finally
        {
            LogStopping(_logger);
            _systemd.Stopping();
        }
    }

    /// <summary>One warning per flanneld flag given that does nothing here, and per variable that belongs to no flag.</summary>
    private void WarnAboutIgnoredSettings()
    {
        foreach (FlagWithoutEffect flag in _options.FlagsWithoutEffect)
        {
            LogFlagWithoutEffect(_logger, flag.Flag, flag.Source, flag.Why);
        }

        foreach (string variable in _options.UnknownVariables)
        {
            LogUnknownVariable(_logger, variable);
        }
    }

    [LoggerMessage(1140, LogLevel.Warning, "flanneld's --{Flag} ({Source}) has no effect in overlayd: {Why}")]
    private static partial void LogFlagWithoutEffect(ILogger logger, string flag, string source, string why);

    [LoggerMessage(1141, LogLevel.Warning, "environment variable {Variable} is not a flag's variable (see overlayd --help); ignored, as flanneld does")]
    private static partial void LogUnknownVariable(ILogger logger, string variable);

    [LoggerMessage(1000, LogLevel.Information, "overlayd {Version} starting: etcd {Endpoints}, prefix {Prefix}")]
    private static partial void LogStarting(ILogger logger, string version, string endpoints, string prefix);

    [LoggerMessage(1016, LogLevel.Information, "stopping; the device, routes and subnet file stay in place")]
    private static partial void LogStopping(ILogger logger);

    [LoggerMessage(1017, LogLevel.Critical, "overlayd cannot run: {Error}")]
    private static partial void LogFatal(ILogger logger, string error);
}
