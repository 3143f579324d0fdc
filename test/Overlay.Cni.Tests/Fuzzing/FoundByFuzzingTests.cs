using System.Text.Json;
using Overlay.Cni.Pods;

namespace Overlay.Cni.Tests.Fuzzing;

/// <summary>
/// Inputs the fuzz targets found, written out literally. Each one made the plugin answer with its catch-all
/// (code 999, "internal error", a stack trace in "details"): JsonDocument takes an unpaired surrogate escape, and
/// reading the string or member name that holds it throws InvalidOperationException.
/// </summary>
public class FoundByFuzzingTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("ovt-cni-found-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private (int Exit, JsonElement Error) Add(string config)
    {
        File.WriteAllText(Path.Combine(_folder, "subnet.env"), "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n");
        var environment = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "ctr-0", ["CNI_NETNS"] = "/run/netns/none", ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = _folder, ["CNI_ARGS"] = "IgnoreUnknown=true",
        };
        var stdout = new StringWriter();
        int exit = CniPlugin.Run(name => environment.GetValueOrDefault(name), new StringReader(config.Replace("FOLDER", _folder, StringComparison.Ordinal)), stdout, new StringWriter());
        using var document = JsonDocument.Parse(stdout.ToString());
        return (exit, document.RootElement.Clone());
    }

    [TestCase("""{"cniVersion":"1.0.0","name":"podnet","type":"overlay","subnetFile":"FOLDER/subnet.env","dataDir":"/tmp/ovt-cni-\udc00xfuzz/data","podsDir":"FOLDER/pods"}""")]
    [TestCase("""{"cniVersion":"1.0.0","name":"podnet","type":"overlay","subnetFile":"FOLDER/subnet.env","dataDir":"FOLDER/data","podsDir":"/t\ud800mp/pods","delegate":{"type":"bridge","ipMasq":false}}""")]
    [TestCase("""{"cniVersion":"1.0.0","name":"podnet","type":"overlay","subnetFile":"FOLDER/subnet.env","dataDir":"FOLDER/data","args":{"cni":{"labels":[{"key":"app\ud800","value":"web"}]}}}""")]
    [TestCase("""{"cniVersion":"1.0.0","name":"podnet","type":"overlay","subnetFile":"FOLDER/subnet.env","dataDir":"FOLDER/data","delegate":{"\udc00":1}}""")]
    [TestCase("""{"cniVersion":"1.0.0","name":"podnet","type":"overlay","subnetFile":"FOLDER/subnet.env","dataDir":"FOLDER/data","prevResult":{"ips":[{"address":"2001:db8:1:22:\ud800:6/64"}]}}""")]
    public void A_network_config_with_a_lone_surrogate_escape_is_a_decode_failure_not_an_internal_error(string config)
    {
        (int exit, JsonElement error) = Add(config);

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.GetProperty("code").GetInt32(), Is.EqualTo(6), error.ToString());
        Assert.That(error.GetProperty("msg").GetString(), Does.Contain("not valid Unicode"));
        Assert.That(Directory.Exists(Path.Combine(_folder, "data")), Is.False, "nothing is stored");
    }

    [Test]
    public void A_delegate_result_with_a_lone_surrogate_escape_gives_the_addresses_before_it()
    {
        IReadOnlyList<System.Net.IPAddress> addresses = [];

        Assert.That(() => addresses = PodFile.AddressesOf("""{"cniVersion":"0.3.1","ips":[{"version":"4","address":"198.18.34.6/24"},{"version":"6","address":"2001:db8:1:22\udc00x::6/64"}]}"""), Throws.Nothing);
        Assert.That(addresses.Select(a => a.ToString()), Is.EqualTo(new[] { "198.18.34.6" }));
    }
}
