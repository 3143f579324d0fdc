using Overlay.Leases.Etcd;
using Grpc.Net.Client;

namespace Overlay.Leases.Tests.Etcd;

/// <summary>
/// Every wait on the way to a running node is capped near a second, so a node that booted before etcd starts
/// within about a second of etcd answering, however long etcd was away.
/// </summary>
public sealed class StartUpWaitTests
{
    [Test]
    public void A_loop_that_has_not_succeeded_yet_waits_at_most_a_second_however_often_it_failed()
    {
        var backoff = Backoff.ForLoops(TimeProvider.System);

        TimeSpan[] waits = Enumerable.Range(0, 200).Select(_ => backoff.Next()).ToArray();

        Assert.That(waits, Has.All.LessThanOrEqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(waits[^1], Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(500)), "jitter takes off at most half");
    }

    [Test]
    public void After_its_first_success_a_loop_backs_off_up_to_five_seconds()
    {
        var backoff = Backoff.ForLoops(TimeProvider.System);
        backoff.Next();
        backoff.Reset();

        TimeSpan[] waits = Enumerable.Range(0, 200).Select(_ => backoff.Next()).ToArray();

        Assert.That(waits[0], Is.LessThanOrEqualTo(TimeSpan.FromMilliseconds(250)), "a success starts again from the shortest wait");
        Assert.That(waits, Has.All.LessThanOrEqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(waits[^1], Is.GreaterThan(TimeSpan.FromSeconds(2)));
        Assert.That(Backoff.ForLoops(TimeProvider.System, started: true).Cap, Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void The_retries_of_one_etcd_call_wait_at_most_a_second() =>
        Assert.That(EtcdSession.MaxRetryDelay, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(1)));

    [Test]
    public void Grpc_reconnects_to_a_refusing_endpoint_at_least_twice_a_second()
    {
        using var handler = new SocketsHttpHandler();
        var channel = new GrpcChannelOptions { HttpHandler = handler, MaxReconnectBackoff = TimeSpan.FromMinutes(2) };

        EtcdClientFactory.ConfigureChannel(channel, new EtcdOptions { CallTimeout = TimeSpan.FromSeconds(5) });

        Assert.That(channel.MaxReconnectBackoff, Is.LessThanOrEqualTo(TimeSpan.FromMilliseconds(500)));
        Assert.That(channel.InitialReconnectBackoff, Is.LessThanOrEqualTo(channel.MaxReconnectBackoff));
        Assert.That(handler.ConnectTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)), "one attempt gets the call timeout");
        Assert.That(channel.ServiceConfig!.MethodConfigs, Is.Empty, "Polly owns retries, not gRPC");
    }
}
