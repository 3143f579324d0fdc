using System.Text.Json;

namespace Overlay.Cni.Tests.Plugin;

/// <summary>The built plugin's answers that need no namespace: VERSION, unknown containers and errors as CNI error JSON.</summary>
public class ErrorTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("ovt-cni-errors-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private string SubnetFile => Path.Combine(_folder, "subnet.env");

    private string Config(string cniVersion = "1.0.0") =>
        $$"""{"cniVersion":"{{cniVersion}}","name":"podnet","type":"overlay","subnetFile":"{{SubnetFile}}","dataDir":"{{_folder}}/flannel"}""";

    private CniOutcome Run(string command, string? config = null, string? cniPath = null) =>
        CniInvocation.Run(CniInvocation.Overlay, command, config ?? Config(), "pod1", podNetns: "/run/netns/none", cniPath: cniPath);

    [Test]
    public void VERSION_lists_the_spec_versions()
    {
        CniOutcome version = Run("VERSION", "");

        Assert.That(version.ExitCode, Is.EqualTo(0));
        Assert.That(version.StdOut.Trim(), Is.EqualTo("""{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}"""));
    }

    [Test]
    public void DEL_of_a_container_never_added_succeeds_without_output()
    {
        CniOutcome del = Run("DEL");

        Assert.That(del.ExitCode, Is.EqualTo(0), del.ToString());
        Assert.That(del.StdOut, Is.Empty);
    }

    [Test]
    public void ADD_without_subnet_env_is_try_again_later_naming_the_file()
    {
        CniOutcome add = Run("ADD");

        Assert.That(add.ExitCode, Is.EqualTo(1));
        Assert.That(add.Json.GetProperty("code").GetInt32(), Is.EqualTo(11));
        Assert.That(add.Json.GetProperty("msg").GetString(), Does.Contain(SubnetFile));
        Assert.That(add.Json.GetProperty("cniVersion").GetString(), Is.EqualTo("1.0.0"));
    }

    [TestCase("FLANNEL_NETWORK")]
    [TestCase("FLANNEL_SUBNET")]
    [TestCase("FLANNEL_MTU")]
    [TestCase("FLANNEL_IPMASQ")]
    public void ADD_with_an_incomplete_subnet_env_names_the_file_and_the_missing_key(string key)
    {
        File.WriteAllLines(SubnetFile, PodNetwork.SubnetEnvText.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(key + "=", StringComparison.Ordinal)));

        CniOutcome add = Run("ADD", Config("0.4.0"));

        Assert.That(add.ExitCode, Is.EqualTo(1));
        Assert.That(add.Json.GetProperty("code").GetInt32(), Is.EqualTo(100));
        Assert.That(add.Json.GetProperty("msg").GetString(), Is.EqualTo($"subnet file {SubnetFile} has no {key}"));
        Assert.That(add.Json.GetProperty("cniVersion").GetString(), Is.EqualTo("0.4.0"));
        Assert.That(Directory.Exists(Path.Combine(_folder, "flannel")), Is.False, "nothing is stored for a failed ADD");
    }

    [Test]
    public void ADD_without_the_bridge_plugin_in_CNI_PATH_names_the_plugin_and_the_path()
    {
        File.WriteAllText(SubnetFile, PodNetwork.SubnetEnvText);

        CniOutcome add = Run("ADD", cniPath: _folder);

        Assert.That(add.Json.GetProperty("code").GetInt32(), Is.EqualTo(101));
        Assert.That(add.Json.GetProperty("msg").GetString(), Does.Contain("'bridge'").And.Contain(_folder));
    }

    [Test]
    public void A_delegates_own_CNI_error_is_passed_through()
    {
        File.WriteAllText(SubnetFile, PodNetwork.SubnetEnvText);

        // The namespace does not exist: bridge itself reports that, as CNI error JSON.
        CniOutcome add = Run("ADD");

        Assert.That(add.ExitCode, Is.Not.EqualTo(0));
        Assert.That(add.Json.GetProperty("msg").GetString(), Does.Contain("/run/netns/none"));
    }

    [Test]
    public void CHECK_of_an_unknown_container_is_container_unknown()
    {
        CniOutcome check = Run("CHECK");

        Assert.That(check.Json.GetProperty("code").GetInt32(), Is.EqualTo(3));
    }

    [Test]
    public void CHECK_with_a_0_3_1_config_is_an_incompatible_version()
    {
        Assert.That(Run("CHECK", Config("0.3.1")).Json.GetProperty("code").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void A_config_that_is_not_JSON_is_a_decode_error()
    {
        CniOutcome add = Run("ADD", "{");

        Assert.That(add.ExitCode, Is.EqualTo(1));
        Assert.That(add.Json.GetProperty("code").GetInt32(), Is.EqualTo(6));
    }

    [Test]
    public void A_missing_CNI_variable_is_an_invalid_environment_error()
    {
        CniOutcome add = CniInvocation.Run(CniInvocation.Overlay, "ADD", Config(), containerId: "", podNetns: "/run/netns/none");

        Assert.That(add.Json.GetProperty("code").GetInt32(), Is.EqualTo(4));
        Assert.That(add.Json.GetProperty("msg").GetString(), Does.Contain("CNI_CONTAINERID"));
    }
}
