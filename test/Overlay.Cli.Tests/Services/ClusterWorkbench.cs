using System.Diagnostics;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Services;

/// <summary>
/// What the end-to-end tests of a namespaced cluster make, and take away again after each test: pods made by
/// <c>overlayctl pod run</c> through the real CNI plugin, services made by <c>overlayctl service</c> in the switch
/// namespace (where etcd is), and echo servers in pods. The pods' CNI, IPAM and record folders live in a temporary
/// folder of the workbench's own, with a node resolv.conf for the pods' DNS files.
/// </summary>
internal sealed class ClusterWorkbench
{
    private readonly OverlayCluster cluster;
    private readonly string podLetter;
    private int counter;

    public ClusterWorkbench(OverlayCluster cluster, string name, string nodeResolvConf, string podLetter)
    {
        this.cluster = cluster;
        this.podLetter = podLetter;
        Folder = Directory.CreateTempSubdirectory($"ovt-{name}-{Environment.ProcessId}-").FullName;
        File.WriteAllText(NodeResolvConf, nodeResolvConf);
    }

    public string Folder { get; }

    public string NodeResolvConf => Path.Combine(Folder, "node-resolv.conf");

    public string State => Path.Combine(Folder, "pods");

    public List<string> Pods { get; } = [];

    public List<string> Services { get; } = [];

    public List<EchoServer> Servers { get; } = [];

    public static string Overlayctl => Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");

    /// <summary>A pod on <paramref name="node"/>; <paramref name="flags"/> go to <c>pod run</c> after the workbench's own.</summary>
    public async Task<string> RunPodAsync(ClusterNode node, params string[] flags)
    {
        string pod = $"{cluster.Lab.Prefix}-{podLetter}{++counter}";
        Pods.Add(pod);
        CliResult run = await Cli.RunAsync(
            ["pod", "run", pod, "--node", node.Ns.Name, "--subnet-file", node.SubnetFile, "--cni-path", AppContext.BaseDirectory + ":/usr/lib/cni",
                "--cni-data-dir", Path.Combine(Folder, "cni"), "--ipam-data-dir", Path.Combine(Folder, "ipam"), "--pod-state-dir", State,
                "--node-resolv-conf", NodeResolvConf, .. flags],
            new Dictionary<string, string?>(), "");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        return pod;
    }

    public async Task RemovePodAsync(string pod)
    {
        CliResult rm = await Cli.RunAsync("pod", "rm", pod, "--pod-state-dir", State);
        Assert.That(rm.ExitCode, Is.Zero, rm.ToString());
        Pods.Remove(pod);
    }

    /// <summary>Two pods labelled app=<paramref name="app"/>, on node1 and node2, each serving TCP and UDP on <paramref name="port"/>.</summary>
    public async Task<(string A, string B)> TwoBackendsAsync(string app, int port, params string[] flags)
    {
        string a = await RunPodAsync(cluster.Nodes[0], ["--label", "app=" + app, .. flags]);
        string b = await RunPodAsync(cluster.Nodes[1], ["--label", "app=" + app, .. flags]);
        Servers.Add(EchoServer.Start(a, a, port));
        Servers.Add(EchoServer.Start(b, b, port));
        return (a, b);
    }

    /// <summary>Creates a service with overlayctl; returns what it printed (the ClusterIP, or None).</summary>
    public string CreateService(string name, params string[] flags)
    {
        Services.Add(name);
        CommandResult created = Ctl(["service", "create", name, .. flags]);
        Assert.That(created.ExitCode, Is.Zero, created.StdErr);
        return created.StdOut.Trim();
    }

    public CommandResult Ctl(params string[] args) =>
        cluster.Switch.Exec(["dotnet", Overlayctl, "--etcd-endpoints", cluster.Etcd.Endpoint, .. args]);

    /// <summary>Removes the services, echo servers and pods the test made (each pod's namespace and /etc/netns folder too).</summary>
    public async Task CleanUpAsync()
    {
        foreach (string service in Services)
        {
            Ctl("service", "rm", service, "--yes");
        }

        foreach (EchoServer server in Servers)
        {
            await server.DisposeAsync();
        }

        foreach (string pod in Pods)
        {
            await Cli.RunAsync("pod", "rm", pod, "--pod-state-dir", State);
            if (NetworkLab.ListNamespaceNames().Contains(pod))
            {
                Shell.Run("ip", "netns", "delete", pod);
            }

            if (Directory.Exists("/etc/netns/" + pod))
            {
                Directory.Delete("/etc/netns/" + pod, recursive: true);
            }
        }

        Services.Clear();
        Servers.Clear();
        Pods.Clear();
    }

    public void DeleteFolder()
    {
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }

    /// <summary>The pod's IPv4 address on eth0, as `ip -j addr` (the oracle) shows it.</summary>
    public static string PodAddress(string pod)
    {
        JsonElement addresses = JsonDocument.Parse(Shell.Run("ip", "-n", pod, "-j", "-4", "addr", "show", "dev", "eth0").EnsureSuccess().StdOut).RootElement;
        return addresses[0].GetProperty("addr_info")[0].GetProperty("local").GetString()!;
    }

    /// <summary>Asks every 50 ms until <paramref name="done"/> or the timeout (default 15 s); returns the last value.</summary>
    public static async Task<T> PollAsync<T>(Func<Task<T>> ask, Func<T, bool> done, CancellationToken ct, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        T value;
        do
        {
            value = await ask();
            if (done(value))
            {
                return value;
            }

            await Task.Delay(50, ct);
        }
        while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(15)));

        return value;
    }
}
