using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace Overlay.TestKit;

/// <summary>How to boot a <see cref="SystemdContainer"/>.</summary>
public sealed class SystemdContainerOptions
{
    /// <summary>The network namespace the container joins: its only network (a node of an <see cref="OverlayCluster"/>).</summary>
    public required NetNs Network { get; init; }

    /// <summary>
    /// overlayd.dll (the JIT build; its folder then also holds the `overlayd` apphost, and the host's .NET is
    /// bind-mounted read-only at /usr/share/dotnet) or a native overlayd. Its folder is bind-mounted read-only at
    /// /usr/local/lib/overlayd, where docs/operations.md installs it; null: no overlayd in the container.
    /// </summary>
    public string? Overlayd { get; init; }
}

/// <summary>What <c>systemctl show</c> says about a unit.</summary>
public sealed record UnitState(string ActiveState, string SubState, string Result, string StatusText, int MainPid, int Restarts, int ExecMainStatus)
{
    public override string ToString() =>
        $"{ActiveState}/{SubState} result={Result} main={MainPid.ToString(CultureInfo.InvariantCulture)} " +
        $"restarts={Restarts.ToString(CultureInfo.InvariantCulture)} status=\"{StatusText}\"";
}

/// <summary>
/// A real systemd as PID 1 of a container, booted with systemd-nspawn from a minimal Debian root (built once with
/// debootstrap and cached under /var/cache/overlay-tests), inside a test's network namespace. No systemd is needed on
/// the host: the container is not registered with machined (<c>--register=no --keep-unit</c>) and is driven with
/// <c>nsenter</c> into its PID 1. The root is never changed: the container writes to a tmpfs over it
/// (<c>--volatile=overlay</c>), so everything it did is gone when it stops. Dispose powers it off (SIGKILL after 15 s)
/// and removes its cgroups; a test host killed outright leaves processes in the test's namespace (killed by
/// <see cref="NetworkLab"/>'s sweeper) and cgroups named after its pid (removed by the next <see cref="BootAsync"/>).
/// </summary>
public sealed class SystemdContainer : IAsyncDisposable
{
    /// <summary>What the root holds beyond minbase: systemd and its bus, ip for looking around, nft for overlayd's rules.</summary>
    public static readonly IReadOnlyList<string> Packages = ["systemd", "dbus", "iproute2", "nftables"];

    public const string Suite = "bookworm";

    public const string Mirror = "http://deb.debian.org/debian";

    public const string CacheFolder = "/var/cache/overlay-tests";

    /// <summary>How long building the root may take: about 35 s on an idle machine, minutes on a busy one.</summary>
    public static readonly TimeSpan RootBuildTimeout = TimeSpan.FromMinutes(20);

    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Where overlayd's folder is bind-mounted, as docs/operations.md installs it.</summary>
    public const string OverlaydFolder = "/usr/local/lib/overlayd";

    public const string DotnetFolder = "/usr/share/dotnet";

    /// <summary>The drop-in the tests write; the repository's unit itself is installed unchanged.</summary>
    public const string DropIn = "/etc/systemd/system/overlayd.service.d/50-test.conf";

