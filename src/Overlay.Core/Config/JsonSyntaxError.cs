using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Overlay.Core.Config;

/// <summary>
/// Where a JSON text is malformed and what is wrong, in an editor's terms: 1-based line and column (in characters,
/// not bytes) and a sentence instead of System.Text.Json's reader wording ("Change the reader options. LineNumber: 0 |
/// BytePositionInLine: 55.").
/// </summary>
public static partial class JsonSyntaxError
{
    /// <summary>"at line 1, column 54: a comma after the last member of an object (JSON allows none)".</summary>
    public static string Describe(string json, JsonException error)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(error);
        string what = What(error.Message);
        if (error.LineNumber is not { } line || error.BytePositionInLine is not { } bytes)
        {
            return "(" + what + ")";
        }

        int lineIndex = (int)line;
        int column = Column(json, lineIndex, (int)bytes);
        if (error.Message.Contains("contains a trailing comma", StringComparison.Ordinal))
        {
            // The reader stops at the closing bracket; the mistake is the comma before it, maybe a line up.
            (lineIndex, column) = CommaBefore(json, lineIndex, column);
        }

        return $"at line {lineIndex + 1}, column {column}: {what}";
    }

    /// <summary>The position (0-based line, 1-based column) of the ',' before the given one, blanks and line breaks between.</summary>
    private static (int Line, int Column) CommaBefore(string json, int line, int column)
    {
        string[] lines = json.Split('\n');
        int l = line;
        int c = column - 2; // 0-based index of the character before the given one
        while (l >= 0 && l < lines.Length)
        {
            for (; c >= 0; c--)
            {
                char ch = lines[l][c];
                if (ch == ',')
                {
                    return (l, c + 1);
                }

                if (!char.IsWhiteSpace(ch))
                {
                    return (line, column);
                }
            }

            l--;
            c = l >= 0 ? lines[l].Length - 1 : -1;
        }

        return (line, column);
    }

    /// <summary>The 1-based character column of a byte offset into a (0-based) line of the text.</summary>
    public static int Column(string json, int line, int bytePosition)
    {
        ArgumentNullException.ThrowIfNull(json);
        string[] lines = json.Split('\n');
        if (line < 0 || line >= lines.Length)
        {
            return bytePosition + 1;
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(lines[line]);
        int length = Math.Clamp(bytePosition, 0, utf8.Length);
        return Encoding.UTF8.GetCharCount(utf8, 0, length) + 1;
    }

    private static string What(string message)
    {
        string text = Suffix().Replace(message, "").Replace(" Change the reader options.", "", StringComparison.Ordinal).Trim();
        if (text.StartsWith("The JSON object contains a trailing comma", StringComparison.Ordinal))
        {
            return "a comma after the last member of an object (JSON allows none)";
        }

        if (text.StartsWith("The JSON array contains a trailing comma", StringComparison.Ordinal))
        {
            return "a comma after the last element of an array (JSON allows none)";
        }

        if (text.StartsWith("Expected depth to be zero", StringComparison.Ordinal))
        {
            return "the text ends inside an object or array (a closing '}' or ']' is missing)";
        }

        if (text.StartsWith("The input does not contain any JSON tokens", StringComparison.Ordinal))
        {
            return "there is no JSON in it (empty, or only blanks)";
        }

        if (text.StartsWith("Expected end of string, but instead reached end of data", StringComparison.Ordinal))
        {
            return "a string is not closed (its closing '\"' is missing)";
        }

        if (Character().Match(text) is { Success: true } found)
        {
            string c = found.Groups["c"].Value;
            string rest = found.Groups["rest"].Value;
            if (c == "/" && rest.StartsWith("is an invalid start of a value", StringComparison.Ordinal) || c == "/" && rest.StartsWith("is invalid after", StringComparison.Ordinal))
            {
                return "'/' (comments are not allowed in JSON)";
            }

            if (c == "0x0A" || c == "0x0D")
            {
                return "a line break inside a string (a string ends on the line it starts; write \\n for a line break)";
            }

            return rest switch
            {
                _ when rest.StartsWith("is invalid after a value", StringComparison.Ordinal) => $"'{c}' where ',', '}}' or ']' should come (a comma missing before it?)",
                _ when rest.StartsWith("is an invalid start of a property name", StringComparison.Ordinal) => $"'{c}' where a member name should start (names are in double quotes, e.g. \"Network\")",
                _ when rest.StartsWith("is invalid after a property name", StringComparison.Ordinal) => $"'{c}' where ':' should follow the member name",
                _ when rest.StartsWith("is invalid after a single JSON value", StringComparison.Ordinal) => $"'{c}' after the end of the config (the text holds one object and nothing after it)",
                _ when rest.StartsWith("is an invalid start of a value", StringComparison.Ordinal) => $"'{c}' cannot start a value (a value is a \"string\" in double quotes, a number, true, false, null, an object or an array)",
                _ when rest.StartsWith("is an invalid JSON literal", StringComparison.Ordinal) => $"'{c}' is not a value (true, false and null are lower case; a string needs double quotes)",
                _ when rest.StartsWith("is an invalid end of a number", StringComparison.Ordinal) => $"'{c}' inside a number (an address or CIDR is a string: put it in double quotes)",
                _ when rest.StartsWith("is an invalid escapable character", StringComparison.Ordinal) => $"'\\{c}' is not an escape JSON knows (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
                _ => $"'{c}' {rest}",
            };
        }

        return text.TrimEnd('.');
    }

    [GeneratedRegex(@"\s*(Path: .*)?LineNumber: \d+ \| BytePositionInLine: \d+\.\s*$")]
    private static partial Regex Suffix();

    [GeneratedRegex(@"^'(?<c>.+?)' (?<rest>(is|are) .*)$", RegexOptions.Singleline)]
    private static partial Regex Character();
}
