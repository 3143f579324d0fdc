using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Overlay.TestKit;

/// <summary>
/// A set of network namespaces (and the veths, bridges and processes in them) owned by one test, all deleted
/// on Dispose. Namespace names start with "ovt&lt;pid&gt;x&lt;counter&gt;-" so that leftovers of a test host
/// that died before disposing can be recognised (its pid is gone) and swept by the next lab.
/// </summary>
public sealed partial class NetworkLab : IDisposable
{
    /// <summary>The prefix shared by every namespace any lab creates; followed by the creating pid.</summary>
    public const string NamePrefix = "ovt";

    private static int labCounter;
    private static int vethCounter;

    private readonly Lock gate = new();
    private readonly List<NetNs> namespaces = [];
    private readonly List<Process> processes = [];
    private bool disposed;

    private NetworkLab(string prefix) => Prefix = prefix;

    public string Prefix { get; }

    public IReadOnlyList<NetNs> Namespaces
    {
        get
        {
            lock (gate)
            {
                return namespaces.ToArray();
            }
        }
    }

    public static NetworkLab Create()
    {
        Root.Require();
        SweepLeftovers();
        var lab = new NetworkLab(
            $"{NamePrefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}x{Interlocked.Increment(ref labCounter).ToString(CultureInfo.InvariantCulture)}");
        ExitCleanup.Register(lab, lab.Dispose);
        return lab;
    }

    /// <summary>
    /// Deletes namespaces named by a test process that no longer runs, killing whatever still runs inside them, and
    /// such namespaces' /etc/netns folders. Namespaces of live processes (other test runs on this machine) are left
    /// alone. Returns the names of the namespaces deleted.
    /// </summary>
    public static IReadOnlyList<string> SweepLeftovers()
    {
        var swept = new List<string>();
        foreach (var name in ListNamespaceNames().Where(IsLeftover))
        {
            // Another test host may be sweeping the same leftover concurrently; its deletion is as good as ours.
            if (DeleteNamespace(name))
            {
                swept.Add(name);
            }
        }
        if (Directory.Exists("/etc/netns"))
        {
            foreach (var folder in Directory.EnumerateDirectories("/etc/netns").Select(System.IO.Path.GetFileName).OfType<string>().Where(IsLeftover))
            {
                DeleteEtcFolder(folder);
            }
        }
        return swept;
    }

    /// <summary>A lab's namespace name whose creating process is gone.</summary>
    private static bool IsLeftover(string name)
    {
        var match = LabNamespacePattern().Match(name);
        return match.Success && int.TryParse(match.Groups["pid"].Value, CultureInfo.InvariantCulture, out var pid)
            && pid != Environment.ProcessId && !ProcessState.IsAlive(pid);
    }

    /// <summary>Names from `ip netns list`, whose lines look like "name (id: 3)" or just "name".</summary>
    public static IReadOnlyList<string> ListNamespaceNames() =>
        Shell.Run("ip", "netns", "list").EnsureSuccess().StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2)[0])
            .ToArray();

    public NetNs AddNamespace(string role)
    {
        ThrowIfDisposed();
        if (string.IsNullOrEmpty(role) || !RolePattern().IsMatch(role))
        {
            throw new ArgumentException($"role '{role}' must be letters, digits, '-' or '_'", nameof(role));
        }
        var name = $"{Prefix}-{role}";
        Shell.Run("ip", "netns", "add", name).EnsureSuccess();
        var ns = new NetNs(this, name);
        lock (gate)
        {
            namespaces.Add(ns);
        }
        Shell.Run("ip", "-n", name, "link", "set", "lo", "up").EnsureSuccess();
        return ns;
    }

    /// <summary>
    /// Creates a veth pair with one end in each namespace (the same namespace twice is fine) and brings both
    /// ends up. The ends are created directly inside their namespaces, so names only need to be unique there.
    /// </summary>
    public (string NameA, string NameB) AddVethPair(NetNs a, NetNs b, string? nameA = null, string? nameB = null)
    {
        ThrowIfDisposed();
        var number = Interlocked.Increment(ref vethCounter).ToString(CultureInfo.InvariantCulture);
        nameA ??= $"ovt{number}a";
        nameB ??= $"ovt{number}b";
        ValidateInterfaceName(nameA, nameof(nameA));
        ValidateInterfaceName(nameB, nameof(nameB));
        Shell.Run("ip", "link", "add", nameA, "netns", a.Name, "type", "veth", "peer", "name", nameB, "netns", b.Name).EnsureSuccess();
        a.SetUp(nameA);
        b.SetUp(nameB);
        return (nameA, nameB);
    }

    public string AddBridge(NetNs ns, string name)
    {
        ThrowIfDisposed();
        ValidateInterfaceName(name, nameof(name));
        ns.ExecIp("link", "add", name, "type", "bridge");
        ns.SetUp(name);
        return name;
    }

    /// <summary>Enslaves a device to a bridge in the same namespace (the usual next step after AddBridge).</summary>
    public void AttachToBridge(NetNs ns, string device, string bridge) => ns.ExecIp("link", "set", device, "master", bridge);

    internal void Track(Process process)
    {
        lock (gate)
        {
            if (disposed)
            {
                Shell.KillQuietly(process);
                throw new ObjectDisposedException(nameof(NetworkLab));
            }
            processes.Add(process);
        }
    }

    public void Dispose()
    {
        List<Process> started;
        List<NetNs> owned;
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            started = [.. processes];
            owned = [.. namespaces];
            processes.Clear();
            namespaces.Clear();
        }
        ExitCleanup.Unregister(this);
        foreach (var process in started)
        {
            Shell.KillQuietly(process);
            process.Dispose();
        }
        foreach (var ns in owned)
        {
            DeleteNamespace(ns.Name);
        }
    }

    /// <summary>
    /// Kills every process in the namespace, then deletes it (which destroys its links) and its /etc/netns folder
    /// (which `ip netns delete` leaves). Best effort.
    /// </summary>
    private static bool DeleteNamespace(string name)
    {
        try
        {
            return KillAndDeleteNamespace(name);
        }
        finally
        {
            DeleteEtcFolder(name);
        }
    }

    private static void DeleteEtcFolder(string name)
    {
        try
        {
            Directory.Delete(NetNs.EtcFolderOf(name), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // The namespace never had one.
        }
        catch (IOException)
        {
            // A concurrent sweeper got there first.
        }
    }

    private static bool KillAndDeleteNamespace(string name)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var pids = PidsIn(name);
            foreach (var pid in pids)
            {
                ProcessState.Kill(pid);
            }
            ProcessState.WaitUntilDead(pids, TimeSpan.FromSeconds(5));
            if (Shell.Run("ip", "netns", "delete", name).ExitCode == 0)
            {
                return true;
            }
            if (!ListNamespaceNames().Contains(name))
            {
                return false;
            }
        }
        return false;
    }

    private static int[] PidsIn(string name)
    {
        var result = Shell.Run("ip", "netns", "pids", name);
        if (result.ExitCode != 0)
        {
            return [];
        }
        return result.StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture))
            .Where(p => p != Environment.ProcessId)
            .ToArray();
    }

    private static void ValidateInterfaceName(string name, string parameter)
    {
        // IFNAMSIZ is 16 including the terminating NUL.
        if (name.Length is 0 or > 15 || name.Contains('/', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"interface name '{name}' must be 1..15 characters without '/' or spaces", parameter);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);

    [GeneratedRegex(@"^ovt(?<pid>\d+)x\d+-")]
    private static partial Regex LabNamespacePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+$")]
    private static partial Regex RolePattern();
}
