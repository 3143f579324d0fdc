using System.Text.Json;
using System.Text.Json.Nodes;
using Overlay.Core.Services;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Plugin;

/// <summary>ADD and DEL of Kubernetes pods (CNI_ARGS) with the built plugin, Debian's bridge and host-local: the pods folder.</summary>
[NonParallelizable]
public class PodRecordTests
{
    private const string WebArgs = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=pod1";

    private PodNetwork _network = null!;

    [SetUp]
    public void CreateNode()
    {
        Root.Require();
        _network = new PodNetwork();
    }

    [TearDown]
    public void RemoveNode() => _network?.Dispose();

    private string PodFile => Path.Combine(_network.PodsDir, "shop_web-1.json");

    private string ConfigWithLabels(string labels)
    {
        JsonObject config = JsonNode.Parse(_network.Config())!.AsObject();
        config["args"] = new JsonObject { ["cni"] = new JsonObject { ["labels"] = JsonNode.Parse(labels) } };
        return config.ToJsonString();
    }

    [Test]
    public void ADD_of_a_Kubernetes_pod_writes_its_record_beside_subnet_env_with_its_address_node_and_labels()
    {
        CniOutcome add = _network.Run("ADD", "pod1", ConfigWithLabels("""[{"key":"app","value":"web"},{"key":"tier","value":"front"}]"""), WebArgs).EnsureSuccess();

        string address = add.Json.GetProperty("ips")[0].GetProperty("address").GetString()!.Split('/')[0];
        Assert.That(File.ReadAllText(PodFile), Is.EqualTo(
            "{\"namespace\":\"shop\",\"name\":\"web-1\",\"node\":\"198.18.34.0-24\",\"ips\":[\"" + address + "\"],\"labels\":{\"app\":\"web\",\"tier\":\"front\"}}"));
        Assert.That(PodCodec.TryParse(File.ReadAllText(PodFile), out _, out string reason), Is.True, reason);
    }

    [Test]
    public void ADD_without_the_pods_names_in_CNI_ARGS_writes_no_record()
    {
        _network.Run("ADD", "pod1", cniArgs: "IgnoreUnknown=1").EnsureSuccess();

        Assert.That(Directory.Exists(_network.PodsDir) ? Directory.GetFiles(_network.PodsDir) : [], Is.Empty);
    }

    [Test]
    public void The_podsDir_of_the_config_is_where_the_record_goes()
    {
        string elsewhere = Path.Combine(_network.Folder, "elsewhere");
        JsonObject config = JsonNode.Parse(_network.Config())!.AsObject();
        config["podsDir"] = elsewhere;

        _network.Run("ADD", "pod1", config.ToJsonString(), WebArgs).EnsureSuccess();

        Assert.That(File.Exists(Path.Combine(elsewhere, "shop_web-1.json")), Is.True);
        Assert.That(File.Exists(PodFile), Is.False);
    }

    [Test]
    public void DEL_removes_the_record()
    {
        _network.Run("ADD", "pod1", cniArgs: WebArgs).EnsureSuccess();
        Assert.That(File.Exists(PodFile), Is.True);

        CniOutcome del = _network.Run("DEL", "pod1", cniArgs: WebArgs);

        Assert.That(del.ExitCode, Is.Zero, del.ToString());
        Assert.That(File.Exists(PodFile), Is.False);
    }

    [Test]
    public void DEL_without_CNI_ARGS_still_removes_the_record_ADD_wrote()
    {
        _network.Run("ADD", "pod1", cniArgs: WebArgs).EnsureSuccess();

        CniOutcome del = _network.Run("DEL", "pod1");

        Assert.That(del.ExitCode, Is.Zero, del.ToString());
        Assert.That(File.Exists(PodFile), Is.False);
    }

    [Test]
    public void A_late_DEL_of_an_old_container_leaves_the_record_of_the_pods_new_container()
    {
        _network.Run("ADD", "pod1", cniArgs: WebArgs).EnsureSuccess();
        _network.Run("ADD", "pod2", cniArgs: WebArgs.Replace("=pod1", "=pod2", StringComparison.Ordinal)).EnsureSuccess();
        string second = File.ReadAllText(PodFile);

        _network.Run("DEL", "pod1", cniArgs: WebArgs).EnsureSuccess();

        Assert.That(File.ReadAllText(PodFile), Is.EqualTo(second));
    }

    [Test]
    public void A_bad_label_is_a_CNI_error_naming_it_and_nothing_is_made()
    {
        CniOutcome add = _network.Run("ADD", "pod1", ConfigWithLabels("""[{"key":"app","value":"web server"}]"""), WebArgs);

        Assert.That(add.ExitCode, Is.EqualTo(1), add.ToString());
        Assert.That(add.Json.GetProperty("code").GetInt32(), Is.EqualTo(7));
        Assert.That(add.Json.GetProperty("msg").GetString(), Does.Contain("label value 'web server' is invalid"));
        Assert.That(_network.Pod("pod1").Exec("ip", "link", "show", "eth0").ExitCode, Is.Not.Zero, "no interface was made");
        Assert.That(File.Exists(PodFile), Is.False);
    }

    [Test]
    public void The_pods_bridge_port_is_in_hairpin_mode()
    {
        _network.Run("ADD", "pod1", cniArgs: WebArgs).EnsureSuccess();

        JsonElement ports = JsonDocument.Parse(_network.Node.ExecChecked("bridge", "-j", "-d", "link", "show").StdOut).RootElement;

        JsonElement port = ports.EnumerateArray().Single(p => p.TryGetProperty("master", out JsonElement m) && m.GetString() == "cni0");
        Assert.That(port.GetProperty("hairpin").GetBoolean(), Is.True, port.GetRawText());
    }
}
