using System.Globalization;
using Overlay.Cli.Commands;
using Overlay.Cli.Output;
using Overlay.Core.SubnetFile;
using Overlay.Netlink;

namespace Overlay.Cli.Pods;

/// <summary>
/// <c>overlayctl pod run|rm|list</c>: a pod is a network namespace attached through the CNI plugin from its
/// node's namespace, with its own resolv.conf, hosts and nsswitch.conf under /etc/netns/&lt;pod&gt;/.
/// </summary>
internal static class PodCommands
{
    public const string DefaultNodeResolvConf = "/etc/resolv.conf";

    public static async Task<int> RunAsync(CliContext c, CancellationToken ct)
    {
        string name = c.Arguments[0];
        PodPlan plan = Plan(c, name);
        var store = Store(c);
        if (store.Load(name) is not null || NamedNetworkNamespace.Exists(name))
        {
            throw new CommandFailedException($"pod {name} exists already ({store.PathOf(name)} or {NamedNetworkNamespace.PathOf(name)}); remove it first with 'overlayctl pod rm {name}'");
        }

        PodRecord pod = new()
        {
            Name = name,
            Node = plan.Node,
            NodeNetns = plan.NodeNetns,
            Netns = NamedNetworkNamespace.PathOf(name),
            ContainerId = name,
            IfName = CniInvocation.IfName,
            CniPath = c.Flag(PodFlags.CniPath) ?? CniInvocation.DefaultPath,
            NetworkConfig = CniInvocation.NetworkConfig(
                plan.SubnetFile,
                c.Flag(PodFlags.CniDataDir) ?? CniInvocation.DefaultDataDir,
                c.Flag(PodFlags.IpamDataDir),
                plan.Labels),
            EtcDir = PodFiles.FolderOf(name),
            Created = c.Now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            Namespace = plan.Namespace,
            Labels = plan.Labels,
        };
        _ = CniInvocation.FindPlugin(pod.CniPath);

        // Recorded before anything is made, so that 'pod rm' can clean up after a run that was killed halfway.
        Guard(() => store.Save(pod), $"record pod {name} in {store.Directory}");
        bool namespaceCreated = false;
        try
        {
            Guard(() => NamedNetworkNamespace.Create(name), $"create the namespace of pod {name}");
            namespaceCreated = true;
            Guard(() => LoopbackUp(name), $"set lo up in pod {name}");
            CniAddress address = await CniInvocation.AddAsync(pod, ct);
            pod = pod with { Ip = address.Address, Gateway = address.Gateway };
            Guard(() => PodFiles.Write(name, plan.ResolvConf, PodHosts.Render(name, address.Ips, plan.Aliases), PodNsswitch.Text), $"write {pod.EtcDir}");
            Guard(() => store.Save(pod), $"record pod {name} in {store.Directory}");
        }
        catch
        {
            // Only what this run made: a namespace of the same name made meanwhile by another run stays.
            await UndoAsync(c, pod, store, namespaceCreated);
            throw;
        }

        if (c.Output == "json")
        {
            c.Out.Write(PodStore.Serialize(pod));
        }
        else
        {
            c.Out.Write($"pod {name} runs in {pod.Node} with {pod.Ip}{(pod.Gateway is null ? "" : $" (gateway {pod.Gateway})")}\n");
        }

        return OverlayCtl.Done;
    }

    public static async Task<int> RemoveAsync(CliContext c, CancellationToken ct)
    {
        string name = c.Arguments[0];
        CheckName(name, c.CommandPath);
        var store = Store(c);
        PodRecord? pod = Guard(() => store.Load(name), $"read the record of pod {name}");
        if (pod is not null && c.Flag(PodFlags.CniPath) is { } cniPath)
        {
            pod = pod with { CniPath = cniPath };
        }

        var done = new List<string>();
        if (pod is not null)
        {
            if (File.Exists(pod.NodeNetns))
            {
                await CniInvocation.DeleteAsync(pod, ct);
                done.Add($"CNI DEL in {pod.Node}");
            }
            else
            {
                c.Warn($"node namespace {pod.NodeNetns} is gone; skipped CNI DEL (the plugin's state for {pod.ContainerId} may stay in its data dir)");
            }
        }

        if (Guard(() => NamedNetworkNamespace.Delete(name), $"delete the namespace of pod {name}"))
        {
            done.Add("namespace " + NamedNetworkNamespace.PathOf(name));
        }

        if (Guard(() => PodFiles.Remove(name), $"remove {PodFiles.FolderOf(name)}"))
        {
            done.Add(PodFiles.FolderOf(name));
        }

        if (Guard(() => store.Remove(name), $"remove {store.PathOf(name)}"))
        {
            done.Add("record");
        }

        if (done.Count == 0)
        {
            throw new CommandFailedException($"no pod {name}: no record at {store.PathOf(name)}, no namespace {NamedNetworkNamespace.PathOf(name)}, no {PodFiles.FolderOf(name)}");
        }

        c.Out.Write($"removed pod {name} ({string.Join(", ", done)})\n");
        return OverlayCtl.Done;
    }

