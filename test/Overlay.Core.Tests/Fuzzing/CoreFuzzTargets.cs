using System.Globalization;
using System.Net;
using System.Text.Json;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Core.Services;
using Overlay.Core.SubnetFile;
using Overlay.TestKit;

namespace Overlay.Core.Tests.Fuzzing;

/// <summary>
/// The Core parsers of what other parties write, as fuzz targets: lease keys and values (flanneld and other nodes
/// through etcd), the network config (an admin through etcd), subnet.env (read back at start; an admin may edit
/// it), and the pod and service records (the CNI plugin, overlayctl and other nodes through etcd). Each check
/// allows only the parser's documented refusal (a false from Try*, <see cref="InvalidNetworkConfigException"/>)
/// and, where a writer exists, checks that what was accepted is written and read back to the same value.
/// The tests run them for a fixed count with a fixed seed; <c>Overlay.Benchmarks fuzz</c> runs them for minutes.
/// </summary>
public static class CoreFuzzTargets
{
    /// <summary>Characters and fragments of JSON that turn a value into another shape.</summary>
    public static readonly string[] JsonTokens =
    [
        "\"", "{", "}", "[", "]", ",", ":", "null", "true", "false", "0", "-1", "1e400", "-0", "1.5", "2147483648",
        "-2147483649", "9223372036854775808", "\"\"", "{}", "[]", "\\u0000", "\\ud800", "\\\"", "\\", "\u00e9", "\uffff",
        "\U0001F600", " ", "\n", "/*", "*/", "//", "\"PublicIP\":", "\"publicip\":", "\"VNI\":", "\"VtepMAC\":",
        "\"BackendData\":", "\"Network\":", "\"SubnetLen\":", "\"Backend\":", "\"Type\":", "\"EnableIPv6\":",
        "\"IPv6Network\":", "\"ports\":", "\"selector\":", "\"endpoints\":", "\"labels\":", "\"ips\":", "\"node\":",
        "198.18.0.0", "2001:db8::", "/16", "/0", "/32", "/128", "&", "-24", "::", ".",
    ];

    /// <summary>Fragments of the subnet key grammar: <c>ipv4-len[&amp;ipv6-len]</c>.</summary>
    public static readonly string[] KeyTokens =
    [
        "&", "-", "--", ".", "..", ":", "::", "0", "00", "01", "255", "256", "999", "32", "33", "128", "129", "-0", "-00",
        "-024", "+24", " ", "\t", "\n", "\0", "%eth0", "::ffff:198.18.0.0", "2001:DB8::", "2001:0db8::", "198.18.0.0-24",
        "2001:db8::-64", "\u0661", "\uff10", "%", "/", "x",
    ];

    public static readonly string[] SubnetEnvTokens =
    [
        "\n", "\r\n", "=", "==", "\"", "'", "#", "export ", "export\t", " ", "\t", "/", "/24", "/64", "/33", "/129",
        "FLANNEL_NETWORK=", "FLANNEL_SUBNET=", "FLANNEL_IPV6_NETWORK=", "FLANNEL_IPV6_SUBNET=", "FLANNEL_MTU=",
        "FLANNEL_IPMASQ=", "198.18.0.1", "2001:db8::1", "::", "%eth0", "\0", "-1", "99999999999", "true", "maybe",
    ];

    public static readonly string[] LeaseValueSeeds =
    [
        """{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:44"}}""",
        """{"PublicIP":"192.0.2.12","PublicIPv6":"2001:db8::12","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:45"},"BackendV6Data":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:46"},"OverlayOwner":"node-b"}""",
        """{"publicip":"192.0.2.13","backendtype":"vxlan","backenddata":{"vni":4096,"vtepmac":"0E:2A:11:22:33:47"},"Unknown":[1,{"x":null}]}""",
        """{"PublicIP":"192.0.2.14"}""",
    ];

    public static readonly string[] NetworkConfigSeeds =
    [
        """{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"}}""",
        """{"Network":"198.18.0.0/15","SubnetLen":24,"SubnetMin":"198.18.1.0","SubnetMax":"198.19.254.0","Backend":{"Type":"vxlan","VNI":4096,"Port":8472,"MTU":1400,"GBP":true,"DirectRouting":true}}""",
        """{"EnableIPv6":true,"Network":"198.18.0.0/16","IPv6Network":"2001:db8:1234::/48","IPv6SubnetLen":64,"Backend":{"Type":"vxlan","Learning":false}}""",
        """{"Network":"100.64.0.0/10","ServiceNetwork":"198.19.0.0/16","ClusterDomain":"cluster.local","ClusterDNS":"198.19.0.10","Backend":{"type":"VXLAN"}}""",
        """{"EnableIPv6":true,"Network":"198.18.0.0/16","IPv6Network":"2001:db8:1::/56","ServiceNetwork":"198.19.0.0/16","ServiceIPv6Network":"2001:db8:ffff::/112","Backend":{"Type":"vxlan"}}""",
        """{"Network":"198.18.0.0/30","Backend":{"Type":"vxlan"}}""",
    ];

