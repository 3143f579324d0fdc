using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Overlay.Core.Config;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;
using Overlay.TestKit;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Store;

public sealed class ConfigTests : EtcdFixture
{
    [Test]
    public void A_missing_config_says_where_to_put_one()
    {
        var missing = Assert.ThrowsAsync<NetworkConfigMissingException>(() => Store.GetConfigAsync(CancellationToken.None));

        Assert.That(missing!.Message, Is.EqualTo($"{Prefix}/config is missing: put a network config there, e.g. with overlayctl config set"));
    }

    [Test]
    public async Task An_invalid_config_is_reported_with_the_validators_errors()
    {
        await Store.PutConfigJsonAsync("""{"Network":"198.18.0.0/16","Backend":{"Type":"udp"}}""", CancellationToken.None);

        var invalid = Assert.ThrowsAsync<InvalidNetworkConfigException>(() => Store.GetConfigAsync(CancellationToken.None));

        Assert.That(invalid!.Errors.Select(e => e.Field), Does.Contain("Backend.Type"));
    }

    [Test]
    public async Task The_config_is_stored_as_given_and_read_back()
    {
        await Store.PutConfigJsonAsync(SixtyFourSubnets, CancellationToken.None);

        Assert.That(await Store.GetConfigJsonAsync(CancellationToken.None), Is.EqualTo(SixtyFourSubnets));
        Assert.That(Stored(Etcd, $"{Prefix}/config").Single().Value, Is.EqualTo(SixtyFourSubnets));
        NetworkConfig config = await Store.GetConfigAsync(CancellationToken.None);
        Assert.That(config.SubnetMax.ToString(), Is.EqualTo("198.18.64.0"));
    }

    [Test]
    public async Task Waiting_for_the_config_ends_once_a_valid_one_appears()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Task<NetworkConfig> waiting = Store.WaitForConfigAsync(timeout.Token);
        await Task.Delay(300);
        Assert.That(waiting.IsCompleted, Is.False);
        await Store.PutConfigJsonAsync("""{"Network":"198.18.0.0/16"}""", CancellationToken.None); // no backend: still invalid
        await Task.Delay(300);
        Assert.That(waiting.IsCompleted, Is.False);

        await Store.PutConfigJsonAsync(WideNetwork, CancellationToken.None);

        NetworkConfig config = await waiting;
        Assert.That(config.Network.ToString(), Is.EqualTo("198.18.0.0/16"));
    }

    [Test]
    public async Task Waiting_logs_each_distinct_problem_once_as_one_line()
    {
        var logger = new RecordingLogger<LeaseStore>();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new LeaseStore(Session, logger: logger, time: time);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Task<NetworkConfig> waiting = store.WaitForConfigAsync(timeout.Token);

        await RetriedAsync(logger, time, 3);
        await Store.PutConfigJsonAsync("""{"Network":"198.18.0.0/16","SubnetLen":31}""", CancellationToken.None);
        await RetriedAsync(logger, time, 6);
        await Store.PutConfigJsonAsync(WideNetwork, CancellationToken.None);
        // The store may still be reading when time first moves on, with its next delay not yet started: move on until it is done.
        await Poll.UntilAsync(() =>
        {
            time.Advance(TimeSpan.FromSeconds(10));
            return Task.FromResult(waiting.IsCompleted);
        });
        await waiting;

        string[] warnings = logger.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).ToArray();
        Assert.That(warnings, Has.Length.EqualTo(2));
        Assert.That(warnings[0], Does.Contain($"{Prefix}/config is missing"));
        Assert.That(warnings[1], Does.Contain("SubnetLen").And.Not.Contain("\n"));
        Assert.That(logger.Entries[^1].Message, Does.Contain("usable now"));
    }

    [Test]
    public async Task A_dead_endpoint_among_several_does_not_stop_the_calls()
    {
        await using EtcdSession both = NewSessionWith(["http://127.0.0.1:9", Etcd.Endpoint]);
        var store = new LeaseStore(both);

        for (int i = 0; i < 5; i++)
        {
            await store.PutConfigJsonAsync(WideNetwork, CancellationToken.None);
        }

        Assert.That(await store.GetConfigJsonAsync(CancellationToken.None), Is.EqualTo(WideNetwork));
    }

    private EtcdSession NewSessionWith(string[] endpoints) => new(Options(Etcd, Prefix) with { Endpoints = endpoints });

    /// <summary>Advances the clock until the waiting loop has logged at least <paramref name="attempts"/> attempts.</summary>
    private static async Task RetriedAsync(RecordingLogger<LeaseStore> logger, FakeTimeProvider time, int attempts)
    {
        bool retried = await Poll.UntilAsync(() =>
        {
            time.Advance(TimeSpan.FromSeconds(10));
            return Task.FromResult(logger.Entries.Count(e => e.Id.Id is 2101 or 2113) >= attempts);
        });
        Assert.That(retried, Is.True, "the config was not retried");
    }
}
