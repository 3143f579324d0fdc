namespace Overlay.Core.Text;

/// <summary>
/// The name rules Kubernetes applies to namespaces, services, ports and labels (RFC 1123 and RFC 1035 labels,
/// IANA service names) and to a cluster's DNS domain. Each check returns null when the text is valid, else
/// what is wrong with it, for a message that also names the input.
/// </summary>
public static class DnsNames
{
    public const int MaxLabelLength = 63;

    public const int MaxDomainLength = 253;

    /// <summary>IANA service names (RFC 6335) are at most 15 characters.</summary>
    public const int MaxPortNameLength = 15;

    /// <summary>An RFC 1123 label (a namespace): lower-case letters, digits and '-', starting and ending with a letter or digit.</summary>
    public static string? Rfc1123LabelProblem(string text)
    {
        if (text.Length == 0)
        {
            return "it is empty";
        }

        if (text.Length > MaxLabelLength)
        {
            return $"it is {text.Length} characters long, more than {MaxLabelLength}";
        }

        foreach (char c in text)
        {
            if (!IsLowerAlphanumeric(c) && c != '-')
            {
                return $"'{c}' is not allowed (only lower-case letters, digits and '-')";
            }
        }

        return text[0] == '-' || text[^1] == '-' ? "it must start and end with a letter or digit" : null;
    }

    /// <summary>An RFC 1035 label (a service name): as <see cref="Rfc1123LabelProblem"/>, and starting with a letter.</summary>
    public static string? Rfc1035LabelProblem(string text) =>
        Rfc1123LabelProblem(text) ?? (text[0] is >= 'a' and <= 'z' ? null : "it must start with a letter");

    /// <summary>
    /// An IANA service name (a port name, Kubernetes' IANA_SVC_NAME): at most 15 lower-case letters, digits and
    /// '-', at least one letter, starting and ending with a letter or digit, no "--".
    /// </summary>
    public static string? PortNameProblem(string text)
    {
        if (Rfc1123LabelProblem(text) is { } problem)
        {
            return problem;
        }

        if (text.Length > MaxPortNameLength)
        {
            return $"it is {text.Length} characters long, more than {MaxPortNameLength}";
        }

        if (text.Contains("--", StringComparison.Ordinal))
        {
            return "it must not contain \"--\"";
        }

        return text.Any(c => c is >= 'a' and <= 'z') ? null : "it must contain a letter";
    }

    /// <summary>
    /// A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters: letters,
    /// digits, '-', '_' and '.', starting and ending with a letter or digit (<c>app</c>, <c>example.com/tier</c>).
    /// </summary>
    public static string? LabelKeyProblem(string text)
    {
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            string prefix = text[..slash];
            if (prefix.Length == 0)
            {
                return "the prefix before '/' is empty";
            }

            if (DomainProblem(prefix) is { } problem)
            {
                return $"the prefix '{prefix}' is not a DNS subdomain: {problem}";
            }

            text = text[(slash + 1)..];
        }

        return text.Length == 0 ? "the name is empty" : LabelValueProblem(text);
    }

    /// <summary>A label value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit.</summary>
    public static string? LabelValueProblem(string text)
    {
        if (text.Length > MaxLabelLength)
        {
            return $"it is {text.Length} characters long, more than {MaxLabelLength}";
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return $"'{c}' is not allowed (only letters, digits, '-', '_' and '.')";
            }
        }

        return text.Length > 0 && (!char.IsAsciiLetterOrDigit(text[0]) || !char.IsAsciiLetterOrDigit(text[^1]))
            ? "it must start and end with a letter or digit"
            : null;
    }

    /// <summary>A DNS subdomain: dot-separated RFC 1123 labels, at most 253 characters.</summary>
    public static string? DomainProblem(string text)
    {
        if (text.Length == 0)
        {
            return "it is empty";
        }

        if (text.Length > MaxDomainLength)
        {
            return $"it is {text.Length} characters long, more than {MaxDomainLength}";
        }

        foreach (string label in text.Split('.'))
        {
            if (Rfc1123LabelProblem(label) is { } problem)
            {
                return label.Length == 0 ? "it has an empty label (two dots in a row, or a dot at the start)" : $"label '{label}': {problem}";
            }
        }

        return null;
    }

    /// <summary>A cluster domain as given (any case, a trailing dot allowed), lower-cased and without its trailing dot.</summary>
    public static bool TryNormalizeDomain(string text, out string domain, out string problem)
    {
        domain = text.EndsWith('.') ? text[..^1].ToLowerInvariant() : text.ToLowerInvariant();
        problem = DomainProblem(domain) ?? "";
        return problem.Length == 0;
    }

    private static bool IsLowerAlphanumeric(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
}
