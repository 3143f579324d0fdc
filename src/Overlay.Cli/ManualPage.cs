using System.CommandLine;
using System.CommandLine.Help;
using System.Text;
using Overlay.Core.Text;
using Overlay.Leases.Etcd;

namespace Overlay.Cli;

/// <summary>
/// overlayctl(1), written from the command tree that parses the command line and writes <c>--help</c>: every
/// command with its arguments, flags and example, so the manual page cannot fall behind the program.
/// </summary>
public static class ManualPage
{
    /// <summary>The page in roff, for <c>man</c>.</summary>
    public static string Render()
    {
        RootCommand root = CommandLine.Root;
        string description = root.Description ?? "";
        string summary = description.Split('\n')[0];
        summary = summary.StartsWith("overlayctl: ", StringComparison.Ordinal) ? summary["overlayctl: ".Length..] : summary;

        var page = new StringBuilder();
        page.Append(Roff.Title("overlayctl", 1, OverlayCtl.Version, "User Commands"));
        page.Append(Roff.Section("name")).Append("overlayctl \\- ").Append(Roff.Escape(summary.TrimEnd('.'))).Append('\n');
        page.Append(Roff.Section("synopsis")).Append(".B overlayctl\n\\fICOMMAND\\fR [\\fIARGUMENTS\\fR] [\\fIflags\\fR]\n");
        page.Append(Roff.Section("description"));
        foreach (string line in description.Split('\n'))
        {
            page.Append(Roff.Paragraph(line));
        }

        page.Append(Roff.Section("global flags")).Append(Roff.Paragraph("Accepted after any command word."));
        foreach (Option option in root.Options)
        {
            page.Append(Roff.Tagged(Usage(option), option.Description ?? ""));
        }

        page.Append(Roff.Section("commands"));
        foreach (Command command in Leaves(root))
        {
            page.Append(CommandEntry(command));
        }

        page.Append(Roff.Section("environment"));
        page.Append(Roff.Paragraph(
            "The etcd flags are also read from the variables overlayd reads, so a node's /etc/default/overlayd (or flanneld's "
            + "environment file) can be sourced before running overlayctl; the command line wins:"));
        foreach (EtcdFlag flag in EtcdFlags.All)
        {
            page.Append(Roff.Tagged(string.Join(", ", flag.EnvironmentVariables), $"as --{flag.Name} (the second wins over the first)"));
        }

        page.Append(Roff.Section("exit status"));
        page.Append(Roff.Tagged("0", "done"));
        page.Append(Roff.Tagged("1", "the operation failed, or what was checked is not as it should be"));
        page.Append(Roff.Tagged("2", "a usage error: an unknown command or flag, or a value that is not valid"));
        page.Append(Roff.Section("see also"));
        page.Append(".BR overlayd (8),\n.BR etcdctl (1)\n");
        return page.ToString();
    }

    /// <summary>The commands that run (a group is only a prefix), depth first in the order of <c>--help</c>.</summary>
    private static IEnumerable<Command> Leaves(Command command) =>
        command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Subcommands.Count == 0 ? [c] : Leaves(c));

    private static string CommandEntry(Command command)
    {
        string path = CommandLine.PathOf(command);
        var entry = new StringBuilder();
        IEnumerable<string> arguments = command.Arguments.Where(a => !a.Hidden).Select(a =>
        {
            string name = a.HelpName ?? a.Name;
            return a.Arity.MinimumNumberOfValues == 0 ? $"[{name}{(a.Arity.MaximumNumberOfValues > 1 ? "..." : "")}]" : name;
        });
        entry.Append(".SS \"").Append(Roff.Escape(string.Join(" ", ["overlayctl", path, .. arguments]))).Append("\"\n");
        entry.Append(Roff.Escape(command.Description ?? "")).Append('\n');
        foreach (Argument argument in command.Arguments.Where(a => !a.Hidden))
        {
            entry.Append(Roff.Tagged(argument.HelpName ?? argument.Name, argument.Description ?? ""));
        }

        foreach (Option option in command.Options.Where(o => !o.Hidden && o is not HelpOption))
        {
            entry.Append(Roff.Tagged(Usage(option), option.Description ?? ""));
        }

        if (CommandLine.ExampleOf(command) is { } example)
        {
            entry.Append(Roff.Example(example));
        }

        return entry.ToString();
    }

    /// <summary>The flag as typed: <c>-o, --output FORMAT</c>; a switch takes no value.</summary>
    private static string Usage(Option option)
    {
        // The library's help option also answers -? and /?; the page shows the Unix spellings.
        string names = string.Join(", ", option.Aliases.Where(a => a.StartsWith('-') && a != "-?").Order(StringComparer.Ordinal).Append(option.Name));
        bool takesValue = option.ValueType != typeof(bool) && option is not HelpOption and not VersionOption;
        return takesValue ? $"{names} {option.HelpName ?? "VALUE"}" : names;
    }
}
