using Overlay.Core.Leases;

namespace Overlay.Cli.Tests.Commands;

public sealed class ReserveReleaseTests : CliFixture
{
    [Test]
    public async Task Reserve_writes_the_key_with_no_etcd_lease_and_the_configs_VNI()
    {
        PutConfig("""{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","VNI":7}}""");

        CliResult result = await RunAsync("leases", "reserve", "198.18.34.0/24", "--public-ip", "192.0.2.11", "--vtep-mac", "0E:2A:11:22:33:44");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("reserved 198.18.34.0/24 for 192.0.2.11\n"));
        Assert.That(StoredLeases(), Is.EqualTo(new Dictionary<string, long> { ["198.18.34.0-24"] = 0 }));
        Assert.That(StoredValue(Key("198.18.34.0-24")), Is.EqualTo("""{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":7,"VtepMAC":"0e:2a:11:22:33:44"}}"""));

        CliResult listed = await RunAsync("leases", "list");
        Assert.That(listed.Out, Does.Contain("198.18.34.0/24   <none>        192.0.2.11   0e:2a:11:22:33:44   7     <none>   reserved"));
    }

    [Test]
    public async Task Reserve_json_prints_the_reservation()
    {
        PutConfig();

        CliResult result = await RunAsync("leases", "reserve", "198.18.34.0-24", "--public-ip=192.0.2.11", "--owner=node-a", "-o", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Does.Contain("\"reserved\": true"));
        Assert.That(result.Out, Does.Contain("\"owner\": \"node-a\""));
    }

    [Test]
    public async Task Reserve_refuses_a_subnet_outside_the_config()
    {
        PutConfig();

        CliResult result = await RunAsync("leases", "reserve", "198.18.200.0/24", "--public-ip", "192.0.2.11");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Is.EqualTo("error: 198.18.200.0/24 is outside the network config (Network 198.18.0.0/16, /24 subnets from 198.18.1.0 to 198.18.64.0 (64 subnets); backend vxlan, VNI 1, port 8472); reserve a subnet in that range, or change the config first\n"));
        Assert.That(StoredLeases(), Is.Empty);
    }

    [Test]
    public async Task Reserve_refuses_a_subnet_held_by_another_node()
    {
        PutConfig();
        long id = PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));

        CliResult result = await RunAsync("leases", "reserve", "198.18.34.0/24", "--public-ip", "192.0.2.12");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Is.EqualTo("error: cannot reserve 198.18.34.0/24: it is held by 192.0.2.11 (owner node-a); if that node is gone, release it first with 'overlayctl leases release 198.18.34.0/24'\n"));
        Assert.That(StoredLeases(), Is.EqualTo(new Dictionary<string, long> { ["198.18.34.0-24"] = id }));
    }

    [Test]
    public async Task Reserve_pins_a_nodes_own_lease_keeping_its_owner_and_VTEP_MAC()
    {
        PutConfig();
        PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));

        CliResult result = await RunAsync("leases", "reserve", "198.18.34.0/24", "--public-ip", "192.0.2.11");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("reserved 198.18.34.0/24 for 192.0.2.11 (owner node-a); it was that node's lease and now never expires\n"));
        Assert.That(StoredLeases()["198.18.34.0-24"], Is.Zero);
        LeaseAttributes stored = LeaseAttributes.Parse(StoredValue(Key("198.18.34.0-24"))!);
        Assert.That(stored.OwnerId, Is.EqualTo("node-a"));
        Assert.That(stored.BackendData!.VtepMac, Is.EqualTo("0e:2a:11:22:33:44"));
    }

    [TestCase(new string[0], "'leases reserve' needs --public-ip")]
    [TestCase(new[] { "--public-ip", "192.0.2" }, "flag --public-ip: '192.0.2' is not valid; give an IPv4 address such as 192.0.2.11")]
    [TestCase(new[] { "--public-ip", "192.0.2.11", "--vtep-mac", "0e:2a:11" }, "flag --vtep-mac: '0e:2a:11' is not a MAC address")]
    public async Task Reserve_with_bad_flags_is_a_usage_error(string[] flags, string message)
    {
        PutConfig();

        CliResult result = await RunAsync(["leases", "reserve", "198.18.34.0/24", .. flags]);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("error: " + message));
        Assert.That(StoredLeases(), Is.Empty);
    }

    [Test]
    public async Task Reserve_without_a_network_config_says_how_to_store_one()
    {
        CliResult result = await RunAsync("leases", "reserve", "198.18.34.0/24", "--public-ip", "192.0.2.11");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: there is no network config at {Prefix}/config (a reservation must fit the network config); store one with 'overlayctl config set FILE'"));
    }

    [Test]
    public async Task Release_with_yes_deletes_the_lease()
    {
        PutLease("198.18.34.0-24", Value("192.0.2.11"));
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));

        CliResult result = await RunAsync("leases", "release", "198.18.34.0/24", "--yes");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("released 198.18.34.0/24 (held by 192.0.2.11)\n"));
        Assert.That(StoredLeases().Keys, Is.EqualTo(new[] { "198.18.9.0-24" }));
    }

    [Test]
    public async Task Release_asks_first_and_releases_on_y()
    {
        PutLease("198.18.34.0-24", Value("192.0.2.11"));

        CliResult result = await RunWithInputAsync("y\n", "leases", "release", "198.18.34.0-24");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Err, Is.EqualTo("Release 198.18.34.0/24 held by 192.0.2.11? [y/N] "));
        Assert.That(StoredLeases(), Is.Empty);
    }

    [Test]
    public async Task Release_names_a_reservation_as_such_when_asking()
    {
        PutReservation("198.18.9.0-24", Value("192.0.2.19", owner: "node-i"));

        CliResult result = await RunWithInputAsync("n\n", "leases", "release", "198.18.9.0/24");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Is.EqualTo("Release the reservation 198.18.9.0/24 held by 192.0.2.19 (owner node-i)? [y/N] error: not releasing 198.18.9.0/24: not confirmed\n"));
        Assert.That(StoredLeases().Keys, Is.EqualTo(new[] { "198.18.9.0-24" }));
    }

    [Test]
    public async Task Release_with_nothing_on_stdin_refuses_and_says_to_pass_yes()
    {
        PutLease("198.18.34.0-24", Value("192.0.2.11"));

        CliResult result = await RunWithInputAsync("", "leases", "release", "198.18.34.0/24");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.EndWith("error: not releasing 198.18.34.0/24: no answer on stdin (not interactive?); pass --yes to release without asking\n"));
        Assert.That(StoredLeases().Keys, Is.EqualTo(new[] { "198.18.34.0-24" }));
    }

    [Test]
    public async Task Release_of_an_unknown_subnet_fails_with_exit_1()
    {
        CliResult result = await RunAsync("leases", "release", "198.18.34.0/24", "--yes");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith("error: no lease or reservation for 198.18.34.0/24"));
    }
}
