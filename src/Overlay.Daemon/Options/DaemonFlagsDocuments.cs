using System.Globalization;
using System.Text;
using Overlay.Core.Text;

namespace Overlay.Daemon.Options;

/// <summary>
/// What the flag table gives beyond <c>--help</c>: the manual page overlayd(8) and the commented
/// <c>/etc/default/overlayd</c> the Debian package installs. Both are written from the same table as the help, so a
/// new flag appears in all three.
/// </summary>
public static partial class DaemonFlags
{
    /// <summary>overlayd(8) in roff, for <c>man</c>.</summary>
    public static string ManPage(string version)
    {
        var page = new StringBuilder();
        page.Append(Roff.Title("overlayd", 8, version, "System Administration"));
        page.Append(Roff.Section("name")).Append("overlayd \\- flannel\\-compatible VXLAN overlay network daemon\n");
        page.Append(Roff.Section("synopsis")).Append(".B overlayd\n[\\fIflags\\fR]\n");
        page.Append(Roff.Section("description"));
        page.Append(Roff.Paragraph(
            "overlayd gives each node a subnet of the pod network from a lease in etcd, programs the VXLAN device, routes, "
            + "neighbour and FDB entries for every other node's lease, and writes the subnet file the CNI plugin reads. It keeps "
            + "flanneld's etcd layout, flags, environment variables and subnet file, so it can replace flanneld node by node."));
        page.Append(Roff.Paragraph(
            "Under systemd (overlayd.service) it reports READY=1 after its first full reconcile and serves /healthz, /readyz "
            + "and /metrics when --healthz-port is set. SIGTERM stops it and leaves the device, routes and subnet file in place, "
            + "so a restart interrupts no traffic."));

        page.Append(Roff.Section("options"));
        foreach (Flag flag in Flags)
        {
            string value = flag.Etcd?.ValueName ?? "VALUE";
            page.Append(Roff.Tagged(flag.Kind == Kind.Bool ? $"--{flag.Name}" : $"--{flag.Name}={value}", flag.Help));
        }

        page.Append(Roff.Paragraph("Accepted for flanneld's sake, without effect (a warning at start names each one given): "
            + string.Join(", ", WithoutEffect.Where(f => f.Name != "kube-subnet-mgr").Select(f => "--" + f.Name)) + "."));
        page.Append(Roff.Paragraph($"Refused: --kube-subnet-mgr ({KubeSubnetManagerRefusal})."));

        page.Append(Roff.Section("environment"));
        page.Append(Roff.Paragraph(
            "Every flag is also read from FLANNELD_<FLAG> and OVERLAYD_<FLAG> (the flag's name in capitals, '-' as '_'; "
            + "OVERLAYD_ wins over FLANNELD_, and the command line wins over both). An empty variable counts as unset, except an "
            + "etcd flag's, which is checked as given (an empty FLANNELD_ETCD_ENDPOINTS is a usage error). "
            + "A variable with either prefix that names no flag is reported once at start."));

        page.Append(Roff.Section("files"));
        page.Append(Roff.Tagged("/etc/default/overlayd", "the service's settings as environment variables, every one listed and commented"));
        page.Append(Roff.Tagged("/run/flannel/subnet.env", "the subnet file for the CNI plugin (--subnet-file)"));
        page.Append(Roff.Tagged("/run/flannel/pods/", "the pod records the CNI plugin writes and overlayd publishes to etcd (--pods-dir)"));
        page.Append(Roff.Tagged("/usr/share/doc/overlay/", "the documentation: operations.md.gz (running it), configuration-reference.md.gz (every flag and setting)"));

        page.Append(Roff.Section("exit status"));
        page.Append(Roff.Tagged("0", "stopped by SIGTERM or SIGINT (the kernel state stays in place), or --help or --version"));
        page.Append(Roff.Tagged("1", "it cannot go on, e.g. etcd refused its credentials; the reason is logged and in the systemd status"));
        page.Append(Roff.Tagged("2", "a usage error: an unknown flag or a value that is not valid, named in the message"));

        page.Append(Roff.Section("see also"));
        page.Append(".BR overlayctl (1),\n.BR systemctl (1),\n.BR flanneld (8)\n");
        return page.ToString();
    }

    /// <summary>
    /// <c>/etc/default/overlayd</c>: every flag that configures overlayd, commented out, with its help line. flanneld's own
    /// flags under their FLANNELD_ names (an existing flanneld file keeps working), Overlay's under OVERLAYD_ names.
    /// </summary>
    public static string EnvironmentFile()
    {
        var file = new StringBuilder();
        file.Append(
            "# overlayd's settings, read by overlayd.service (EnvironmentFile=). Restart after a change:\n"
            + "#   systemctl restart overlayd\n"
            + "# Each flag of overlayd (overlayd --help, man 8 overlayd) is also a variable: FLANNELD_<FLAG> as flanneld reads\n"
            + "# it, or OVERLAYD_<FLAG>, which wins over it. A line left commented keeps the default; uncomment it with a value\n"
            + "# (an empty FLANNELD_ETCD_* value is refused at start, an empty other one is ignored).\n"
            + "# A flanneld environment file (FLANNELD_ETCD_ENDPOINTS=...) works here unchanged.\n");
        foreach (Flag flag in Flags.Where(f => f.Name is not ("help" or "version")))
        {
            string value = flag.Etcd?.ValueName ?? (flag.Kind == Kind.Bool ? "true|false" : flag.Kind == Kind.List ? "A,B" : "VALUE");
            string prefix = FlanneldOwn.Contains(flag.Name) ? "FLANNELD_" : "OVERLAYD_";
            file.Append(CultureInfo.InvariantCulture, $"\n# --{flag.Name}={value}: {flag.Help}\n#{prefix}{flag.EnvironmentSuffix}=\n");
        }

        file.Append("\n# Accepted for flanneld's sake, without effect (overlayd warns once at start about each one set):\n");
        file.Append(Wrapped(WithoutEffect.Where(f => f.Name != "kube-subnet-mgr").Select(f => "FLANNELD_" + f.EnvironmentSuffix)));
        file.Append(CultureInfo.InvariantCulture, $"# Refused when true: FLANNELD_KUBE_SUBNET_MGR ({KubeSubnetManagerRefusal}).\n");
        return file.ToString();
    }

    /// <summary>Names in comment lines of at most 100 characters.</summary>
    private static string Wrapped(IEnumerable<string> names)
    {
        var text = new StringBuilder();
        var line = new StringBuilder("#");
        foreach (string name in names)
        {
            if (line.Length > 1 && line.Length + 1 + name.Length > 100)
            {
                text.Append(line).Append('\n');
                line.Clear().Append('#');
            }

            line.Append(' ').Append(name);
        }

        return text.Append(line).Append('\n').ToString();
    }
}
