using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>The built overlayd executable's command-line contract: exit codes and messages.</summary>
public class CommandLineTests
{
    private static CommandResult Overlayd(params string[] args) => Shell.Run("dotnet", [Daemon.Path, .. args]);

    [Test]
    public void An_unknown_flag_exits_2_naming_the_flag()
    {
        CommandResult result = Overlayd("--no-such-flag");
        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StdErr, Does.Contain("unknown flag --no-such-flag"));
    }

    [Test]
    public void A_bad_value_exits_2_saying_what_is_valid()
    {
        CommandResult result = Overlayd("--healthz-port=http");
        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.StdErr, Does.Contain("--healthz-port").And.Contain("0 to 65535"));
    }

    [Test]
    public void Version_and_help_exit_0()
    {
        Assert.That(Overlayd("--version").StdOut.Trim(), Does.Match(@"^\d+\.\d+\.\d+"));
        CommandResult help = Overlayd("--help");
        Assert.That(help.ExitCode, Is.Zero);
        Assert.That(help.StdOut, Does.Contain("--etcd-endpoints").And.Contain("FLANNELD_"));
    }
}
