using System.Text.Json;
using Overlay.Core.Config;

namespace Overlay.Cli.Tests.Commands;

public sealed class ConfigTests : CliFixture
{
    private const string Invalid = """{"Network":"198.18.0.0/33","SubnetMin":"198.19.0.0","Backend":{"Type":"udp"}}""";

    private string file = "";

    [SetUp]
    public void MakeFile() => file = Path.Combine(Path.GetTempPath(), $"overlayctl-test-{Guid.NewGuid():N}.json");

    [TearDown]
    public void DeleteFile() => File.Delete(file);

    [Test]
    public async Task Config_set_stores_a_valid_file_as_given_and_config_get_prints_it()
    {
        File.WriteAllText(file, SixtyFourSubnets);

        CliResult set = await RunAsync("config", "set", file);
        CliResult get = await RunAsync("config", "get");

        Assert.That(set.ExitCode, Is.Zero, set.ToString());
        Assert.That(set.Out, Is.EqualTo($"config written to {Prefix}/config: Network 198.18.0.0/16, /24 subnets from 198.18.1.0 to 198.18.64.0 (64 subnets); backend vxlan, VNI 1, port 8472\n"));
        Assert.That(StoredValue(Prefix + "/config"), Is.EqualTo(SixtyFourSubnets));
        Assert.That(get.ExitCode, Is.Zero);
        Assert.That(get.Out, Is.EqualTo(SixtyFourSubnets + "\n"));
    }

    [Test]
    public async Task Config_set_reads_stdin_for_a_dash()
    {
        CliResult set = await RunWithInputAsync(SixtyFourSubnets, "config", "set", "-");

        Assert.That(set.ExitCode, Is.Zero, set.ToString());
        Assert.That(StoredValue(Prefix + "/config"), Is.EqualTo(SixtyFourSubnets));
    }

    [Test]
    public async Task Config_set_refuses_an_invalid_file_with_the_daemons_messages_and_writes_nothing()
    {
        File.WriteAllText(file, Invalid);
        Assert.That(NetworkConfigParser.TryParse(Invalid, out _, out IReadOnlyList<NetworkConfigError> errors), Is.False);

        CliResult result = await RunAsync("config", "set", file);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(errors, Has.Count.EqualTo(2));
        Assert.That(result.Err, Is.EqualTo($"error: invalid network config in {file}:\n  {errors[0]}\n  {errors[1]}\nnothing was written\n"));
        Assert.That(result.Err, Does.Contain("Network: '198.18.0.0/33' is not a valid network"));
        Assert.That(StoredValue(Prefix + "/config"), Is.Null);
    }

    [Test]
    public async Task Config_set_refuses_a_config_that_strands_leases_unless_forced()
    {
        PutConfig();
        PutLease("198.18.34.0-24", Value("192.0.2.11", owner: "node-a"));
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        const string Smaller = """{"Network":"198.18.0.0/16","SubnetMax":"198.18.20.0","Backend":{"Type":"vxlan"}}""";
        File.WriteAllText(file, Smaller);

        CliResult refused = await RunAsync("config", "set", file);

        Assert.That(refused.ExitCode, Is.EqualTo(1));
        Assert.That(refused.Err, Does.StartWith("error: the new config would strand 1 lease outside it (Network 198.18.0.0/16, /24 subnets from 198.18.1.0 to 198.18.20.0 (20 subnets)"));
        Assert.That(refused.Err, Does.Contain("\n  198.18.34.0/24 held by 192.0.2.11 (owner node-a)\n"));
        Assert.That(refused.Err, Does.Contain("pass --force to write it anyway"));
        Assert.That(StoredValue(Prefix + "/config"), Is.EqualTo(SixtyFourSubnets));

        CliResult forced = await RunAsync("config", "set", file, "--force");

        Assert.That(forced.ExitCode, Is.Zero, forced.ToString());
        Assert.That(forced.Err, Does.StartWith("warning: 1 lease now outside the config (written with --force):\n  198.18.34.0/24 held by 192.0.2.11 (owner node-a)"));
        Assert.That(StoredValue(Prefix + "/config"), Is.EqualTo(Smaller));
    }

    [Test]
    public async Task Config_set_of_a_missing_file_fails_with_exit_1()
    {
        CliResult result = await RunAsync("config", "set", file);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: cannot read config file '{file}': "));
    }

