using System.Net;

namespace Overlay.Daemon.Options;

/// <summary>Everything overlayd is told at start, from flags and FLANNELD_*/OVERLAYD_* variables.</summary>
public sealed class DaemonOptions
{
    public List<string> EtcdEndpoints { get; set; } = ["http://127.0.0.1:2379"];

    public string EtcdPrefix { get; set; } = "/coreos.com/network";

    public string? EtcdCaFile { get; set; }

    public string? EtcdCertFile { get; set; }

    public string? EtcdKeyFile { get; set; }

    public string? EtcdUsername { get; set; }

    public string? EtcdPassword { get; set; }

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

    public bool Help { get; set; }

    public bool Version { get; set; }
}
