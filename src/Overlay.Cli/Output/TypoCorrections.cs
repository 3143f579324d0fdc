using System.Text;

namespace Overlay.Cli.Output;

/// <summary>
/// System.CommandLine's typo corrections as it prints them: per unmatched token a line
/// <c>'TOKEN' was not matched. Did you mean one of the following?</c> and the suggestions, one a line.
/// </summary>
internal static class TypoCorrections
{
    private const string Header = "' was not matched. Did you mean one of the following?";

    /// <summary>The corrections without those of the given tokens and without repeats, trimmed of blank lines.</summary>
    public static string Without(string corrections, IReadOnlySet<string> tokens)
    {
        var kept = new StringBuilder();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var block = new StringBuilder();
        bool keep = true;

        void Flush()
        {
            if (keep && block.Length > 0 && seen.Add(block.ToString()))
            {
                kept.Append(block);
            }

            block.Clear();
        }

        foreach (string line in corrections.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('\'') && line.EndsWith(Header, StringComparison.Ordinal))
            {
                Flush();
                keep = !tokens.Contains(line[1..^Header.Length]);
            }

            block.Append(line).Append('\n');
        }

        Flush();
        return kept.ToString().TrimEnd('\n');
    }
}