    public static readonly string[] SubnetEnvSeeds =
    [
        "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
        "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_IPV6_NETWORK=2001:db8:1::/48\nFLANNEL_IPV6_SUBNET=2001:db8:1:22::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
        "# edited by hand\nexport FLANNEL_NETWORK=\"198.18.0.0/16\"\n  FLANNEL_SUBNET = '198.18.7.1/24'  \r\nFLANNEL_MTU=1400\n\nFLANNEL_IPMASQ=false",
    ];

    public static readonly string[] PodSeeds =
    [
        """{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"],"labels":{"app":"web"}}""",
        """{"namespace":"shop","name":"db-0","node":"198.18.35.0-24&2001:db8:0:23::-64","ips":["198.18.35.7","2001:db8:0:23::7"],"labels":{"app.kubernetes.io/name":"db","tier":""}}""",
        """{"namespace":"kube-system","name":"x","node":"198.18.36.0-24","ips":["198.18.36.2"]}""",
    ];

    public static readonly string[] ServiceSeeds =
    [
        """{"namespace":"default","name":"web","clusterIP":"198.19.0.23","ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}],"selector":{"app":"web"}}""",
        """{"namespace":"shop","name":"db","clusterIP":"None","ports":[{"port":5432}],"endpoints":[{"ip":"198.18.1.5","port":5432},{"ip":"2001:db8::5"}]}""",
        """{"namespace":"default","name":"dns","clusterIP":"198.19.0.10","clusterIPv6":"2001:db8:ffff::a","ports":[{"name":"dns","port":53,"protocol":"UDP"},{"name":"dns-tcp","port":53,"protocol":"TCP"}],"selector":{"k8s-app":"kube-dns"}}""",
    ];

    private const string Prefix = "/coreos.com/network";

    /// <summary>
    /// Lease keys: half from the grammar (any address, any length, zero to three '&amp;'), half mutated; an
    /// accepted key is in canonical form (it prints back to the same text), and a key built from values parses back.
    /// </summary>
    public static FuzzTarget<string> SubnetKeys { get; } = new("lease-key", NextSubnetKey, CheckSubnetKey, Quote);

    /// <summary>Lease values: flannel's JSON mutated; an accepted value is written and read back equal.</summary>
    public static FuzzTarget<string> LeaseValues { get; } = new("lease-value", m => MutateJson(m, LeaseValueSeeds), CheckLeaseValue, Quote);

    /// <summary>The network config: the parser reports problems, never throws, and accepted configs hold their invariants.</summary>
    public static FuzzTarget<string> NetworkConfigs { get; } = new("config", m => MutateJson(m, NetworkConfigSeeds), CheckNetworkConfig, Quote);

    /// <summary>subnet.env read back at start: any text gives a dictionary and a subnet or none; a written file reads back.</summary>
    public static FuzzTarget<string> SubnetEnvFiles { get; } = new("subnetenv", NextSubnetEnv, CheckSubnetEnv, Quote);

    /// <summary>Pod records (pods folder and etcd): refused with a reason or accepted, and then written back the same.</summary>
    public static FuzzTarget<string> PodRecords { get; } = new("pod-record", m => MutateJson(m, PodSeeds), CheckPodRecord, Quote);

    /// <summary>Service records read by the services component from etcd, with their keys.</summary>
    public static FuzzTarget<(string Key, string Value)> ServiceRecords { get; } = new("service-record", NextServiceEntry, CheckServiceEntry, e => $"key {Quote(e.Key)}, value {Quote(e.Value)}");

    /// <summary>A C# literal of the input, to paste into a regression test.</summary>
    public static string Quote(string text) => JsonSerializer.Serialize(text);

    public static string MutateJson(InputMutator mutator, IReadOnlyList<string> seeds) =>
        mutator.Random.Next(8) == 0
            ? mutator.Pick(seeds)
            : mutator.MutateText(mutator.Pick(seeds), seeds, JsonTokens);

