using Overlay.Core.Config;
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
}