    private const string CompleteMarker = "etc/overlay-tests-root";
    private const string PartialInfix = ".partial-";
    private const string ContainerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static readonly string[] CgroupHierarchies = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];
    private static readonly SemaphoreSlim RootGate = new(1, 1);
    private static int containerCounter;

    private readonly Process _nspawn;
    private readonly List<string> _cgroups;
    private bool _disposed;

    private SystemdContainer(string name, Process nspawn, List<string> cgroups)
    {
        Name = name;
        _nspawn = nspawn;
        _cgroups = cgroups;
    }

    /// <summary>The machine name ("ovt&lt;pid&gt;c&lt;n&gt;"), also the container's hostname.</summary>
    public string Name { get; }

    /// <summary>The host pid of the container's PID 1 (systemd).</summary>
    public int Leader { get; private set; }

    /// <summary>What systemd printed on the container's console (boot and shutdown), and nspawn's own messages.</summary>
    public string ConsoleOutput => ProcessOutput.Of(_nspawn);

    /// <summary>The folder of the cached Debian root, built with debootstrap when missing or incomplete.</summary>
    public static string RootFolder
    {
        get
        {
            string key = string.Join('|', Suite, "minbase", string.Join(',', Packages), Mirror);
            string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
            return Path.Combine(CacheFolder, $"debian-{Suite}-minbase-{hash}");
        }
    }

    /// <summary>
    /// Boots a container: builds the root first when it is not cached, then waits until systemd reports the boot
    /// finished ("running", or "degraded" when some unit failed). Skips (fails under CI=true) only where the machine
    /// cannot do it: no root, no systemd-nspawn or debootstrap, no Debian archive, or a kernel that does not boot it.
    /// </summary>
    public static async Task<SystemdContainer> BootAsync(SystemdContainerOptions options, CancellationToken ct = default)
    {
        Root.Require();
        string nspawn = RequireTool("systemd-nspawn", "systemd-container");
        string root = await EnsureRootAsync(ct).ConfigureAwait(false);
        SweepLeftovers();

        string name = $"{NetworkLab.NamePrefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}c{Interlocked.Increment(ref containerCounter).ToString(CultureInfo.InvariantCulture)}";
        List<string> cgroups = CreateCgroups(name);
        List<string> args =
        [
            nspawn, "--directory", root, "--machine", name, "--boot",
            // No host systemd: nothing to register with, no scope to create (the cgroups are made here instead).
            "--register=no", "--keep-unit",
            "--volatile=overlay", "--network-namespace-path", options.Network.Path,
            // nspawn drops CAP_NET_ADMIN unless it made the network itself; overlayd's unit needs it from the bounding set.
            "--capability=CAP_NET_ADMIN",
            "--console=read-only", "--link-journal=no", "--resolv-conf=off", "--timezone=off",
        ];
        if (options.Overlayd is { } overlayd)
        {
            string folder = Path.GetDirectoryName(Path.GetFullPath(overlayd))!;
            args.Add($"--bind-ro={folder}:{OverlaydFolder}");
            if (overlayd.EndsWith(".dll", StringComparison.Ordinal))
            {
                args.Add($"--bind-ro={HostDotnetFolder()}:{DotnetFolder}");
            }
        }

        // Started in cgroups of its own: nspawn splits the cgroup it runs in into "supervisor" and "payload".
        string enterCgroups = string.Join(' ', cgroups.Select(c => $"echo $$ > {c}/cgroup.procs;"));
        Process process = Shell.StartRedirected("sh", ["-c", enterCgroups + " exec \"$@\"", "sh", .. args], environment: null);
        ProcessOutput.Capture(process);
        var container = new SystemdContainer(name, process, cgroups);
        ExitCleanup.Register(container, container.KillNow);
        try
        {
            await container.WaitForBootAsync(ct).ConfigureAwait(false);
            if (options.Overlayd is { } binary)
            {
                container.LinkOverlayd(binary);
            }

            return container;
        }
        catch
        {
            await container.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The cached root, built once with <c>debootstrap --variant=minbase --include=...</c> into a folder of its own that is
    /// renamed into place only when complete, so an interrupted build is never used (and is swept once its builder died).
    /// </summary>
    public static async Task<string> EnsureRootAsync(CancellationToken ct = default)
    {
        string root = RootFolder;
        await RootGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(CacheFolder);
            SweepPartialRoots(root);
            if (IsCompleteRoot(root))
            {
                return root;
            }

            // Another test host may be building it: wait for that rather than download twice.
            if (Directory.EnumerateDirectories(CacheFolder, Path.GetFileName(root) + PartialInfix + "*").Any())
            {
                await Poll.UntilAsync(() => Task.FromResult(IsCompleteRoot(root) || !Directory.EnumerateDirectories(CacheFolder, Path.GetFileName(root) + PartialInfix + "*").Any()),
                    RootBuildTimeout, ct).ConfigureAwait(false);
                if (IsCompleteRoot(root))
                {
                    return root;
                }
            }

            await BuildRootAsync(root, ct).ConfigureAwait(false);
            return root;
        }
        finally
        {
            RootGate.Release();
        }
    }

    /// <summary>Runs a command inside the container, in every namespace of its PID 1, with a clean environment.</summary>
    public CommandResult Exec(params string[] argv) =>
        Shell.RunCore("nsenter", ["--target", Leader.ToString(CultureInfo.InvariantCulture), "--all", "env", "-i", "PATH=" + ContainerPath, "LANG=C.UTF-8", .. argv],
            environment: null, Shell.DefaultTimeout);

    public CommandResult Systemctl(params string[] args) => Exec(["systemctl", "--no-pager", "--no-ask-password", .. args]);

    /// <summary><c>systemctl show</c>'s state of a unit, read in one call.</summary>
    public UnitState State(string unit)
    {
        Dictionary<string, string> values = Systemctl("show", unit, "-p", "ActiveState,SubState,Result,StatusText,MainPID,NRestarts,ExecMainStatus")
            .EnsureSuccess().StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        string Value(string key) => values.GetValueOrDefault(key, "");
        int Number(string key) => int.TryParse(Value(key), CultureInfo.InvariantCulture, out int n) ? n : 0;
        return new UnitState(Value("ActiveState"), Value("SubState"), Value("Result"), Value("StatusText"), Number("MainPID"), Number("NRestarts"), Number("ExecMainStatus"));
    }

    /// <summary>The journal of a unit as <c>journalctl -u</c> shows it (systemd's lines about it and its own output).</summary>
    public string Journal(string unit) => Exec("journalctl", "--no-pager", "-u", unit, "-o", "short-precise").StdOut;

    /// <summary>The host's path of a file inside the container (through its PID 1's root).</summary>
    public string HostPath(string path) => $"/proc/{Leader.ToString(CultureInfo.InvariantCulture)}/root/{path.TrimStart('/')}";

    /// <summary>Writes a file inside the container (on the tmpfs over the root), creating its folder.</summary>
    public void WriteFile(string path, string text)
    {
        string hostPath = HostPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(hostPath)!);
        File.WriteAllText(hostPath, text);
    }

    /// <summary>A file inside the container, or null when it does not exist.</summary>
    public string? ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(HostPath(path));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Installs overlayd's unit from the repository unchanged (copied next to the test kit from
    /// src/Overlay.Daemon/systemd), its environment file /etc/default/overlayd with these FLANNELD_*/OVERLAYD_* values,
    /// and, when <paramref name="dropIn"/> is given, the drop-in <see cref="DropIn"/> (e.g. "[Service]\nWatchdogSec=5s\n");
    /// then reloads systemd. The unit is not started.
    /// </summary>
    public void InstallOverlayd(IReadOnlyDictionary<string, string> environment, string? dropIn = null)
    {
        WriteFile("/etc/systemd/system/overlayd.service", File.ReadAllText(UnitFile));
        WriteFile("/etc/default/overlayd", string.Concat(environment.Select(e => $"{e.Key}={e.Value}\n")));
        if (dropIn is not null)
        {
            WriteFile(DropIn, dropIn);
        }

        Systemctl("daemon-reload").EnsureSuccess();
    }

    /// <summary>The repository's overlayd.service, as the build copied it beside the test kit.</summary>
    public static string UnitFile => Path.Combine(AppContext.BaseDirectory, "systemd", "overlayd.service");

    /// <summary>Writes the container's console, the journal of the given units and the failed units to the test output when the test failed.</summary>
    public void AttachLogsIfFailed(params string[] units)
    {
        if (TestContext.CurrentContext.Result.Outcome.Status != TestStatus.Failed || Leader == 0)
        {
            return;
        }

        foreach (string unit in units)
        {
            TestContext.Out.WriteLine($"---- journalctl -u {unit} in {Name} ----\n{Journal(unit)}");
        }

        TestContext.Out.WriteLine($"---- failed units in {Name} ----\n{Systemctl("--failed").StdOut}");
        TestContext.Out.WriteLine($"---- console of {Name} ----\n{ConsoleOutput}");
    }

    /// <summary>Powers the container off (systemd stops its units), SIGKILLs what is left after 15 s, removes its cgroups.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ExitCleanup.Unregister(this);
        if (!_nspawn.HasExited)
        {
            // nspawn turns SIGTERM into SIGRTMIN+3 for a booted container: systemd halts it.
            _ = Shell.Run("kill", "-TERM", _nspawn.Id.ToString(CultureInfo.InvariantCulture));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _nspawn.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        KillNow();
    }

    /// <summary>SIGKILL to the container's PID 1 (which ends its whole pid namespace) and nspawn; then the cgroups go.</summary>
    private void KillNow()
    {
        if (Leader != 0 && ProcessState.IsAlive(Leader))
        {
            ProcessState.Kill(Leader);
        }

        Shell.KillQuietly(_nspawn);
        foreach (string cgroup in _cgroups)
        {
            RemoveCgroup(cgroup);
        }

        _nspawn.Dispose();
    }

    private async Task WaitForBootAsync(CancellationToken ct)
    {
        // PID 1 of the container is nspawn's child whose pid in its own namespace is 1.
        if (!await Poll.UntilAsync(() => Task.FromResult(FindLeader() is not null || _nspawn.HasExited), BootTimeout, ct).ConfigureAwait(false) || _nspawn.HasExited)
        {
            CannotBoot("systemd-nspawn did not start the container");
        }

        Leader = FindLeader()!.Value;
        string state = "";
        bool booted = await Poll.UntilAsync(() =>
        {
            // Before systemd listens on its private socket, systemctl cannot connect: try again.
            state = Systemctl("is-system-running").StdOut.Trim();
            return Task.FromResult(state is "running" or "degraded" || _nspawn.HasExited);
        }, BootTimeout, ct).ConfigureAwait(false);
        if (!booted || _nspawn.HasExited)
        {
            CannotBoot($"systemd in the container did not finish booting (is-system-running: {state})");
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void CannotBoot(string what) =>
        Requirement.Unmet($"this machine cannot boot a systemd container: {what}; systemd-nspawn said:\n{ProcessOutput.Of(_nspawn)}");

    private int? FindLeader()
    {
        foreach (string entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                string stat = File.ReadAllText(Path.Combine(entry, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[1] != _nspawn.Id.ToString(CultureInfo.InvariantCulture))
                {
                    continue;
                }

                string? nspid = File.ReadLines(Path.Combine(entry, "status")).FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
                if (nspid is not null && nspid.Split('\t', StringSplitOptions.RemoveEmptyEntries)[^1] == "1")
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
        }

        return null;
    }

    /// <summary>/usr/local/bin/overlayd → /usr/local/lib/overlayd/overlayd, as docs/operations.md installs it.</summary>
    private void LinkOverlayd(string binary)
    {
        string target = Path.Combine(OverlaydFolder, binary.EndsWith(".dll", StringComparison.Ordinal) ? Path.GetFileNameWithoutExtension(binary) : Path.GetFileName(binary));
        string link = HostPath("/usr/local/bin/overlayd");
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        File.Delete(link);
        File.CreateSymbolicLink(link, target);
        if (!Exec("test", "-x", "/usr/local/bin/overlayd").Succeeded)
        {
            throw new InvalidOperationException($"{binary}: no executable {target} in the container (the JIT build needs its apphost next to the dll)");
        }
    }

    /// <summary>The .NET install that runs these tests (…/shared/Microsoft.NETCore.App/VERSION/ is three levels below it).</summary>
    private static string HostDotnetFolder() =>
        Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    private static async Task BuildRootAsync(string root, CancellationToken ct)
    {
        string debootstrap = RequireTool("debootstrap", "debootstrap");
        if (Directory.Exists(root))
        {
            Shell.Run("rm", "-rf", "--one-file-system", root).EnsureSuccess();
        }

        string partial = root + PartialInfix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        string[] command = ["--variant=minbase", "--include=" + string.Join(',', Packages), Suite, partial, Mirror];
        CommandResult result;
        try
        {
            result = await Shell.RunAsync(debootstrap, command, RootBuildTimeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            Shell.Run("rm", "-rf", "--one-file-system", partial);
            Requirement.Unmet($"cannot build the container's Debian root: {e.Message}");
            throw;
        }

        if (!result.Succeeded)
        {
            string log = File.Exists(Path.Combine(partial, "debootstrap", "debootstrap.log")) ? File.ReadAllText(Path.Combine(partial, "debootstrap", "debootstrap.log")) : "";
            Shell.Run("rm", "-rf", "--one-file-system", partial);
            Requirement.Unmet($"cannot build the container's Debian root from {Mirror}: `{result.Command}` exited with {result.ExitCode.ToString(CultureInfo.InvariantCulture)}: " +
                $"{result.StdErr.Trim()} {result.StdOut.Trim()[^Math.Min(2000, result.StdOut.Trim().Length)..]}\n{log[^Math.Min(2000, log.Length)..]}");
        }

        File.WriteAllText(Path.Combine(partial, CompleteMarker), $"debootstrap {string.Join(' ', command[..3])} {Mirror}\n");
        Directory.Move(partial, root);
    }

    private static bool IsCompleteRoot(string root) =>
        File.Exists(Path.Combine(root, CompleteMarker))
        && File.Exists(Path.Combine(root, "usr/lib/systemd/systemd"))
        && File.Exists(Path.Combine(root, "usr/bin/systemctl"))
        && File.Exists(Path.Combine(root, "usr/sbin/nft"));

    /// <summary>Partial roots whose builder died (its pid is in the folder's name).</summary>
    private static void SweepPartialRoots(string root)
    {
        foreach (string partial in Directory.EnumerateDirectories(CacheFolder, Path.GetFileName(root) + PartialInfix + "*"))
        {
            string pidText = partial[(partial.LastIndexOf(PartialInfix, StringComparison.Ordinal) + PartialInfix.Length)..];
            if (int.TryParse(pidText, CultureInfo.InvariantCulture, out int pid) && (pid == Environment.ProcessId || !ProcessState.IsAlive(pid)))
            {
                Shell.Run("rm", "-rf", "--one-file-system", partial);
            }
        }
    }

    private static string RequireTool(string name, string package)
    {
        foreach (string folder in ContainerPath.Split(':'))
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        Requirement.Unmet($"{name} is not installed (Debian package {package}; scripts/install-deps.sh installs it)");
        return "";
    }

    private static List<string> CreateCgroups(string name)
    {
        var made = new List<string>();
        foreach (string hierarchy in CgroupHierarchies.Where(h => File.Exists(Path.Combine(h, "cgroup.procs"))))
        {
            string cgroup = Path.Combine(hierarchy, name);
            Directory.CreateDirectory(cgroup);
            made.Add(cgroup);
        }

        return made;
    }

    /// <summary>Cgroups of containers whose test host died: what still runs in them is killed, then they are removed.</summary>
    private static void SweepLeftovers()
    {
        foreach (string hierarchy in CgroupHierarchies.Where(Directory.Exists))
        {
            foreach (string cgroup in Directory.EnumerateDirectories(hierarchy, NetworkLab.NamePrefix + "*c*"))
            {
                string name = Path.GetFileName(cgroup);
                string pidText = new(name[NetworkLab.NamePrefix.Length..].TakeWhile(char.IsAsciiDigit).ToArray());
                if (int.TryParse(pidText, CultureInfo.InvariantCulture, out int pid) && pid != Environment.ProcessId && !ProcessState.IsAlive(pid))
                {
                    RemoveCgroup(cgroup);
                }
            }
        }
    }

    /// <summary>Kills every process left in the cgroup tree, then removes its folders deepest first. Best effort.</summary>
    private static void RemoveCgroup(string cgroup)
    {
        if (!Directory.Exists(cgroup))
        {
            return;
        }

        List<string> folders = [cgroup, .. Directory.EnumerateDirectories(cgroup, "*", SearchOption.AllDirectories)];
        var pids = new List<int>();
        foreach (string folder in folders)
        {
            try
            {
                pids.AddRange(File.ReadAllLines(Path.Combine(folder, "cgroup.procs")).Select(l => int.Parse(l, CultureInfo.InvariantCulture)));
            }
            catch (IOException)
            {
                // Removed meanwhile.
            }
        }

        foreach (int pid in pids)
        {
            ProcessState.Kill(pid);
        }

        ProcessState.WaitUntilDead(pids, TimeSpan.FromSeconds(5));
        foreach (string folder in folders.OrderByDescending(f => f.Length))
        {
            try
            {
                Directory.Delete(folder);
            }
            catch (IOException)
            {
                // Still busy or already gone.
            }
        }
    }
}
