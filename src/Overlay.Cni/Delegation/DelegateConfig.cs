using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Overlay.Cni.Config;
using Overlay.Core.Addressing;
using Overlay.Cni.Protocol;

namespace Overlay.Cni.Delegation;

/// <summary>
/// Renders the config of the plugin this one delegates to, as flannel's plugin does: the <c>bridge</c> plugin
/// with host-local IPAM over the node's subnet, a route to the cluster network, the MTU of subnet.env, and
/// IP masquerading on the bridge only when overlayd does not masquerade itself. Members of the user's
/// <c>delegate</c> object win over the generated ones; members of the user's <c>ipam</c> object (and of
/// <c>delegate.ipam</c>) win over the generated IPAM. <c>cniVersion</c> and <c>name</c> always come from the
/// outer config.
/// </summary>
public static class DelegateConfig
{
    public const string DefaultType = "bridge";

    public static string Render(NetworkConfig config, NodeSubnet subnet)
    {
        JsonElement? userDelegate = config.Delegate;
        string type = StringMember(userDelegate, "type") ?? DefaultType;
        JsonElement? delegateIpam = userDelegate is { } d && d.TryGetProperty("ipam", out JsonElement ipam) && ipam.ValueKind == JsonValueKind.Object
            ? ipam
            : null;

        List<GeneratedMember> members =
        [
            new("cniVersion", json => json.WriteStringValue(config.CniVersion), Fixed: true),
            new("name", json => json.WriteStringValue(config.Name), Fixed: true),
            new("type", json => json.WriteStringValue(DefaultType)),
            new("ipMasq", json => json.WriteBooleanValue(!subnet.IpMasq)),
            new("mtu", json => json.WriteNumberValue(subnet.Mtu)),
        ];
        if (type == DefaultType)
        {
            members.Add(new("isGateway", json => json.WriteBooleanValue(true)));

            // A pod reaching itself through its service comes back out of the port it left by; the bridge drops
            // that unless the port is in hairpin mode. flannel's plugin leaves this to its config (kube-flannel.yml's
            // delegate says "hairpinMode": true); here it is the default, and the delegate may still turn it off.
            members.Add(new("hairpinMode", json => json.WriteBooleanValue(true)));
        }

        // A delegate.ipam object is merged member by member over the top-level "ipam", not swapped in whole.
        members.Add(new("ipam", json => WriteIpam(json, subnet, config.Ipam, delegateIpam), Fixed: true));
        if (config.RuntimeConfig is { } runtimeConfig)
        {
            members.Add(new("runtimeConfig", json => runtimeConfig.WriteTo(json)));
        }

        return Write(json => JsonObjectWriter.WriteMerged(json, members, userDelegate));
    }

    /// <summary>The stored delegate config with the outer config's prevResult (CHECK needs it; chains pass it on).</summary>
    public static string WithPrevResult(string delegateJson, JsonElement? prevResult)
    {
        if (prevResult is not { } previous)
        {
            return delegateJson;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(delegateJson);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodeFailure, "the stored delegate config is not valid JSON", e.Message);
        }

        using (document)
        {
            JsonElement stored = document.RootElement;
            return Write(json => JsonObjectWriter.WriteMerged(json, [new("prevResult", previous.WriteTo, Fixed: true)], stored));
        }
    }

    private static void WriteIpam(Utf8JsonWriter json, NodeSubnet subnet, JsonElement? userIpam, JsonElement? delegateIpam)
    {
        // flannel's routes have no "gw" (the bridge plugin then uses the range's gateway, the subnet's .1). We
        // name that same gateway, because the bridge plugin before 1.3.0 (Debian 12 ships 1.1.1) fails CHECK on
        // a route without one (containernetworking/plugins#886). With the user's own ranges the gateway is
        // theirs to say, so the routes stay without one.
        bool userRanges = HasMember(userIpam, "ranges") || HasMember(delegateIpam, "ranges");
        List<GeneratedMember> members =
        [
            new("type", ipam => ipam.WriteStringValue("host-local")),
            new("ranges", ipam =>
            {
                ipam.WriteStartArray();
                WriteRangeSet(ipam, subnet.Subnet);
                if (subnet.IPv6Subnet is { } v6)
                {
                    WriteRangeSet(ipam, v6);
                }

                ipam.WriteEndArray();
            }),
            new("routes", ipam =>
            {
                ipam.WriteStartArray();
                WriteRoute(ipam, subnet.Network, userRanges ? null : Gateway(subnet.Subnet));
                if (subnet.IPv6Network is { } v6Network && subnet.IPv6Subnet is { } v6Subnet)
                {
                    WriteRoute(ipam, v6Network, userRanges ? null : Gateway(v6Subnet));
                }

                ipam.WriteEndArray();
            }),
        ];

        JsonObjectWriter.WriteMerged(json, members, userIpam, delegateIpam);
    }

    private static void WriteRangeSet(Utf8JsonWriter json, IPNetwork subnet)
    {
        json.WriteStartArray();
        json.WriteStartObject();
        json.WriteString("subnet", subnet.ToString());
        json.WriteEndObject();
        json.WriteEndArray();
    }

    private static void WriteRoute(Utf8JsonWriter json, IPNetwork network, IPAddress? gateway)
    {
        json.WriteStartObject();
        json.WriteString("dst", network.ToString());
        if (gateway is not null)
        {
            json.WriteString("gw", gateway.ToString());
        }

        json.WriteEndObject();
    }

    /// <summary>host-local's default gateway of a range: its first address, the .1 that FLANNEL_SUBNET names.</summary>
    private static IPAddress Gateway(IPNetwork subnet) => IPAddressMath.Offset(subnet, 1);

    private static bool HasMember(JsonElement? element, string name) => element is { } e && e.TryGetProperty(name, out _);

    private static string? StringMember(JsonElement? element, string name) =>
        element is { } e && e.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