    [Test]
    public async Task Config_get_without_a_config_says_how_to_store_one()
    {
        CliResult result = await RunAsync("config", "get");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Is.EqualTo($"error: there is no network config at {Prefix}/config; store one with 'overlayctl config set FILE' (see docs/configuration.md), or check --etcd-prefix\n"));
    }

    [Test]
    public async Task Config_get_prints_an_invalid_stored_config_and_warns()
    {
        PutConfig(Invalid);

        CliResult raw = await RunAsync("config", "get");
        CliResult resolved = await RunAsync("config", "get", "-o", "json");

        Assert.That(raw.ExitCode, Is.Zero);
        Assert.That(raw.Out, Is.EqualTo(Invalid + "\n"));
        Assert.That(raw.Err, Does.StartWith("warning: invalid network config in this config:\n  Network: "));
        Assert.That(resolved.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public async Task Config_get_json_prints_the_config_with_defaults_resolved()
    {
        PutConfig("""{"network":"198.18.0.0/16","backend":{"type":"VXLAN"}}""");

        CliResult result = await RunAsync("config", "get", "-o", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("""
            {
              "network": "198.18.0.0/16",
              "subnetLen": 24,
              "subnetMin": "198.18.1.0",
              "subnetMax": "198.18.255.0",
              "ipv6": null,
              "backend": {
                "type": "vxlan",
                "vni": 1,
                "port": 8472,
                "mtu": 0,
                "gbp": false,
                "learning": false,
                "directRouting": false
              },
              "serviceNetwork": null,
              "serviceIPv6Network": null,
              "clusterDomain": "cluster.local",
              "clusterDNS": null
            }
            """ + "\n"));
    }

    [Test]
    public async Task Config_validate_checks_a_file_without_etcd()
    {
        File.WriteAllText(file, SixtyFourSubnets);
        string[] unreachable = ["--etcd-endpoints", "http://127.0.0.1:9"];

        CliResult valid = await Cli.RunAsync(["config", "validate", file, .. unreachable], new Dictionary<string, string?>(), "");
        File.WriteAllText(file, Invalid);
        CliResult invalid = await Cli.RunAsync(["config", "validate", file, .. unreachable], new Dictionary<string, string?>(), "");
        CliResult invalidJson = await Cli.RunAsync(["config", "validate", "-", "-o", "json", .. unreachable], new Dictionary<string, string?>(), Invalid);

        Assert.That(valid.ExitCode, Is.Zero, valid.ToString());
        Assert.That(valid.Out, Is.EqualTo($"{file} is valid: Network 198.18.0.0/16, /24 subnets from 198.18.1.0 to 198.18.64.0 (64 subnets); backend vxlan, VNI 1, port 8472\n"));
        Assert.That(invalid.ExitCode, Is.EqualTo(1));
        Assert.That(invalid.Err, Does.StartWith($"error: invalid network config in {file}:\n  Network: "));
        Assert.That(invalid.Err, Does.Contain("\n  Backend.Type: 'udp' is not supported"));
        Assert.That(invalidJson.ExitCode, Is.EqualTo(1));
        using var json = JsonDocument.Parse(invalidJson.Out);
        Assert.That(json.RootElement.GetProperty("valid").GetBoolean(), Is.False);
        Assert.That(json.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()), Is.EqualTo(new[] { "Network", "Backend.Type" }));
    }

    [Test]
    public async Task Config_validate_of_a_file_that_is_not_JSON_names_the_problem()
    {
        File.WriteAllText(file, "Network: 198.18.0.0/16");

        CliResult result = await Cli.RunAsync("config", "validate", file);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: invalid network config in {file}:\n  config: not valid JSON"));
    }

    [TestCase("{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"},}", "at line 1, column 54: a comma after the last member of an object (JSON allows none)")]
    [TestCase("{\n  \"Network\": \"198.18.0.0/16\"\n  \"Backend\": {\"Type\": \"vxlan\"}\n}\n", "at line 3, column 3: '\"' where ',', '}' or ']' should come (a comma missing before it?)")]
    [TestCase("{\n  \"Network\": 198.18.0.0/16\n}", "at line 2, column 20: '.' inside a number (an address or CIDR is a string: put it in double quotes)")]
    public async Task Config_validate_of_malformed_JSON_says_at_which_line_and_column_and_what_is_wrong(string text, string where)
    {
        File.WriteAllText(file, text);

        CliResult result = await Cli.RunAsync("config", "validate", file);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: invalid network config in {file}:\n  config: not valid JSON {where}; expected an object such as"));
        Assert.That(result.Err, Does.Not.Contain("LineNumber").And.Not.Contain("BytePositionInLine").And.Not.Contain("reader options"));
    }

    [Test]
    public async Task Config_validate_of_a_missing_file_says_there_is_no_such_file()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"overlayctl-missing-{Guid.NewGuid():N}.json");
        string inMissingFolder = Path.Combine(missing, "network.json");

        CliResult result = await Cli.RunAsync("config", "validate", missing);
        CliResult folder = await Cli.RunAsync("config", "validate", inMissingFolder);
        CliResult directory = await Cli.RunAsync("config", "validate", Path.GetTempPath());

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Is.EqualTo($"error: cannot read config file '{missing}': no such file; give the path of a JSON file, or - to read stdin\n"));
        Assert.That(folder.Err, Is.EqualTo($"error: cannot read config file '{inMissingFolder}': its folder {missing} does not exist; give the path of a JSON file, or - to read stdin\n"));
        Assert.That(directory.Err, Is.EqualTo($"error: cannot read config file '{Path.GetTempPath()}': it is a folder; give the path of a JSON file, or - to read stdin\n"));
    }
}
