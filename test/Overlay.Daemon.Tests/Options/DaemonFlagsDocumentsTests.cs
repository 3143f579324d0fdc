using Overlay.Daemon.Options;
using Overlay.Leases.Etcd;

namespace Overlay.Daemon.Tests.Options;

/// <summary>overlayd(8) and /etc/default/overlayd come from the flag table that parses the command line.</summary>
public class DaemonFlagsDocumentsTests
{
    private static readonly string[] Settings = [.. DaemonFlags.FlagNames.Where(f => f is not ("help" or "version"))];

    [Test]
    public void The_environment_file_names_every_setting_as_a_variable_overlayd_reads_and_sets_none_of_them()
    {
        string[] lines = DaemonFlags.EnvironmentFile().Split('\n');
        string[] variables = [.. lines.Where(l => l.StartsWith('#') && l.EndsWith('=') && !l.Contains(' ', StringComparison.Ordinal)).Select(l => l[1..^1])];

        string[] etcd = [.. EtcdFlags.All.SelectMany(f => f.EnvironmentVariables)];

        // The etcd flags' empty values are judged (an empty endpoint list is refused), overlayd's own are ignored.
        DaemonOptions options = DaemonFlags.Parse([], variables.Except(etcd).ToDictionary(v => v, v => (string?)"", StringComparer.Ordinal));

        Assert.That(variables.Select(v => v[(v.IndexOf('_', StringComparison.Ordinal) + 1)..]),
            Is.EquivalentTo(Settings.Select(f => f.ToUpperInvariant().Replace('-', '_'))), "one commented variable per setting");
        Assert.That(options.UnknownVariables, Is.Empty, "every variable belongs to a flag");
        Assert.That(variables.Where(v => v.Contains("_ETCD_", StringComparison.Ordinal)).ToArray(), Is.SubsetOf(etcd).And.Length.EqualTo(EtcdFlags.All.Count));
        Assert.That(lines.Where(l => l.Length > 0 && !l.StartsWith('#')), Is.Empty, "every line is a comment: the defaults hold until edited");
        Assert.That(variables, Does.Contain("FLANNELD_ETCD_ENDPOINTS").And.Contain("OVERLAYD_NODE_NAME"), "flanneld's flags under flanneld's names, Overlay's under its own");
    }

    [Test]
    public void The_environment_file_lists_the_flanneld_variables_accepted_without_effect()
    {
        string file = DaemonFlags.EnvironmentFile();
        string[] withoutEffect = [.. DaemonFlags.FlanneldFlags.Where(f => f.Handling == FlanneldFlagHandling.WithoutEffect).Select(f => "FLANNELD_" + f.Name.ToUpperInvariant().Replace('-', '_'))];

        Assert.That(withoutEffect, Is.Not.Empty);
        Assert.That(withoutEffect, Has.All.Matches<string>(v => file.Contains(" " + v, StringComparison.Ordinal)));
    }

    [Test]
    public void The_manual_page_has_every_flag_of_the_help()
    {
        string page = DaemonFlags.ManPage("0.1.0");
        string help = DaemonFlags.HelpText();

        Assert.That(Settings, Is.Not.Empty);
        Assert.That(DaemonFlags.FlagNames, Has.All.Matches<string>(f => help.Contains("--" + f, StringComparison.Ordinal)
            && page.Contains(".TP\n\\fB\\-\\-" + f.Replace("-", "\\-", StringComparison.Ordinal), StringComparison.Ordinal)));
        Assert.That(page, Does.StartWith(".TH OVERLAYD 8 \"\" \"overlay 0.1.0\""));
    }
}
