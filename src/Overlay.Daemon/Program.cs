using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting;
using Overlay.Daemon.Options;

DaemonOptions options;
try
{
    options = DaemonFlags.Parse(args, Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
        .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal));
}
catch (UsageException e)
{
    Console.Error.WriteLine($"overlayd: {e.Message}");
    return 2;
}

if (options.Help)
{
    Console.Out.Write(DaemonFlags.HelpText());
    return 0;
}

if (options.Version)
{
    Console.Out.WriteLine(OverlayNode.Version);
    return 0;
}

HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
builder.Logging.SetMinimumLevel(LogLevel.Information);
if (SystemdHelpers.IsSystemdService())
{
    builder.Logging.AddSystemdConsole(); // journald priorities, no colours
}
else
{
    builder.Logging.AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "HH:mm:ss.fff ";
    });
}

builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
builder.Services.AddSingleton(options);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<DaemonStatus>();
builder.Services.AddHostedService<HealthServer>();
builder.Services.AddHostedService<OverlayNode>();

using IHost host = builder.Build();
await host.RunAsync();
return Environment.ExitCode;
