namespace Overlay.Demo;

/// <summary>
/// One command <c>--keep</c> suggests for looking around. Each returns at once, except those marked
/// <see cref="RunsUntilInterrupted"/>, whose comment says so and how to stop them.
/// </summary>
public sealed record Suggestion(string Command, string? Comment = null, bool RunsUntilInterrupted = false);

/// <summary>The <c>--keep</c> suggestions as printed: two spaces in, comments aligned after the commands.</summary>
public static class LookAround
{
    /// <summary>What a suggestion that keeps running says after its own comment.</summary>
    public const string UntilInterrupted = "runs until Ctrl+C";

    private const int MaxAlignedWidth = 90;

    public static string Format(IReadOnlyList<Suggestion> suggestions)
    {
        ArgumentNullException.ThrowIfNull(suggestions);
        // Comments line up after the commands, except after a command too long to pad the others to.
        int width = suggestions.Where(s => s.Comment is not null || s.RunsUntilInterrupted).Select(s => s.Command.Length)
            .Where(length => length <= MaxAlignedWidth).DefaultIfEmpty(0).Max();
        return string.Concat(suggestions.Select(s => "  " + Line(s, width) + "\n"));
    }

    private static string Line(Suggestion s, int width)
    {
        string? comment = s.RunsUntilInterrupted
            ? s.Comment is null ? UntilInterrupted : $"{s.Comment}; {UntilInterrupted}"
            : s.Comment;
        return comment is null ? s.Command : $"{s.Command.PadRight(width)}   # {comment}";
    }

    /// <summary>Reads printed suggestions back (for tests): the command, and whether it says it runs until Ctrl+C.</summary>
    public static IReadOnlyList<Suggestion> Parse(IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var parsed = new List<Suggestion>();
        foreach (string line in lines.Where(l => l.StartsWith("  ", StringComparison.Ordinal)))
        {
            int hash = line.IndexOf("   # ", StringComparison.Ordinal);
            string command = (hash < 0 ? line : line[..hash]).Trim();
            string? comment = hash < 0 ? null : line[(hash + 5)..];
            parsed.Add(new Suggestion(command, comment, comment?.EndsWith(UntilInterrupted, StringComparison.Ordinal) == true));
        }

        return parsed;
    }
}
