namespace Overlay.Cli.Pods;

/// <summary>The <c>pod</c> group's commands and flags, joined into <see cref="CommandLine"/>'s tables.</summary>
internal static class PodFlags
{
    private static readonly string[] Storage = ["pod-state-dir"];

    private static readonly string[] CniAndStorage = ["cni-path", .. Storage];

    public static readonly FlagSpec[] Flags =
    [
        new("node", null, FlagKind.Value, "the node's network namespace (a name under /run/netns, or a path); the pod's bridge is made there", "NETNS"),
        new("subnet-file", null, FlagKind.Value, "the node's subnet.env, handed to the CNI plugin (default /run/flannel/subnet.env)", "PATH"),
        new("dns-policy", null, FlagKind.Value, "where resolv.conf starts from: ClusterFirst, Default or None (default ClusterFirst)", "POLICY"),
        new("cluster-dns", null, FlagKind.Value, "the cluster DNS service's address (needed by ClusterFirst)", "IP"),
        new("cluster-domain", null, FlagKind.Value, "the cluster's DNS domain (default cluster.local)", "DOMAIN"),
        new("namespace", null, FlagKind.Value, "the pod's Kubernetes namespace, for ClusterFirst's first search domain (default default)", "NS"),
        new("nameserver", null, FlagKind.Value, "a nameserver after the policy's, at most 3 in all (repeatable)", "IP", Repeatable: true),
        new("search", null, FlagKind.Value, "a search domain after the policy's, at most 6 in all (repeatable)", "DOMAIN", Repeatable: true),
        new("dns-option", null, FlagKind.Value, "a resolver option; replaces the policy's option of that name (repeatable)", "NAME[:VALUE]", Repeatable: true),
        new("host-alias", null, FlagKind.Value, "names for an address in the pod's hosts file (repeatable)", "IP=NAME[,NAME]", Repeatable: true),
        new("node-resolv-conf", null, FlagKind.Value, "the node's resolv.conf, read by ClusterFirst and Default (default /etc/resolv.conf)", "PATH"),
        new("cni-path", null, FlagKind.Value, "where the CNI plugins are, ':'-separated (default: overlayctl's folder, /opt/cni/bin, /usr/lib/cni)", "DIRS"),
        new("cni-data-dir", null, FlagKind.Value, "the overlay plugin's state folder (default /var/lib/cni/flannel)", "DIR"),
        new("ipam-data-dir", null, FlagKind.Value, "host-local's lease folder (default host-local's own, /var/lib/cni/networks)", "DIR"),
        new("pod-state-dir", null, FlagKind.Value, "where overlayctl keeps one file per pod (default /run/overlay/pods)", "DIR"),
    ];

    public static readonly CommandSpec[] Commands =
    [
        new("pod run", "NAME", 1, 1, "create a pod: a network namespace attached through the CNI plugin, with resolv.conf, hosts and nsswitch.conf",
            ["node", "subnet-file", "dns-policy", "cluster-dns", "cluster-domain", "namespace", "nameserver", "search", "dns-option", "host-alias",
                "node-resolv-conf", "cni-data-dir", "ipam-data-dir", "output", .. CniAndStorage],
            ["table", "json"],
            "overlayctl pod run web-1 --node node1 --cluster-dns 198.18.255.10 --host-alias 198.51.100.7=db"),
        new("pod rm", "NAME", 1, 1, "delete a pod: CNI DEL in its node (--cni-path overrides the recorded one), its namespace, its /etc/netns folder", CniAndStorage, [],
            "overlayctl pod rm web-1"),
        new("pod list", "", 0, 0, "list the pods made with 'pod run'", ["output", .. Storage], ["table", "json"],
            "overlayctl pod list -o json"),
    ];
}
