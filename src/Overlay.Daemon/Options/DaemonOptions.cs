using System.Net;
using Overlay.Leases;
using Overlay.Leases.Etcd;

namespace Overlay.Daemon.Options;

/// <summary>Everything overlayd is told at start, from flags and FLANNELD_*/OVERLAYD_* variables.</summary>
public sealed class DaemonOptions
{
    /// <summary>How to reach etcd: the <c>--etcd-*</c> flags, resolved and checked by <see cref="EtcdFlags"/>.</summary>
    public EtcdOptions Etcd { get; set; } = new();

    /// <summary>Interface names or addresses, tried in order.</summary>
    public List<string> Iface { get; set; } = [];

    public List<string> IfaceRegex { get; set; } = [];

    public IPAddress? IfaceCanReach { get; set; }

    public IPAddress? PublicIP { get; set; }

    public IPAddress? PublicIPv6 { get; set; }

    public string SubnetFile { get; set; } = "/run/flannel/subnet.env";

    /// <summary>Minutes before expiry at which the lease is renewed (flannel: 1..1439).</summary>
    public int SubnetLeaseRenewMargin { get; set; } = 60;

    public TimeSpan SubnetLeaseTtl { get; set; } = TimeSpan.FromHours(24);

    public bool IpMasq { get; set; }

    public bool IptablesForwardRules { get; set; } = true;

    public string HealthzIP { get; set; } = "0.0.0.0";

    /// <summary>0 turns the health/metrics endpoint off, as in flannel.</summary>
    public int HealthzPort { get; set; }

    public string? NodeName { get; set; }

    /// <summary>The backstop: a full comparison of kernel and etcd at this interval.</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(30);

    public string? MachineIdFile { get; set; }

    /// <summary>The folder the CNI plugin writes pod records to; null: the subnet file's folder + <c>/pods</c>.</summary>
    public string? PodsDir { get; set; }

    public string EffectivePodsDir => PodsDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(SubnetFile)) ?? "/", "pods");

    /// <summary>The TTL of the etcd lease this node's pods are bound to: how long a dead node's pods stay endpoints.</summary>
    public TimeSpan PodTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether overlayd serves cluster DNS (<c>--dns</c>); false for clusters that run their own.</summary>
    public bool Dns { get; set; } = true;

    /// <summary>
    /// Where names outside the cluster zone are forwarded (<c>--dns-upstream</c>, port 53 when none was given); empty:
    /// the nameservers of the node's /etc/resolv.conf.
    /// </summary>
    public List<IPEndPoint> DnsUpstream { get; set; } = [];

    public bool Help { get; set; }

    /// <summary>flanneld flags given that do nothing here, each once: overlayd warns about each at start.</summary>
    public List<FlagWithoutEffect> FlagsWithoutEffect { get; } = [];

    /// <summary>FLANNELD_* and OVERLAYD_* variables that belong to no flag: ignored, as flanneld does, with a warning.</summary>
    public List<string> UnknownVariables { get; } = [];

    public bool Version { get; set; }
}

/// <summary>A flanneld flag overlayd accepts without effect: the flag, where it was given (<c>flag --v</c>, <c>environment variable FLANNELD_V</c>) and why it does nothing.</summary>
public sealed record FlagWithoutEffect(string Flag, string Source, string Why);

/// <summary>What overlayd does with one of flanneld's flags.</summary>
public enum FlanneldFlagHandling
{
    Implemented,
    WithoutEffect,
    Refused,
}

/// <summary>One flag flanneld v0.22 accepts and how overlayd handles it; <see cref="Meaning"/> is the help, the reason it has no effect, or the refusal.</summary>
public sealed record FlanneldFlag(string Name, FlanneldFlagHandling Handling, string Meaning);