    public static Task<int> ListAsync(CliContext c, CancellationToken ct)
    {
        var store = Store(c);
        IReadOnlyList<PodRecord> pods = Guard(() => store.List((path, reason) => c.Warn($"skipped {path}: {reason}")), $"list {store.Directory}");
        if (c.Output == "json")
        {
            c.Out.Write(PodStore.Serialize(new PodListJson(pods)));
            return Task.FromResult(OverlayCtl.Done);
        }

        if (pods.Count == 0)
        {
            c.Err.Write($"No pods in {store.Directory}\n");
            return Task.FromResult(OverlayCtl.Done);
        }

        var table = new TableWriter("NAMESPACE", "NAME", "NODE", "IP", "LABELS");
        foreach (PodRecord pod in pods)
        {
            string labels = pod.Labels is { Count: > 0 } l ? string.Join(",", l.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key}={x.Value}")) : "<none>";
            table.Add(pod.NamespaceOrDefault, pod.Name, pod.Node, pod.Ip ?? "<none>", labels);
        }

        table.WriteTo(c.Out);
        return Task.FromResult(OverlayCtl.Done);
    }

    /// <summary>Everything 'pod run' decides before touching the system; bad input is a usage error naming the rule.</summary>
    internal static PodPlan Plan(CliContext c, string name)
    {
        string command = c.CommandPath;
        CheckName(name, command);
        string node = c.Flag(PodFlags.Node)
            ?? throw new UsageException($"'{command}' needs --node NETNS, the node's network namespace (e.g. --node node1)") { CommandPath = command };
        string nodeNetns = node.Contains('/', StringComparison.Ordinal) ? node : NamedNetworkNamespace.RunDirectory + "/" + node;

        string policyText = c.Flag(PodFlags.DnsPolicy) ?? nameof(DnsPolicy.ClusterFirst);
        if (!DnsPolicies.TryParse(policyText, out DnsPolicy policy))
        {
            throw new UsageException($"flag --dns-policy: '{policyText}' is not a DNS policy; use {string.Join(", ", DnsPolicies.Names.SkipLast(1))} or {DnsPolicies.Names[^1]}") { CommandPath = command };
        }

        string subnetFile = c.Flag(PodFlags.SubnetFile) ?? SubnetEnv.DefaultPath;
        try
        {
            ClusterDnsSettings cluster = ClusterDnsSettings.Discover(policy, c.Flag(PodFlags.ClusterDns), c.Flag(PodFlags.ClusterDomain), subnetFile);
            var inputs = new PodDnsInputs
            {
                ClusterDns = cluster.Address,
                ClusterDomain = cluster.Domain,
                Namespace = c.Flag(PodFlags.Namespace) ?? PodDns.DefaultNamespace,
                Nameservers = c.Values(PodFlags.Nameserver),
                Searches = c.Values(PodFlags.Search),
                Options = c.Values(PodFlags.DnsOption).Select(DnsOption.Parse).ToList(),
            };

            // Before the DNS plan: the namespace is the first ClusterFirst search domain's first label.
            if (!Overlay.Core.Services.PodLabels.IsValidNamespace(inputs.Namespace, out string namespaceProblem))
            {
                throw new InvalidPodSpecException($"flag --namespace: {namespaceProblem}");
            }

            List<HostAlias> aliases = c.Values(PodFlags.HostAlias).Select(HostAlias.Parse).ToList();
            var warnings = new List<PodDnsWarning>();
            string resolvConf = PodDns.Render(policy, inputs, ReadNodeResolvConf(c), warnings);
            IReadOnlyDictionary<string, string> labels = ParseLabels(c.Values(PodFlags.Label));

            if (!File.Exists(nodeNetns))
            {
                // Bad input like the rest of step 1 (docs/pods.md): a usage error, exit 2.
                throw new InvalidPodSpecException($"flag --node: node namespace {nodeNetns} does not exist (--node {node}); give the name of a namespace under /run/netns or its path");
            }

            foreach (PodDnsWarning warning in warnings)
            {
                c.Warn(warning.Kind == PodDnsWarningKind.ClusterDnsMissing
                    ? $"{warning.Message}. Neither --cluster-dns nor {cluster.FilePath} gives one: overlayd writes that file while it serves DNS, so start it with DNS on (not --dns=false) and a service network, or give --cluster-dns IP"
                    : warning.Message);
            }

            return new PodPlan(node, nodeNetns, subnetFile, resolvConf, aliases, inputs.Namespace, labels);
        }
        catch (InvalidPodSpecException e)
        {
            throw new UsageException(e.Message) { CommandPath = command };
        }
    }

