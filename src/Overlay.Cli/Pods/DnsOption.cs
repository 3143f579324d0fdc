namespace Overlay.Cli.Pods;

/// <summary>One resolver option of a pod's dnsConfig: a required name and an optional value (<c>ndots</c>, <c>2</c>).</summary>
public sealed record DnsOption(string Name, string? Value = null)
{
    /// <summary>NAME or NAME:VALUE, as <c>--dns-option</c> takes it and resolv.conf writes it.</summary>
    public static DnsOption Parse(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string name = colon < 0 ? text : text[..colon];
        string? value = colon < 0 ? null : text[(colon + 1)..];
        if (name.Length == 0)
        {
            throw new InvalidPodSpecException($"DNS option '{text}' has no name; an option is NAME or NAME:VALUE (e.g. ndots:2, edns0)");
        }

        if (text.Any(char.IsWhiteSpace))
        {
            throw new InvalidPodSpecException($"DNS option '{text}' contains white space; an option is NAME or NAME:VALUE (e.g. ndots:2, edns0)");
        }

        return new DnsOption(name, string.IsNullOrEmpty(value) ? null : value);
    }

    public override string ToString() => Value is null ? Name : Name + ":" + Value;
}

internal static class DnsOptions
{
    public static string NameOf(string option)
    {
        int colon = option.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? option : option[..colon];
    }
}
