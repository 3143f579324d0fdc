using System.Globalization;

namespace Overlay.Core.Text;

/// <summary>Flag values as Go's flag package (and so flanneld) reads them: booleans and durations.</summary>
public static class FlagValues
{
    /// <summary>true/1/t and false/0/f, any case.</summary>
    public static bool TryParseBoolean(string text, out bool value)
    {
        switch (text.ToLowerInvariant())
        {
            case "true" or "1" or "t":
                value = true;
                return true;
            case "false" or "0" or "f":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>
    /// Go-style durations: 24h, 90m, 30s, 1h30m, 500ms. On failure <paramref name="problem"/> says what is
    /// wrong ("is not a duration", "has an unknown unit", "is empty"); the caller adds the flag and an example.
    /// </summary>
    public static bool TryParseGoDuration(string text, out TimeSpan value, out string problem)
    {
        value = TimeSpan.Zero;
        problem = "";
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            int unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            if (unitStart == start || !long.TryParse(text.AsSpan(start, unitStart - start), NumberStyles.None, CultureInfo.InvariantCulture, out long amount))
            {
                problem = "is not a duration";
                return false;
            }

            TimeSpan? part = text[unitStart..i] switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                _ => null,
            };
            if (part is null)
            {
                problem = "has an unknown unit; use h, m, s or ms";
                return false;
            }

            value += part.Value;
        }

        if (text.Length == 0)
        {
            problem = "is empty";
            return false;
        }

        return true;
    }
}