    /// <summary>Each --label KEY=VALUE, checked as Kubernetes checks labels; a later one of the same key wins.</summary>
    internal static IReadOnlyDictionary<string, string> ParseLabels(IEnumerable<string> given)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string label in given)
        {
            int equals = label.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                throw new InvalidPodSpecException($"flag --label: '{label}' is not KEY=VALUE");
            }

            string key = label[..equals];
            string value = label[(equals + 1)..];
            if (!Overlay.Core.Services.PodLabels.IsValidKey(key, out string reason) || !Overlay.Core.Services.PodLabels.IsValidValue(value, out reason))
            {
                throw new InvalidPodSpecException($"flag --label: {reason}");
            }

            labels[key] = value;
        }

        return labels;
    }

    /// <summary>
    /// The node's resolv.conf as the kubelet reads its --resolv-conf: a file that cannot be read, or a nameserver
    /// line without an address, fails the pod (exit 1); an empty --node-resolv-conf means none (null).
    /// </summary>
    private static ResolvConf? ReadNodeResolvConf(CliContext c)
    {
        string path = c.Flag(PodFlags.NodeResolvConf) ?? DefaultNodeResolvConf;
        if (path.Length == 0)
        {
            return null;
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"read the node's resolv.conf {path} (--node-resolv-conf; '' for none): {e.Message}", e);
        }

        try
        {
            return ResolvConf.Parse(text);
        }
        catch (FormatException e)
        {
            throw new CommandFailedException($"the node's resolv.conf {path}: {e.Message}", e);
        }
    }

    private static void CheckName(string name, string command)
    {
        try
        {
            PodName.Check(name);
        }
        catch (InvalidPodSpecException e)
        {
            throw new UsageException(e.Message) { CommandPath = command };
        }
    }

    private static PodStore Store(CliContext c) => new(c.Flag(PodFlags.PodStateDir) ?? PodStore.DefaultDirectory);

    private static void LoopbackUp(string pod)
    {
        using NetlinkHandle handle = NetlinkHandle.OpenInNamespace(pod);
        handle.SetLinkUp(handle.GetRequiredLink("lo").Index);
    }

    /// <summary>Best effort after a failed run: DEL, namespace, files, record; what cannot be undone is reported.</summary>
    private static async Task UndoAsync(CliContext c, PodRecord pod, PodStore store, bool namespaceCreated)
    {
        try
        {
            if (namespaceCreated)
            {
                if (File.Exists(pod.NodeNetns))
                {
                    await CniInvocation.DeleteAsync(pod, CancellationToken.None);
                }

                NamedNetworkNamespace.Delete(pod.Name);
                PodFiles.Remove(pod.Name);
            }

            store.Remove(pod.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CommandFailedException)
        {
            c.Warn($"could not undo the half-made pod {pod.Name} ({e.Message}); remove it with 'overlayctl pod rm {pod.Name}'");
        }
    }

    /// <summary>File-system and netlink failures become exit 1 with what was being done.</summary>
    private static T Guard<T>(Func<T> action, string what)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"{what}: {e.Message}", e);
        }
    }

    private static void Guard(Action action, string what) => Guard(() =>
    {
        action();
        return true;
    }, what);
}

internal sealed record PodPlan(string Node, string NodeNetns, string SubnetFile, string ResolvConf, IReadOnlyList<HostAlias> Aliases, string Namespace, IReadOnlyDictionary<string, string> Labels);

/// <summary>The cluster DNS settings pod run uses: the address (null: none known), the domain, and the file it looks at.</summary>
internal sealed record ClusterDnsSettings(string? Address, string Domain, string FilePath)
{
    /// <summary>
    /// Each flag wins; else cluster-dns.env beside the node's subnet.env (overlayd writes it while it answers DNS);
    /// else no address (a cluster policy then falls back to Default) and cluster.local. The file is only read for
    /// a cluster policy that lacks a flag.
    /// </summary>
    public static ClusterDnsSettings Discover(DnsPolicy policy, string? address, string? domain, string subnetFile)
    {
        string filePath = ClusterDnsFile.PathBeside(subnetFile);
        if ((policy is DnsPolicy.ClusterFirst or DnsPolicy.ClusterFirstWithHostNet) && (address is null || domain is null)
            && ClusterDnsFile.Read(filePath) is { } written)
        {
            address ??= written.Address.ToString();
            domain ??= written.Domain;
        }

        return new ClusterDnsSettings(address, domain ?? PodDns.DefaultClusterDomain, filePath);
    }
}
