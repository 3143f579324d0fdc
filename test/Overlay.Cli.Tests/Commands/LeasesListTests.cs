using System.Globalization;
using System.Text.Json;

namespace Overlay.Cli.Tests.Commands;

public sealed class LeasesListTests : CliFixture
{
    private void PutThree()
    {
        PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        PutLease("198.18.10.0-24&2001:db8:0:a::-64", Value("198.51.100.10", "0e:2a:00:00:00:0a", "node-c"));
    }

    [Test]
    public async Task Leases_list_shows_a_reservation_as_reserved_and_leases_with_their_time_left_sorted_by_subnet()
    {
        PutThree();

        CliResult result = await RunAsync("leases", "list");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("""
            SUBNET           IPV6 SUBNET         PUBLIC IP       VTEP MAC            VNI      OWNER    EXPIRES IN
            198.18.9.0/24    <none>              192.0.2.19      <none>              <none>   <none>   reserved
            198.18.10.0/24   2001:db8:0:a::/64   198.51.100.10   0e:2a:00:00:00:0a   1        node-c   23h53m
            198.18.34.0/24   <none>              192.0.2.11      0e:2a:11:22:33:44   1        node-a   23h53m
            """ + "\n"));
        Assert.That(result.Err, Is.Empty);
    }

    [Test]
    public async Task Leases_list_json_gives_the_etcd_lease_id_the_expiration_and_the_seconds_left()
    {
        long id = PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));

        CliResult result = await RunAsync("leases", "list", "-o", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        JsonElement[] leases = json.RootElement.GetProperty("leases").EnumerateArray().ToArray();
        Assert.That(leases.Select(l => l.GetProperty("subnet").GetString()), Is.EqualTo(new[] { "198.18.9.0/24", "198.18.34.0/24" }));
        Assert.That(leases[0].GetProperty("reserved").GetBoolean(), Is.True);
        Assert.That(leases[0].GetProperty("expiration").ValueKind, Is.EqualTo(JsonValueKind.Null));
        JsonElement lease = leases[1];
        Assert.That(lease.GetProperty("reserved").GetBoolean(), Is.False);
        Assert.That(lease.GetProperty("etcdLease").GetString(), Is.EqualTo(id.ToString("x", CultureInfo.InvariantCulture)));
        long left = lease.GetProperty("expiresInSeconds").GetInt64();
        Assert.That(left, Is.InRange(DayTtl - 30, DayTtl));
        Assert.That(lease.GetProperty("expiration").GetString(), Is.EqualTo((Cli.Now + TimeSpan.FromSeconds(left)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)));
        Assert.That(lease.GetProperty("owner").GetString(), Is.EqualTo("node-a"));
        Assert.That(json.RootElement.GetProperty("skipped").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Leases_list_skips_entries_that_are_not_leases_with_a_warning()
    {
        PutThree();
        PutReservation("bogus", "x");
        PutReservation("198.18.50.0-24", "not json");

        CliResult table = await RunAsync("leases", "list");
        CliResult json = await RunAsync("leases", "list", "-o", "json");

        Assert.That(table.ExitCode, Is.Zero, table.ToString());
        Assert.That(table.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(4));
        Assert.That(table.Err, Does.Contain($"warning: skipped {Key("bogus")}: not a lease key"));
        Assert.That(table.Err, Does.Contain($"warning: skipped {Key("198.18.50.0-24")}: bad lease value"));
        using var parsed = JsonDocument.Parse(json.Out);
        Assert.That(parsed.RootElement.GetProperty("skipped").GetArrayLength(), Is.EqualTo(2));
        Assert.That(json.Err, Is.Empty, "JSON output carries the skipped entries itself");
    }

    [Test]
    public async Task Leases_list_with_no_leases_says_so_on_stderr_and_succeeds()
    {
        CliResult result = await RunAsync("leases", "list");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Out, Is.Empty);
        Assert.That(result.Err, Is.EqualTo($"No leases under {Prefix}/subnets/\n"));
    }

    [TestCase("198.18.10.0/24")]
    [TestCase("198.18.10.0-24")]
    [TestCase("198.18.10.0-24&2001:db8:0:a::-64")]
    public async Task Leases_get_finds_a_lease_by_CIDR_key_or_dual_stack_key(string subnet)
    {
        PutThree();

        CliResult result = await RunAsync("leases", "get", subnet, "-o", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        Assert.That(json.RootElement.GetProperty("key").GetString(), Is.EqualTo("198.18.10.0-24&2001:db8:0:a::-64"));
        Assert.That(json.RootElement.GetProperty("ipv6Subnet").GetString(), Is.EqualTo("2001:db8:0:a::/64"));
        Assert.That(json.RootElement.GetProperty("publicIP").GetString(), Is.EqualTo("198.51.100.10"));
    }

    [Test]
    public async Task Leases_get_prints_a_one_row_table()
    {
        PutThree();

        CliResult result = await RunAsync("leases", "get", "198.18.9.0/24");

        Assert.That(result.Out, Is.EqualTo("""
            SUBNET          IPV6 SUBNET   PUBLIC IP    VTEP MAC   VNI      OWNER    EXPIRES IN
            198.18.9.0/24   <none>        192.0.2.19   <none>     <none>   <none>   reserved
            """ + "\n"));
    }

    [Test]
    public async Task Leases_get_of_an_unknown_subnet_fails_with_exit_1()
    {
        PutThree();

        CliResult result = await RunAsync("leases", "get", "198.18.99.0/24");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Out, Is.Empty);
        Assert.That(result.Err, Is.EqualTo($"error: no lease or reservation for 198.18.99.0/24 under {Prefix}/subnets/; 'overlayctl leases list' shows what there is\n"));
    }

    [Test]
    public async Task Leases_get_of_a_malformed_subnet_is_a_usage_error_with_exit_2()
    {
        CliResult result = await RunAsync("leases", "get", "198.18.99.7/24");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Is.EqualTo(
            "error: SUBNET '198.18.99.7/24' is not a subnet: 198.18.99.7/24 has host bits set; the subnet is 198.18.99.0/24; give it as 198.18.34.0/24, 198.18.34.0-24 or 198.18.34.0-24&2001:db8:0:22::-64\n"
            + "See 'overlayctl leases get --help' for usage.\n"));
    }
}
