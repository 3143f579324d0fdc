using Microsoft.Extensions.Logging;
using Overlay.Daemon.Hosting.Loop;

namespace Overlay.Daemon.Services;

/// <summary>
/// <see cref="Triggers.PodFiles"/> when the pods folder changes (a FileSystemWatcher), and every
/// <see cref="PodsComponent.RescanInterval"/> as the backstop for what inotify misses (a folder deleted and made
/// again, an overflowing event queue). Without a watch (the folder cannot be made), the rescan alone serves.
/// </summary>
public sealed partial class PodFolderSource(string folder, TimeSpan rescan, TimeProvider time, ILogger logger) : ITriggerSource
{
    private const UnixFileMode FolderMode755 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        void Changed() => sink.Publish(new Trigger(Triggers.PodFiles));
        using FileSystemWatcher? watcher = Watch(Changed);
        Changed(); // the first pass: what the folder holds now
        using var timer = new PeriodicTimer(rescan, time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            Changed();
        }
    }

    private FileSystemWatcher? Watch(Action changed)
    {
        FileSystemWatcher? watcher = null;
        try
        {
            Directory.CreateDirectory(folder, FolderMode755);
            watcher = new FileSystemWatcher(folder)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            watcher.Created += (_, _) => changed();
            watcher.Changed += (_, _) => changed();
            watcher.Deleted += (_, _) => changed();
            watcher.Renamed += (_, _) => changed();
            watcher.Error += (_, _) => changed();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or PlatformNotSupportedException)
        {
            watcher?.Dispose();
            LogNoWatch(logger, folder, e.Message, rescan);
            return null;
        }
    }

    [LoggerMessage(1304, LogLevel.Warning, "pods: cannot watch {Folder} ({Error}); looking at it every {Interval} instead")]
    private static partial void LogNoWatch(ILogger logger, string folder, string error, TimeSpan interval);
}

/// <summary>Keeps the pods' etcd lease alive for as long as overlayd runs.</summary>
public sealed class PodLeaseSource(Overlay.Leases.Services.PodRegistry registry) : ITriggerSource
{
    public Task RunAsync(ITriggerSink sink, CancellationToken ct) => registry.RunAsync(ct);
}
