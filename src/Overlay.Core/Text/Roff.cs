using System.Text;

namespace Overlay.Core.Text;

/// <summary>
/// Text for man pages (roff with the man macros): the help texts of overlayd and overlayctl become manual pages
/// without their authors writing roff. Only what those texts need: escaping, paragraphs, tagged paragraphs.
/// </summary>
public static class Roff
{
    /// <summary>
    /// Plain text as roff shows it: backslashes and hyphens escaped (a bare '-' may become a typographic dash,
    /// which breaks copied flags), and a line starting with '.' or '\'' kept from being read as a request.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var roff = new StringBuilder(text.Length + 16);
        bool lineStart = true;
        foreach (char c in text)
        {
            if (lineStart && c is '.' or '\'')
            {
                roff.Append("\\&");
            }

            roff.Append(c switch
            {
                '\\' => "\\e",
                '-' => "\\-",
                _ => c.ToString(),
            });
            lineStart = c == '\n';
        }

        return roff.ToString();
    }

    /// <summary>A man page's title line: <c>.TH NAME SECTION "" "overlay VERSION" MANUAL</c> (no date: the same build gives the same page).</summary>
    public static string Title(string name, int section, string version, string manual) =>
        $".TH {name.ToUpperInvariant()} {section} \"\" \"overlay {Escape(version)}\" \"{manual}\"\n.ad l\n"; // ragged right: flags and addresses stretch justified lines

    /// <summary>A section heading.</summary>
    public static string Section(string title) => $".SH {title.ToUpperInvariant()}\n";

    /// <summary>A paragraph of plain text.</summary>
    public static string Paragraph(string text) => $".PP\n{Escape(text)}\n";

    /// <summary>A tagged paragraph: the tag in bold (a flag, a file, a command), the text indented below it.</summary>
    public static string Tagged(string tag, string text) => $".TP\n\\fB{Escape(tag)}\\fR\n{Escape(text)}\n";

    /// <summary>An example command, shown as typed.</summary>
    public static string Example(string text) => $".PP\nExample:\n.RS\n.nf\n{Escape(text)}\n.fi\n.RE\n";
}
