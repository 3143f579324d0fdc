using System.Globalization;

namespace Overlay.Core.Text;

/// <summary>Unsigned decimal numbers in text another party wrote: ASCII digits and nothing else.</summary>
public static class DecimalText
{
    /// <summary>
    /// Digits only, then <see cref="int.TryParse(ReadOnlySpan{char}, NumberStyles, IFormatProvider, out int)"/>:
    /// NumberStyles.None alone still takes trailing NUL characters ("24\0" is 24), which would let two different
    /// lease keys or subnet.env values mean the same number.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        return !text.IsEmpty
            && !text.ContainsAnyExceptInRange('0', '9')
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
