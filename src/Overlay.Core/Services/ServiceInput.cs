using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;

namespace Overlay.Core.Services;

/// <summary>
/// A service port as the CLI takes it: <c>[NAME:]PORT[:TARGET][/tcp|udp]</c>, e.g. <c>80</c>, <c>80:8080</c>,
/// <c>http:80:8080/tcp</c>, <c>dns:53/udp</c>. The target port defaults to the port, the protocol to TCP.
/// </summary>
public static class ServicePortSpec
{
    public const string Syntax = "[NAME:]PORT[:TARGET][/tcp|udp]";

    public static ServicePort Parse(string text) =>
        TryParse(text, out ServicePort? port, out string error) ? port : throw new FormatException(error);

    public static bool TryParse(string text, [NotNullWhen(true)] out ServicePort? port, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        port = null;
        string Invalid(string why) => $"port '{text}' is not valid: {why}; give {Syntax}, e.g. 80, 80:8080 or http:80:8080/tcp";

        string rest = text;
        ServiceProtocol protocol = ServiceProtocol.Tcp;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            string protocolText = text[(slash + 1)..];
            if (!TryParseProtocol(protocolText, out protocol))
            {
                error = Invalid(protocolText.Length == 0 ? "the protocol after '/' is empty" : $"'{protocolText}' is not a protocol Overlay serves (tcp or udp)");
                return false;
            }

            rest = text[..slash];
        }

        string[] parts = rest.Split(':');
        string? name = null;
        string portText;
        string? targetText = null;
        switch (parts.Length)
        {
            case 1:
                portText = parts[0];
                break;
            case 2 when IsDigits(parts[0]):
                (portText, targetText) = (parts[0], parts[1]);
                break;
            case 2:
                (name, portText) = (parts[0], parts[1]);
                break;
            case 3:
                (name, portText, targetText) = (parts[0], parts[1], parts[2]);
                break;
            default:
                error = Invalid($"it has {parts.Length - 1} ':', at most 2 are allowed");
                return false;
        }

        if (name is not null && ServiceValidation.PortNameProblem(name) is { } nameProblem)
        {
            error = Invalid(nameProblem);
            return false;
        }

        if (!TryParsePortNumber(portText, out int number, out string why))
        {
            error = Invalid($"port {why}");
            return false;
        }

        int target = number;
        if (targetText is not null && !TryParsePortNumber(targetText, out target, out why))
        {
            error = Invalid($"target port {why}");
            return false;
        }

        port = new ServicePort(name, number, target, protocol);
        error = "";
        return true;
    }

    /// <summary>The CLI's form of a port, the shortest that parses back to it: <c>http:80:8080/tcp</c>, <c>53/udp</c>, <c>80/tcp</c>.</summary>
    public static string Format(ServicePort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        string name = port.Name is null ? "" : port.Name + ":";
        string target = port.TargetPort == port.Port ? "" : ":" + port.TargetPort.ToString(CultureInfo.InvariantCulture);
        return $"{name}{port.Port.ToString(CultureInfo.InvariantCulture)}{target}/{ProtocolName(port.Protocol).ToLowerInvariant()}";
    }

    /// <summary>The protocol as Kubernetes and the registry write it: TCP, UDP.</summary>
    public static string ProtocolName(ServiceProtocol protocol) => protocol switch
    {
        ServiceProtocol.Tcp => "TCP",
        ServiceProtocol.Udp => "UDP",
        _ => protocol.ToString().ToUpperInvariant(),
    };

    /// <summary>tcp or udp, any case.</summary>
    public static bool TryParseProtocol(string text, out ServiceProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (text.ToLowerInvariant())
        {
            case "tcp":
                protocol = ServiceProtocol.Tcp;
                return true;
            case "udp":
                protocol = ServiceProtocol.Udp;
                return true;
            default:
                protocol = default;
                return false;
        }
    }

    internal static bool TryParsePortNumber(string text, out int number, out string why)
    {
        number = 0;
        if (text.Length == 0)
        {
            why = "is empty";
            return false;
        }

        if (!IsDigits(text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out number))
        {
            why = IsDigits(text) ? $"{text} is out of range {ServiceValidation.MinPort}..{ServiceValidation.MaxPort}" : $"'{text}' is not a number";
            return false;
        }

        if (number is < ServiceValidation.MinPort or > ServiceValidation.MaxPort)
        {
            why = $"{number} is out of range {ServiceValidation.MinPort}..{ServiceValidation.MaxPort}";
            return false;
        }

        why = "";
        return true;
    }

    private static bool IsDigits(string text) => text.Length > 0 && text.All(char.IsAsciiDigit);
}

