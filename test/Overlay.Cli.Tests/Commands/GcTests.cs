using System.Text.Json;
using Overlay.Core.Leases;
using Overlay.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;

namespace Overlay.Cli.Tests.Commands;

public sealed class GcTests : CliFixture
{
    /// <summary>node-a renewing 198.18.34.0, its stale 198.18.12.0, a lease that missed renewal, a reservation, a healthy node.</summary>
    private void PutCluster()
    {
        PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));
        PutLease("198.18.12.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"), ttl: 80000);
        PutLease("198.18.5.0-24", Value("192.0.2.15", "0e:2a:00:00:00:05", "node-e"), ttl: 1800);
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        PutLease("198.18.20.0-24", Value("192.0.2.20", "0e:2a:00:00:00:20", "node-t"));
    }

    [Test]
    public async Task Gc_lists_abandoned_leases_with_reasons_and_removes_nothing_without_apply()
    {
        PutCluster();

        CliResult result = await RunAsync("leases", "gc");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        string[] lines = result.Out.Split('\n');
        Assert.That(lines[0], Does.Match("^SUBNET +PUBLIC IP +OWNER +EXPIRES IN +WHY$"));
        Assert.That(lines[1], Does.Match(@"^198\.18\.5\.0/24 +192\.0\.2\.15 +node-e +29m\d+s +29m\d+s left, less than the renew margin 1h: its owner missed its renewal$"));
        Assert.That(lines[2], Does.Match(@"^198\.18\.12\.0/24 +192\.0\.2\.11 +node-a +22h13m +owner node-a also holds 198\.18\.34\.0/24, renewed more recently$"));
        Assert.That(result.Out, Does.EndWith("\n2 leases look abandoned; nothing was removed. To remove them: overlayctl leases gc --apply\n"));
        Assert.That(StoredLeases(), Has.Count.EqualTo(5));
    }

    [Test]
    public async Task Gc_apply_removes_the_abandoned_leases_and_nothing_else()
    {
        PutCluster();

        CliResult result = await RunAsync("leases", "gc", "--apply");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Does.Match(@"198\.18\.5\.0/24 .* released "));
        Assert.That(StoredLeases().Keys.Order(), Is.EqualTo(new[] { "198.18.20.0-24", "198.18.34.0-24", "198.18.9.0-24" }));
    }

    [Test]
    public async Task Gc_removes_a_reservation_only_when_it_is_named()
    {
        PutCluster();

        CliResult result = await RunAsync("leases", "gc", "198.18.9.0/24", "--renew-margin=10m", "--apply", "-o", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        Assert.That(json.RootElement.GetProperty("applied").GetBoolean(), Is.True);
        Assert.That(json.RootElement.GetProperty("renewMarginSeconds").GetInt64(), Is.EqualTo(600));
        var candidates = json.RootElement.GetProperty("candidates").EnumerateArray()
            .ToDictionary(c => c.GetProperty("lease").GetProperty("subnet").GetString()!, c => c);
        Assert.That(candidates.Keys, Is.EquivalentTo(new[] { "198.18.9.0/24", "198.18.12.0/24" }), "with a 10m margin the 30m lease is not late");
        Assert.That(candidates["198.18.9.0/24"].GetProperty("reasons")[0].GetString(), Is.EqualTo("named on the command line"));
        Assert.That(candidates["198.18.9.0/24"].GetProperty("result").GetString(), Is.EqualTo("released"));
        Assert.That(StoredLeases().Keys.Order(), Is.EqualTo(new[] { "198.18.20.0-24", "198.18.34.0-24", "198.18.5.0-24" }));
    }

    [Test]
    public async Task Gc_naming_an_unknown_subnet_fails_before_removing_anything()
    {
        PutCluster();

        CliResult result = await RunAsync("leases", "gc", "198.18.5.0/24", "198.18.60.0/24", "--apply");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith("error: no lease or reservation for 198.18.60.0/24"));
        Assert.That(StoredLeases(), Has.Count.EqualTo(5));
    }

    [Test]
    public async Task Gc_with_nothing_abandoned_says_so()
    {
        PutLease("198.18.20.0-24", Value("192.0.2.20", "0e:2a:00:00:00:20", "node-t"));

        CliResult result = await RunAsync("leases", "gc");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Out, Is.EqualTo("No leases look abandoned (renew margin 1h).\n"));
    }

    [Test]
    public async Task A_lease_renewed_after_it_was_listed_is_not_released()
    {
        PutLease("198.18.5.0-24", Value("192.0.2.15"), ttl: 1800);
        await using var session = new EtcdSession(new EtcdOptions { Endpoints = [Etcd.Endpoint], Prefix = Prefix });
        var store = new LeaseStore(session);
        LeaseSnapshot listed = await store.ListAsync(withExpiration: true, CancellationToken.None);
        long renewed = PutLease("198.18.5.0-24", Value("192.0.2.15"));
        SubnetKey subnet = SubnetKey.Parse("198.18.5.0-24");

        ReleaseOutcome outcome = await store.ReleaseIfUnchangedAsync(subnet, listed.Revision, CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(ReleaseOutcome.ChangedSince));
        Assert.That(StoredLeases()["198.18.5.0-24"], Is.EqualTo(renewed));
        LeaseSnapshot now = await store.ListAsync(withExpiration: false, CancellationToken.None);
        Assert.That(await store.ReleaseIfUnchangedAsync(subnet, now.Revision, CancellationToken.None), Is.EqualTo(ReleaseOutcome.Released));
        Assert.That(await store.ReleaseIfUnchangedAsync(subnet, now.Revision, CancellationToken.None), Is.EqualTo(ReleaseOutcome.Missing));
    }
}
