using System.Text.Json;

namespace Overlay.Cli.Tests.Commands;

public sealed class StatusTests : CliFixture
{
    [Test]
    public async Task Status_reports_the_network_subnets_used_and_free_leases_close_to_expiry_and_reservations()
    {
        PutConfig();
        PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));
        PutLease("198.18.5.0-24", Value("192.0.2.15", "0e:2a:00:00:00:05", "node-e"), ttl: 1800);
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));

        CliResult result = await RunAsync("status");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        string[] lines = result.Out.Split('\n');
        Assert.That(lines[..7], Is.EqualTo(new[]
        {
            $"Prefix:       {Prefix}",
            "Network:      198.18.0.0/16, /24 subnets from 198.18.1.0 to 198.18.64.0",
            "Backend:      vxlan, VNI 1, port 8472",
            "Subnets:      3 used, 61 free of 64",
            "Leases:       2 leases, 1 reservation",
            "",
            "Expiring within the renew margin (1h): 1",
        }));
        Assert.That(lines[8], Does.Match(@"^  198\.18\.5\.0/24 +<none> +192\.0\.2\.15 +0e:2a:00:00:00:05 +1 +node-e +29m\d+s$"));
        Assert.That(lines[9], Is.EqualTo("Reservations: 1"));
        Assert.That(lines[11], Is.EqualTo("  198.18.9.0/24   <none>        192.0.2.19   <none>     <none>   <none>   reserved"));
        Assert.That(lines, Has.Length.EqualTo(13));
    }

    [Test]
    public async Task Status_json_counts_subnets_and_lists_leases_outside_the_config()
    {
        PutConfig();
        PutLease("198.18.34.0-24", Value("192.0.2.11"));
        PutLease("198.18.200.0-24", Value("192.0.2.12"));

        CliResult result = await RunAsync("status", "-o", "json", "--renew-margin", "90m");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        JsonElement subnets = json.RootElement.GetProperty("subnets");
        Assert.That((subnets.GetProperty("total").GetInt64(), subnets.GetProperty("used").GetInt32(), subnets.GetProperty("free").GetInt64()), Is.EqualTo((64L, 1, 63L)));
        Assert.That(json.RootElement.GetProperty("leases").GetInt32(), Is.EqualTo(2));
        Assert.That(json.RootElement.GetProperty("renewMarginSeconds").GetInt64(), Is.EqualTo(5400));
        Assert.That(json.RootElement.GetProperty("outsideConfig").EnumerateArray().Select(l => l.GetProperty("subnet").GetString()), Is.EqualTo(new[] { "198.18.200.0/24" }));
        Assert.That(json.RootElement.GetProperty("config").GetProperty("subnetMax").GetString(), Is.EqualTo("198.18.64.0"));
    }

    [Test]
    public async Task Status_without_a_config_fails_saying_how_to_store_one()
    {
        CliResult result = await RunAsync("status");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: there is no network config at {Prefix}/config (status is reported against it); store one with 'overlayctl config set FILE'"));
    }
}
