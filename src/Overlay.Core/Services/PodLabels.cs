namespace Overlay.Core.Services;

/// <summary>
/// Kubernetes' syntax for the names a pod carries: label keys and values, namespaces (DNS labels) and pod names
/// (DNS subdomains). A pod's namespace and name also name its file in the pods folder (<c>&lt;ns&gt;_&lt;name&gt;.json</c>)
/// and its etcd key, so neither may hold <c>/</c> or <c>_</c>.
/// </summary>
public static class PodLabels
{
    private const int NameLimit = 63;
    private const int PrefixLimit = 253;

    /// <summary>
    /// A label key is <c>[prefix/]name</c>: name 1..63 alphanumerics with <c>-_.</c> inside; prefix a DNS subdomain
    /// of at most 253 characters. False with the reason otherwise.
    /// </summary>
    public static bool IsValidKey(string? key, out string reason)
    {
        if (string.IsNullOrEmpty(key))
        {
            reason = "label key '' is empty";
            return false;
        }

        int slash = key.IndexOf('/', StringComparison.Ordinal);
        string name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0)
        {
            string prefix = key[..slash];
            if (prefix.Length == 0 || prefix.Length > PrefixLimit || !IsDnsSubdomain(prefix))
            {
                reason = $"label key '{key}' has an invalid prefix '{prefix}': it must be a DNS subdomain (lower-case letters, digits, '-' and '.', at most {PrefixLimit})";
                return false;
            }
        }

        if (name.Length == 0 || name.Length > NameLimit || !IsQualifiedName(name))
        {
            reason = $"label key '{key}' is invalid: its name must be 1 to {NameLimit} letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>A label value is empty, or 1..63 alphanumerics with <c>-_.</c> inside.</summary>
    public static bool IsValidValue(string? value, out string reason)
    {
        if (value is null || (value.Length > 0 && (value.Length > NameLimit || !IsQualifiedName(value))))
        {
            reason = $"label value '{value}' is invalid: it must be empty or 1 to {NameLimit} letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>A namespace is a DNS label: 1..63 lower-case letters, digits and '-', starting and ending with a letter or digit.</summary>
    public static bool IsValidNamespace(string? value, out string reason)
    {
        if (string.IsNullOrEmpty(value) || value.Length > NameLimit || value.Contains('.', StringComparison.Ordinal) || !IsDnsSubdomain(value))
        {
            reason = $"namespace '{value}' is not a DNS label (1 to {NameLimit} lower-case letters, digits and '-', starting and ending with a letter or digit)";
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>A pod name is a DNS subdomain: at most 253 lower-case letters, digits, '-' and '.'.</summary>
    public static bool IsValidPodName(string? value, out string reason)
    {
        if (string.IsNullOrEmpty(value) || value.Length > PrefixLimit || !IsDnsSubdomain(value))
        {
            reason = $"pod name '{value}' is not a DNS subdomain (at most {PrefixLimit} lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit)";
            return false;
        }

        reason = "";
        return true;
    }

    private static bool IsQualifiedName(string text) =>
        char.IsAsciiLetterOrDigit(text[0]) && char.IsAsciiLetterOrDigit(text[^1])
        && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsDnsSubdomain(string text)
    {
        foreach (string part in text.Split('.'))
        {
            if (part.Length is 0 or > NameLimit
                || !IsLowerAlphanumeric(part[0]) || !IsLowerAlphanumeric(part[^1])
                || !part.All(c => IsLowerAlphanumeric(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLowerAlphanumeric(char c) => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c);
}
