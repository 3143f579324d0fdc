using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Overlay.Core.Addressing;
using Overlay.Core.Text;

namespace Overlay.Core.Config;

/// <summary>
/// Reads the network config JSON the way flannel does (property names case-insensitive, unknown ones
/// ignored, flannel's defaults) and validates it more strictly: every error names the field and the
/// value and says what would be valid, and all errors are reported at once.
/// </summary>
public static class NetworkConfigParser
{
    public const int MinMtu = 576;
    public const int MaxMtu = 65535;
    public const int MaxVni = (1 << 24) - 1;

    /// <summary>Parses and validates; throws <see cref="InvalidNetworkConfigException"/> listing every problem.</summary>
    public static NetworkConfig Parse(string json)
    {
        if (TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors))
        {
            return config;
        }

        throw new InvalidNetworkConfigException(errors);
    }

    public static bool TryParse(
        string json,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out NetworkConfig? config,
        out IReadOnlyList<NetworkConfigError> errors)
    {
        config = null;
        var problems = new List<NetworkConfigError>();
        errors = problems;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            problems.Add(new("config", $"not valid JSON {JsonSyntaxError.Describe(json, e)}; expected an object such as {{\"Network\": \"10.244.0.0/16\", \"Backend\": {{\"Type\": \"vxlan\"}}}}"));
            return false;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                problems.Add(new("config", $"expected a JSON object, got {Describe(document.RootElement)}"));
                return false;
            }

            try
            {
                var root = new Fields(document.RootElement, "", problems);
                config = Build(root, problems);
            }
            catch (InvalidOperationException e)
            {
                // JsonDocument parses "\ud800" (a lone surrogate escape) but cannot make a string of it.
                problems.Add(new("config", $"holds a name or string that is not valid Unicode ({e.Message}); remove the unpaired \\uD800-\\uDFFF escape"));
            }
        }

        if (problems.Count > 0)
        {
            config = null;
            return false;
        }

        return config is not null;
    }

    private static NetworkConfig? Build(Fields root, List<NetworkConfigError> problems)
    {
        bool enableIPv4 = root.Bool("EnableIPv4") ?? true;
        bool enableIPv6 = root.Bool("EnableIPv6") ?? false;
        if (!enableIPv4)
        {
            problems.Add(new("EnableIPv4", "false is not supported: Overlay needs an IPv4 Network (flannel's lease keys always carry an IPv4 subnet); remove EnableIPv4 or set it to true"));
        }

        var v4 = ResolveFamily(root, AddressFamily.InterNetwork, "Network", "SubnetLen", "SubnetMin", "SubnetMax", required: true, problems);
        IPv6NetworkConfig? v6 = null;
        if (enableIPv6)
        {
            var resolved = ResolveFamily(root, AddressFamily.InterNetworkV6, "IPv6Network", "IPv6SubnetLen", "IPv6SubnetMin", "IPv6SubnetMax", required: true, problems);
            if (resolved is { } r)
            {
                v6 = new IPv6NetworkConfig(r.Network, r.SubnetLen, r.Min, r.Max);
            }
        }

        BackendConfig? backend = ParseBackend(root, enableIPv6, problems);
        ServiceRanges services = ParseServices(root, v4?.Network, v6?.Network, enableIPv6, problems);
        if (v4 is not { } network || backend is null || problems.Count > 0)
        {
            return null;
        }

        return new NetworkConfig
        {
            Network = network.Network,
            SubnetLen = network.SubnetLen,
            SubnetMin = network.Min,
            SubnetMax = network.Max,
            IPv6 = v6,
            Backend = backend,
            ServiceNetwork = services.IPv4,
            ServiceIPv6Network = services.IPv6,
            ClusterDomain = services.ClusterDomain,
            ClusterDns = services.ClusterDns,
        };
    }

    /// <summary>The narrowest IPv4 service network: 16 addresses, 14 of them usable (/124 for IPv6).</summary>
    public const int NarrowestServiceNetwork = 28;

    public const int NarrowestServiceIPv6Network = 124;

    private readonly record struct ServiceRanges(IPNetwork? IPv4, IPNetwork? IPv6, string ClusterDomain, IPAddress? ClusterDns);

    private static ServiceRanges ParseServices(Fields root, IPNetwork? podNetwork, IPNetwork? podIPv6Network, bool enableIPv6, List<NetworkConfigError> problems)
    {
        IPNetwork? v4 = ParseServiceNetwork(root, "ServiceNetwork", AddressFamily.InterNetwork, "Network", podNetwork, problems);
        IPNetwork? v6 = null;
        string? v6Text = root.String("ServiceIPv6Network");
        if (v6Text is not null && !enableIPv6)
        {
            problems.Add(new("ServiceIPv6Network", $"'{v6Text}' is set but EnableIPv6 is not: IPv6 services need a dual-stack network; set \"EnableIPv6\": true with an IPv6Network, or remove ServiceIPv6Network"));
        }
        else
        {
            v6 = ParseServiceNetwork(root, "ServiceIPv6Network", AddressFamily.InterNetworkV6, "IPv6Network", podIPv6Network, problems);
        }

        if (v6 is not null && v4 is null && root.String("ServiceNetwork") is null)
        {
            problems.Add(new("ServiceIPv6Network", $"{v6} is set without a ServiceNetwork: a dual-stack service network needs its IPv4 half too; add \"ServiceNetwork\", e.g. \"198.19.0.0/16\""));
        }

        string domain = NetworkConfig.DefaultClusterDomain;
        if (root.String("ClusterDomain") is { } domainText)
        {
            if (DnsNames.TryNormalizeDomain(domainText, out string normalized, out string why))
            {
                domain = normalized;
            }
            else
            {
                problems.Add(new("ClusterDomain", $"'{domainText}' is not a DNS domain: {why}; give one such as \"{NetworkConfig.DefaultClusterDomain}\""));
            }
        }

        return new ServiceRanges(v4, v6, domain, ParseClusterDns(root, v4, problems));
    }

    /// <summary>ClusterDNS: an IPv4 address the service network can hold (not its network or broadcast address).</summary>
    private static IPAddress? ParseClusterDns(Fields root, IPNetwork? serviceNetwork, List<NetworkConfigError> problems)
    {
        if (root.String("ClusterDNS") is not { } text)
        {
            return null;
        }

        if (!IPAddressMath.TryParseDottedQuad(text, out IPAddress? address))
        {
            problems.Add(new("ClusterDNS", $"'{text}' is not an IPv4 address; give the cluster DNS service's address from the ServiceNetwork, e.g. \"198.19.0.10\", or remove ClusterDNS to use .10 of the ServiceNetwork"));
            return null;
        }

        if (serviceNetwork is not { } network)
        {
            if (root.String("ServiceNetwork") is null)
            {
                problems.Add(new("ClusterDNS", $"{address} is set without a ServiceNetwork: cluster DNS answers at an address of the service network; add \"ServiceNetwork\" (e.g. \"198.19.0.0/16\") or remove ClusterDNS"));
            }

            return null;
        }

        if (new Services.ClusterIPAllocator(network).RequestProblem(address) is { } problem)
        {
            problems.Add(new("ClusterDNS", problem.Replace("ClusterIP", "ClusterDNS", StringComparison.Ordinal).Replace(", or none to get one picked", ", or remove ClusterDNS to use .10", StringComparison.Ordinal)));
            return null;
        }

        return address;
    }

    private static IPNetwork? ParseServiceNetwork(Fields root, string field, AddressFamily family, string podField, IPNetwork? podNetwork, List<NetworkConfigError> problems)
    {
        string? text = root.String(field);
        if (text is null)
        {
            return null;
        }

        bool v4 = family == AddressFamily.InterNetwork;
        string familyName = v4 ? "IPv4" : "IPv6";
        string example = v4 ? "198.19.0.0/16" : "2001:db8:ffff::/112";
        int narrowest = v4 ? NarrowestServiceNetwork : NarrowestServiceIPv6Network;
        if (!IPAddressMath.TryParseNetwork(text, out IPNetwork network, out string why))
        {
            problems.Add(new(field, $"'{text}' is not a valid network: {why}; expected an {familyName} CIDR such as \"{example}\""));
            return null;
        }

        if (network.BaseAddress.AddressFamily != family)
        {
            problems.Add(new(field, $"'{text}' is not an {familyName} network; expected an {familyName} CIDR such as \"{example}\""));
            return null;
        }

        if (network.PrefixLength > narrowest)
        {
            problems.Add(new(field, $"'{text}' is too small: a service network needs at least /{narrowest} (16 addresses)"));
            return null;
        }

        if (ServiceNetworkChecks.SpecialRange(network) is { } special)
        {
            problems.Add(new(field, $"{network} overlaps {special}, which cannot carry services; give a unicast range apart from the pod network, such as \"{example}\""));
            return null;
        }

        if (podNetwork is { } pods && IPAddressMath.Overlaps(network, pods))
        {
            problems.Add(new(field, $"{network} overlaps the pod network ({podField} {pods}); the service network must be a range of its own, apart from {pods}"));
            return null;
        }

        return network;
    }

    private readonly record struct FamilyRange(IPNetwork Network, int SubnetLen, IPAddress Min, IPAddress Max);

    private static FamilyRange? ResolveFamily(
        Fields root,
        AddressFamily family,
        string networkField,
        string lengthField,
        string minField,
        string maxField,
        bool required,
        List<NetworkConfigError> problems)
    {
        int bits = IPAddressMath.BitLength(family);
        string example = family == AddressFamily.InterNetwork ? "10.244.0.0/16" : "2001:db8:1234::/48";
        string familyName = family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
        int before = problems.Count;

        string? networkText = root.String(networkField);
        int? subnetLen = root.Int(lengthField);
        string? minText = root.String(minField);
        string? maxText = root.String(maxField);

        if (networkText is null)
        {
            if (required)
            {
                problems.Add(new(networkField, $"missing: please define a correct {networkField} parameter, an {familyName} CIDR such as \"{example}\""));
            }

            return null;
        }

        if (!IPAddressMath.TryParseNetwork(networkText, out IPNetwork network, out string why))
        {
            problems.Add(new(networkField, $"'{networkText}' is not a valid network: {why}; expected an {familyName} CIDR such as \"{example}\""));
            return null;
        }

        if (network.BaseAddress.AddressFamily != family)
        {
            problems.Add(new(networkField, $"'{networkText}' is not an {familyName} network; expected an {familyName} CIDR such as \"{example}\""));
            return null;
        }

        // flannel's defaults: a /22 or wider IPv4 network gets /24 subnets (IPv6: /62 or wider gets /64),
        // a narrower one gets prefix + 2 so that it still holds four subnets.
        int wideDefault = family == AddressFamily.InterNetwork ? 24 : 64;
        int wideLimit = wideDefault - 2;
        int narrowest = bits - 4; // /28 for IPv4, /124 for IPv6
        int len;
        if (subnetLen is { } given)
        {
            len = given;
            if (given <= 0 || given > bits - 2)
            {
                problems.Add(new(lengthField, $"{given} is not valid: {lengthField} must be less than /{bits - 1} (and more than 0); for {network} use {network.PrefixLength + 2}..{bits - 2}"));
                return null;
            }

            if (given < network.PrefixLength + 2)
            {
                problems.Add(new(lengthField, $"{given} is too short for {network}: the network must be able to accommodate at least four subnets, so {lengthField} must be at least {network.PrefixLength + 2}"));
                return null;
            }
        }
        else if (network.PrefixLength <= wideLimit)
        {
            len = wideDefault;
        }
        else if (network.PrefixLength <= narrowest)
        {
            len = network.PrefixLength + 2;
        }
        else
        {
            problems.Add(new(networkField, $"'{networkText}' is too small: the minimum useful network prefix is /{narrowest}"));
            return null;
        }

        UInt128 size = IPAddressMath.BlockSize(family, len);
        UInt128 first = IPAddressMath.First(network);
        UInt128 last = IPAddressMath.Last(network);
        IPAddress min = IPAddressMath.FromUInt128(first + size, family);
        IPAddress max = IPAddressMath.FromUInt128(last - size + 1, family);

        if (minText is not null && ParseBound(minField, minText, family, network, len, problems) is { } givenMin)
        {
            min = givenMin;
        }

        if (maxText is not null && ParseBound(maxField, maxText, family, network, len, problems) is { } givenMax)
        {
            max = givenMax;
        }

        if (problems.Count == before && IPAddressMath.ToUInt128(min) > IPAddressMath.ToUInt128(max))
        {
            problems.Add(new(minField, $"{min} is above {maxField} {max}: no subnet could ever be leased; {minField} must not be greater than {maxField}"));
        }

        return problems.Count == before ? new FamilyRange(network, len, min, max) : null;
    }

    private static IPAddress? ParseBound(string field, string text, AddressFamily family, IPNetwork network, int len, List<NetworkConfigError> problems)
    {
        if (!IPAddressMath.TryParseAddress(text, out IPAddress? address) || address.AddressFamily != family)
        {
            problems.Add(new(field, $"'{text}' is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address; expected the network address of a /{len} subnet inside {network}"));
            return null;
        }

        if (!network.Contains(address))
        {
            problems.Add(new(field, $"{address} is not in the range of the Network {network}"));
            return null;
        }

        if (!IPAddressMath.IsNetworkAddress(address, len))
        {
            problems.Add(new(field, $"{address} is not on a /{len} (SubnetLen) boundary: {address}; the subnet containing it starts at {IPAddressMath.MaskedAddress(address, len)}"));
            return null;
        }

        return address;
    }

    private static BackendConfig? ParseBackend(Fields root, bool enableIPv6, List<NetworkConfigError> problems)
    {
        int reported = problems.Count;
        Fields? backend = root.Object("Backend");
        if (backend is null && problems.Count == reported)
        {
            problems.Add(new("Backend", "missing: flannel would fall back to its udp backend, but Overlay serves only vxlan; add \"Backend\": {\"Type\": \"vxlan\"}"));
        }

        if (backend is null)
        {
            return null;
        }

        int before = problems.Count;
        string? type = backend.String("Type");
        if (type is null)
        {
            problems.Add(new("Backend.Type", "missing: Overlay serves only the vxlan backend; set \"Type\": \"vxlan\""));
        }
        else if (!type.Equals(BackendConfig.VxlanType, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(new("Backend.Type", $"'{type}' is not supported: Overlay serves only the vxlan backend; set \"Type\": \"vxlan\""));
        }

        int vni = backend.Int("VNI") ?? 1;
        if (vni is < 1 or > MaxVni)
        {
            problems.Add(new("Backend.VNI", $"{vni} is out of range: a VXLAN network identifier is 1..{MaxVni}"));
        }

        int port = backend.Int("Port") ?? 0;
        if (port is < 0 or > 65535)
        {
            problems.Add(new("Backend.Port", $"{port} is out of range: use 1..65535, or 0 for the kernel's default ({BackendConfig.KernelDefaultPort})"));
        }

        int mtu = backend.Int("MTU") ?? 0;
        int minMtu = enableIPv6 ? 1350 : MinMtu; // IPv6 inside the tunnel needs 1280 after 70 bytes of overhead
        if (mtu != 0 && (mtu < minMtu || mtu > MaxMtu))
        {
            problems.Add(new("Backend.MTU", $"{mtu} is not a sane MTU: use {minMtu}..{MaxMtu}, or 0 (or omit it) to take the chosen interface's MTU"));
        }

        bool gbp = backend.Bool("GBP") ?? false;
        bool learning = backend.Bool("Learning") ?? false;
        bool directRouting = backend.Bool("DirectRouting") ?? false;

        if (problems.Count > before)
        {
            return null;
        }

        return new BackendConfig
        {
            Type = BackendConfig.VxlanType,
            Vni = vni,
            Port = port,
            Mtu = mtu,
            Gbp = gbp,
            Learning = learning,
            DirectRouting = directRouting,
        };
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string {element.GetRawText()}", // raw: GetString throws on a lone surrogate escape
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {element.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => element.ValueKind.ToString().ToLowerInvariant(),
    };

    /// <summary>An object's members looked up case-insensitively, with type errors reported against the field's path.</summary>
    private sealed class Fields
    {
        private readonly Dictionary<string, JsonElement> _members = new(StringComparer.OrdinalIgnoreCase);
        private readonly string _path;
        private readonly List<NetworkConfigError> _problems;

        public Fields(JsonElement element, string path, List<NetworkConfigError> problems)
        {
            _path = path;
            _problems = problems;
            foreach (JsonProperty property in element.EnumerateObject())
            {
                _members[property.Name] = property.Value; // as in Go's encoding/json, the last duplicate wins
            }
        }

        private bool TryGet(string name, out JsonElement value) =>
            _members.TryGetValue(name, out value) && value.ValueKind != JsonValueKind.Null;

        private string FieldName(string name) => _path.Length == 0 ? name : $"{_path}.{name}";

        public string? String(string name)
        {
            if (!TryGet(name, out JsonElement value))
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                _problems.Add(new(FieldName(name), $"expected a string, got {Describe(value)}"));
                return null;
            }

            return value.GetString();
        }

        public int? Int(string name)
        {
            if (!TryGet(name, out JsonElement value))
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int number))
            {
                _problems.Add(new(FieldName(name), $"expected a whole number, got {Describe(value)}"));
                return null;
            }

            return number;
        }

        public bool? Bool(string name)
        {
            if (!TryGet(name, out JsonElement value))
            {
                return null;
            }

            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                _problems.Add(new(FieldName(name), $"expected true or false, got {Describe(value)}"));
                return null;
            }

            return value.GetBoolean();
        }

        public Fields? Object(string name)
        {
            if (!TryGet(name, out JsonElement value))
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                _problems.Add(new(FieldName(name), $"expected an object such as {{\"Type\": \"vxlan\"}}, got {Describe(value)}"));
                return null;
            }

            return new Fields(value, FieldName(name), _problems);
        }
    }
}
