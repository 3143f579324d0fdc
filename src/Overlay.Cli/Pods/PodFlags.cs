using System.CommandLine;

namespace Overlay.Cli.Pods;

/// <summary>The <c>pod</c> group's commands and flags, joined into <see cref="CommandLine"/>'s tree.</summary>
internal static class PodFlags
{
    public static readonly Option<string> Node = Value("node", "NETNS", "the node's network namespace (a name under /run/netns, or a path); the pod's bridge is made there");

    public static readonly Option<string> SubnetFile = Value("subnet-file", "PATH", "the node's subnet.env, handed to the CNI plugin (default /run/flannel/subnet.env)");

    public static readonly Option<string> DnsPolicy = Value("dns-policy", "POLICY", "where resolv.conf starts from: ClusterFirst, ClusterFirstWithHostNet, Default or None, as the kubelet applies them (default ClusterFirst)");

    public static readonly Option<string> ClusterDns = Value("cluster-dns", "IP", "the cluster DNS service's address for ClusterFirst (default: cluster-dns.env beside --subnet-file, which overlayd writes while it serves DNS; without either, ClusterFirst falls back to Default)");

    public static readonly Option<string> ClusterDomain = Value("cluster-domain", "DOMAIN", "the cluster's DNS domain (default: cluster-dns.env beside --subnet-file, else cluster.local)");

    public static readonly Option<string> Namespace = Value("namespace", "NS", "the pod's Kubernetes namespace: K8S_POD_NAMESPACE for the CNI plugin and ClusterFirst's first search domain (default default)");

    public static readonly Option<string[]> Label = Repeatable("label", "KEY=VALUE", "a label of the pod, handed to the CNI plugin in args.cni.labels; services select pods by them (repeatable)");

    public static readonly Option<string[]> Nameserver = Repeatable("nameserver", "IP", "a nameserver after the policy's, at most 3 (repeatable); the merged list is cut to 3 with a warning");

    public static readonly Option<string[]> Search = Repeatable("search", "DOMAIN", "a search domain after the policy's, at most 6 (repeatable); the merged list is cut to the kubelet's limits with a warning");

    public static readonly Option<string[]> DnsOption = Repeatable("dns-option", "NAME[:VALUE]", "a resolver option; replaces the policy's option of that name (repeatable)");

    public static readonly Option<string[]> HostAlias = Repeatable("host-alias", "IP=NAME[,NAME]", "names for an address in the pod's hosts file (repeatable)");

    public static readonly Option<string> NodeResolvConf = Value("node-resolv-conf", "PATH", "the node's resolv.conf, as the kubelet's --resolv-conf (default /etc/resolv.conf; '' for none: Default then gets 127.0.0.1 and search .)");

    public static readonly Option<string> CniPath = Value("cni-path", "DIRS", "where the CNI plugins are, ':'-separated (default: overlayctl's folder, /opt/cni/bin, /usr/lib/cni)");

    public static readonly Option<string> CniDataDir = Value("cni-data-dir", "DIR", "the overlay plugin's state folder (default /var/lib/cni/flannel)");

    public static readonly Option<string> IpamDataDir = Value("ipam-data-dir", "DIR", "host-local's lease folder (default host-local's own, /var/lib/cni/networks)");

    public static readonly Option<string> PodStateDir = Value("pod-state-dir", "DIR", "where overlayctl keeps one file per pod (default /run/overlay/pods)");

    public static Command Group()
    {
        DnsPolicy.CompletionSources.Add([.. DnsPolicies.Names]);
        return CommandLine.Group("pod", "pod sandboxes for trying a node by hand (need root, no etcd; see docs/pods.md)", ["pods"],
            CommandLine.Leaf("run", "create a pod: a network namespace attached through the CNI plugin, with resolv.conf, hosts and nsswitch.conf",
                "overlayctl pod run web-1 --node node1 --namespace shop --label app=web --cluster-dns 198.18.255.10", PodCommands.RunAsync,
                Name(), Node, SubnetFile, DnsPolicy, ClusterDns, ClusterDomain, Namespace, Label, Nameserver, Search, DnsOption, HostAlias,
                NodeResolvConf, CniDataDir, IpamDataDir, CommandLine.Output("pod run", "table", "json"), CniPath, PodStateDir),
            CommandLine.Leaf("rm", "delete a pod: CNI DEL in its node (--cni-path overrides the recorded one), its namespace, its /etc/netns folder",
                "overlayctl pod rm web-1", PodCommands.RemoveAsync,
                Name(), CniPath, PodStateDir),
            CommandLine.Leaf("list", "list the pods made with 'pod run'", "overlayctl pod list -o json", PodCommands.ListAsync,
                CommandLine.Output("pod list", "table", "json"), PodStateDir));
    }

    private static Argument<string> Name() => new("NAME") { Description = "the pod's name, a DNS label" };

    private static Option<string> Value(string name, string valueName, string description) => new("--" + name)
    {
        HelpName = valueName,
        Description = description,
    };

    private static Option<string[]> Repeatable(string name, string valueName, string description) => new("--" + name)
    {
        HelpName = valueName,
        Description = description,
        Arity = ArgumentArity.OneOrMore,
    };
}