    private static string NextSubnetKey(InputMutator mutator)
    {
        Random random = mutator.Random;
        string key = GrammarKey(random);
        return random.Next(2) == 0 ? key : mutator.MutateText(key, ["198.18.34.0-24&2001:db8:0:22::-64", key], KeyTokens, 3);
    }

    /// <summary>A key from the grammar with values near and beyond every boundary.</summary>
    public static string GrammarKey(Random random)
    {
        string v4 = random.Next(4) switch
        {
            0 => $"{random.Next(256)}.{random.Next(256)}.{random.Next(256)}.{random.Next(256)}",
            1 => $"198.{random.Next(18, 20)}.{random.Next(256)}.0",
            2 => string.Join('.', Enumerable.Range(0, random.Next(1, 6)).Select(_ => random.Next(3) == 0 ? "0" + random.Next(10) : random.Next(300).ToString(CultureInfo.InvariantCulture))),
            _ => "0.0.0.0",
        };
        string key = $"{v4}-{Length(random, 32)}";
        int ampersands = random.Next(4) switch { 0 or 1 => 0, 2 => 1, _ => random.Next(2, 4) };
        for (int i = 0; i < ampersands; i++)
        {
            key += "&" + V6(random) + "-" + Length(random, 128);
        }

        return key;
    }

    private static string Length(Random random, int bits) => random.Next(6) switch
    {
        0 => "0",
        1 => bits.ToString(CultureInfo.InvariantCulture),
        2 => (bits + 1).ToString(CultureInfo.InvariantCulture),
        3 => "0" + random.Next(bits),
        4 => "",
        _ => random.Next(bits + 1).ToString(CultureInfo.InvariantCulture),
    };

    private static string V6(Random random)
    {
        byte[] bytes = new byte[16];
        bytes[0] = 0x20;
        bytes[1] = 0x01;
        bytes[2] = 0x0d;
        bytes[3] = 0xb8;
        int randomBytes = random.Next(17);
        for (int i = 16 - randomBytes; i < 16; i++)
        {
            bytes[i] = (byte)random.Next(256);
        }

        string text = new IPAddress(bytes).ToString();
        return random.Next(4) switch
        {
            0 => text.ToUpperInvariant(),
            1 => "2001:0db8:0000:0000:0000:0000:0000:0000",
            2 => "::ffff:198.18.0.0",
            _ => text,
        };
    }

    private static FuzzVerdict CheckSubnetKey(string text)
    {
        if (!SubnetKey.TryParse(text, out SubnetKey key, out string reason))
        {
            Expect(reason.Length > 0, "a refused key has a reason");
            Expect(!SubnetKey.TryParseEtcdKey(Prefix, $"{Prefix}/subnets/{text}", out _, out _), "the etcd key of a refused key is refused too");
            return FuzzVerdict.Rejected;
        }

        Expect(key.ToString() == text, $"the key prints back as itself, not as '{key}'");
        Expect(SubnetKey.TryParseEtcdKey(Prefix, key.ToEtcdKey(Prefix), out SubnetKey again, out _) && again == key, "its etcd key parses back to it");
        return FuzzVerdict.Accepted;
    }

    private static FuzzVerdict CheckLeaseValue(string json)
    {
        if (!LeaseAttributes.TryParse(json, out LeaseAttributes? attributes, out string reason))
        {
            Expect(reason.Length > 0, "a refused value has a reason");
            return FuzzVerdict.Rejected;
        }

        string written = attributes.ToJson();
        Expect(LeaseAttributes.TryParse(written, out LeaseAttributes? again, out reason), $"what was accepted is written and read back ({reason}): {written}");
        Expect(again == attributes, $"the value read back equals the value written: {written}");
        return FuzzVerdict.Accepted;
    }

    private static FuzzVerdict CheckNetworkConfig(string json)
    {
        if (!NetworkConfigParser.TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors))
        {
            Expect(errors.Count > 0, "a refused config has at least one error");
            try
            {
                NetworkConfigParser.Parse(json);
                throw new FuzzPropertyException("Parse accepted what TryParse refused");
            }
            catch (InvalidNetworkConfigException)
            {
                // The documented refusal.
            }

            return FuzzVerdict.Rejected;
        }

