using System.CommandLine;
using System.CommandLine.Help;

namespace Overlay.Cli.Tests.Parsing;

/// <summary>overlayctl(1) is written from the command tree that parses the command line and writes --help.</summary>
public class ManualPageTests
{
    [Test]
    public void The_manual_page_has_every_command_with_its_flags_and_example()
    {
        string page = ManualPage.Render();
        Command[] leaves = [.. Leaves(CommandLine.Root)];

        Assert.That(leaves.Select(CommandLine.PathOf), Does.Contain("leases list").And.Contain("pod run").And.Contain("version"));
        foreach (Command command in leaves)
        {
            Assert.That(page, Does.Contain(".SS \"overlayctl " + Escaped(CommandLine.PathOf(command))), CommandLine.PathOf(command));
            foreach (Option option in command.Options.Where(o => o is not HelpOption))
            {
                Assert.That(page, Does.Contain(Escaped(option.Name)), $"{CommandLine.PathOf(command)} {option.Name}");
            }

            if (CommandLine.ExampleOf(command) is { } example)
            {
                Assert.That(page, Does.Contain(Escaped(example)), CommandLine.PathOf(command));
            }
        }

        Assert.That(page, Does.StartWith($".TH OVERLAYCTL 1 \"\" \"overlay {OverlayCtl.Version}\""));
    }

    private static string Escaped(string text) => text.Replace("-", "\\-", StringComparison.Ordinal);

    private static IEnumerable<Command> Leaves(Command command) =>
        command.Subcommands.SelectMany(c => c.Subcommands.Count == 0 ? [c] : Leaves(c));
}