/// <summary>A selector as the CLI takes it: <c>KEY=VALUE</c>, repeatable, or several joined by commas (<c>app=web,tier=front</c>).</summary>
public static class SelectorSpec
{
    /// <summary>Null when key and value are a valid label, else a message naming them.</summary>
    public static string? Problem(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (Text.DnsNames.LabelKeyProblem(key) is { } keyProblem)
        {
            return $"label key '{key}' is not valid: {keyProblem}; a key is a name of up to 63 letters, digits, '-', '_' and '.' (e.g. app), optionally after a DNS prefix and '/' (example.com/tier)";
        }

        if (Text.DnsNames.LabelValueProblem(value) is { } valueProblem)
        {
            return $"label value '{value}' (of {key}) is not valid: {valueProblem}; a value is empty or up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
        }

        return null;
    }

    /// <summary>Every <c>K=V</c> of every text, in one selector; false with a message naming the input when one is not valid or a key is given twice.</summary>
    public static bool TryParse(IEnumerable<string> texts, [NotNullWhen(true)] out IReadOnlyDictionary<string, string>? selector, out string error)
    {
        ArgumentNullException.ThrowIfNull(texts);
        selector = null;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string text in texts)
        {
            foreach (string pair in text.Split(','))
            {
                int equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals < 0)
                {
                    error = $"selector '{pair}' is not valid: it has no '='; give KEY=VALUE, e.g. app=web";
                    return false;
                }

                string key = pair[..equals];
                string value = pair[(equals + 1)..];
                if (Problem(key, value) is { } problem)
                {
                    error = $"selector '{pair}': {problem}";
                    return false;
                }

                if (!labels.TryAdd(key, value))
                {
                    error = $"selector '{pair}': the label key '{key}' is already given (={labels[key]}); a selector names each key once";
                    return false;
                }
            }
        }

        if (labels.Count == 0)
        {
            error = "the selector is empty; give KEY=VALUE, e.g. app=web";
            return false;
        }

        selector = labels;
        error = "";
        return true;
    }
}

/// <summary>An endpoint as the CLI takes it: <c>IP[:PORT]</c>, an IPv6 address in brackets when it has a port (<c>[2001:db8::5]:8080</c>).</summary>
public static class EndpointSpec
{
    public const string Syntax = "IP[:PORT]";

    public static ServiceEndpoint Parse(string text) =>
        TryParse(text, out ServiceEndpoint? endpoint, out string error) ? endpoint : throw new FormatException(error);

    public static bool TryParse(string text, [NotNullWhen(true)] out ServiceEndpoint? endpoint, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        endpoint = null;
        string Invalid(string why) => $"endpoint '{text}' is not valid: {why}; give {Syntax}, e.g. 198.18.1.5:8080, 198.18.1.5 or [2001:db8::5]:8080";

        string addressText = text;
        string? portText = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = Invalid("the '[' has no ']'");
                return false;
            }

            addressText = text[1..close];
            string after = text[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    error = Invalid($"'{after}' after ']' is not ':PORT'");
                    return false;
                }

                portText = after[1..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            (addressText, portText) = (text[..colon], text[(colon + 1)..]);
        }

        if (!IPAddressMath.TryParseAddress(addressText, out IPAddress? address))
        {
            error = Invalid($"'{addressText}' is not an IP address");
            return false;
        }

        if (text.StartsWith('[') && address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            error = Invalid("brackets are for IPv6 addresses");
            return false;
        }

        int? port = null;
        if (portText is not null)
        {
            if (!ServicePortSpec.TryParsePortNumber(portText, out int number, out string why))
            {
                error = Invalid($"port {why}");
                return false;
            }

            port = number;
        }

        endpoint = new ServiceEndpoint(address, port);
        error = "";
        return true;
    }

    public static string Format(ServiceEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        string address = endpoint.Address.ToString();
        return endpoint.Port is not { } port ? address
            : endpoint.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{port.ToString(CultureInfo.InvariantCulture)}"
            : $"{address}:{port.ToString(CultureInfo.InvariantCulture)}";
    }
}