        Expect(config.Network.Contains(config.SubnetMin) && config.Network.Contains(config.SubnetMax), "SubnetMin and SubnetMax lie in the Network");
        Expect(config.SubnetLen > config.Network.PrefixLength && config.SubnetLen <= 30, "SubnetLen lies between the Network's length and /30");
        Expect(config.Backend.Vni is >= 1 and <= NetworkConfigParser.MaxVni, "the VNI is in range");
        return FuzzVerdict.Accepted;
    }

    private static string NextSubnetEnv(InputMutator mutator)
    {
        Random random = mutator.Random;
        if (random.Next(4) == 0)
        {
            // A file this node could have written, to check the round trip.
            var lease = new SubnetKey(
                new IPNetwork(new IPAddress([198, 18, (byte)random.Next(256), 0]), 24),
                random.Next(2) == 0 ? null : new IPNetwork(new IPAddress([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, (byte)random.Next(256), 0, 0, 0, 0, 0, 0, 0, 0]), 64));
            var env = new SubnetEnv(IPNetwork.Parse("198.18.0.0/16"), lease, lease.IPv6 is null ? null : IPNetwork.Parse("2001:db8:1::/48"), random.Next(576, 9001), random.Next(2) == 0);
            return env.Render();
        }

        return mutator.MutateText(mutator.Pick(SubnetEnvSeeds), SubnetEnvSeeds, SubnetEnvTokens);
    }

    private static FuzzVerdict CheckSubnetEnv(string text)
    {
        IReadOnlyDictionary<string, string> values = SubnetEnvReader.Parse(text);
        SubnetKey? previous = SubnetEnvReader.PreviousSubnet(values);
        if (previous is not { } subnet)
        {
            return FuzzVerdict.Rejected;
        }

        Expect(subnet.IPv4.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork, "FLANNEL_SUBNET is IPv4");
        Expect(SubnetKey.TryParse(subnet.ToString(), out SubnetKey again, out string reason) && again == subnet, $"the subnet read back is a valid lease key ({reason})");
        return FuzzVerdict.Accepted;
    }

    private static FuzzVerdict CheckPodRecord(string json)
    {
        if (!PodCodec.TryParse(json, out PodRecord? pod, out string reason))
        {
            Expect(reason.Length > 0, "a refused pod has a reason");
            return FuzzVerdict.Rejected;
        }

        string written = PodCodec.Serialize(pod);
        Expect(PodCodec.TryParse(written, out PodRecord? again, out reason), $"what was accepted is written and read back ({reason}): {written}");
        Expect(PodCodec.Serialize(again) == written, $"the pod read back writes the same bytes: {written}");
        return FuzzVerdict.Accepted;
    }

    private static (string, string) NextServiceEntry(InputMutator mutator)
    {
        string value = MutateJson(mutator, ServiceSeeds);
        string key = RegistryKeys.Service(Prefix, "default", "web");
        using (JsonDocument? document = TryParseJson(value))
        try
        {
            // Mostly the key the value names, so the checks behind the key are reached.
            key = document?.RootElement is { ValueKind: JsonValueKind.Object } root
                && root.TryGetProperty("namespace", out JsonElement ns) && ns.ValueKind == JsonValueKind.String
                && root.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String
                    ? RegistryKeys.Service(Prefix, ns.GetString()!, name.GetString()!)
                    : key;
        }
        catch (InvalidOperationException)
        {
            // A name with a lone surrogate escape: keep the default key.
        }

        if (mutator.Random.Next(4) == 0)
        {
            key = mutator.MutateText(key, [key], ["/", "//", "", " ", "\0", "services"], 2);
        }

        return (key, value);
    }

    private static FuzzVerdict CheckServiceEntry((string Key, string Value) entry)
    {
        if (!ServiceEntries.TryParse(Prefix, entry.Key, entry.Value, out ServiceSpec? spec, out string reason))
        {
            Expect(reason.Length > 0, "a refused service has a reason");
            return FuzzVerdict.Rejected;
        }

        string written = ServiceCodec.Serialize(spec);
        Expect(ServiceEntries.TryParse(Prefix, entry.Key, written, out ServiceSpec? again, out reason), $"what was accepted is written and read back ({reason}): {written}");
        Expect(ServiceCodec.Serialize(again) == written, $"the service read back writes the same bytes: {written}");
        return FuzzVerdict.Accepted;
    }

    private static JsonDocument? TryParseJson(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static void Expect([System.Diagnostics.CodeAnalysis.DoesNotReturnIf(false)] bool condition, string property)
    {
        if (!condition)
        {
            throw new FuzzPropertyException(property);
        }
    }
}
