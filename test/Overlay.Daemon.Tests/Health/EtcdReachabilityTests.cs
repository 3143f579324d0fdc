using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Overlay.Daemon.Health;
using Overlay.Daemon.Options;

namespace Overlay.Daemon.Tests.Health;

public class EtcdReachabilityTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-30T10:00:00Z", CultureInfo.InvariantCulture);

    [Test]
    public void One_failed_probe_is_not_yet_unreachable_a_second_in_a_row_is_since_the_first()
    {
        var reachability = new EtcdReachability();

        bool firstChanged = reachability.Observe("no answer within 5 s", T0);
        bool secondChanged = reachability.Observe("no answer within 5 s", T0.AddSeconds(5));

        Assert.That(firstChanged, Is.False);
        Assert.That(secondChanged, Is.True);
        Assert.That(reachability.IsReachable, Is.False);
        Assert.That(reachability.UnreachableSince, Is.EqualTo(T0));
        Assert.That(reachability.Problem, Is.EqualTo("no answer within 5 s"));
    }

    [Test]
    public void Failures_interleaved_with_answers_never_make_etcd_unreachable()
    {
        // One frozen member of three, picked by the balancer every other time.
        var reachability = new EtcdReachability();

        bool[] changes = [.. Enumerable.Range(0, 6).Select(i => reachability.Observe(i % 2 == 0 ? "no answer within 5 s" : null, T0.AddSeconds(i * 5)))];

        Assert.That(changes, Is.All.False);
        Assert.That(reachability.IsReachable, Is.True);
    }

    [Test]
    public void The_first_answer_after_an_outage_makes_etcd_reachable_again()
    {
        var reachability = new EtcdReachability();
        reachability.Observe("Unavailable: no leader", T0);
        reachability.Observe("Unavailable: no leader", T0.AddSeconds(5));

        bool changed = reachability.Observe(null, T0.AddSeconds(10));

        Assert.That(changed, Is.True);
        Assert.That(reachability.IsReachable, Is.True);
        Assert.That(reachability.UnreachableSince, Is.Null);
    }

    [Test]
    public void Readyz_and_the_metrics_say_etcd_is_unreachable_and_since_when()
    {
        var time = new FakeTimeProvider(T0);
        var status = new DaemonStatus(time);
        var server = new HealthServer(new DaemonOptions(), status, NullLogger<HealthServer>.Instance);
        status.MarkReady();

        status.SetEtcdUnreachable((T0, "no answer within 5 s"));
        time.Advance(TimeSpan.FromSeconds(42));
        (int code, string body, _) = server.Respond("GET /readyz HTTP/1.1");
        string metrics = status.RenderMetrics();
        status.SetEtcdUnreachable(null);

        Assert.That(code, Is.EqualTo(503));
        Assert.That(body, Is.EqualTo("not ready: etcd is unreachable since 2026-11-30 10:00:00Z (no answer within 5 s); the data plane stays as etcd last described it\n"));
        Assert.That(metrics, Does.Contain("# TYPE overlay_etcd_reachable gauge\noverlay_etcd_reachable 0\n"));
        Assert.That(metrics, Does.Contain("overlay_etcd_unreachable_seconds 42\n"));
        Assert.That(server.Respond("GET /readyz HTTP/1.1").Code, Is.EqualTo(200));
        Assert.That(status.RenderMetrics(), Does.Contain("overlay_etcd_reachable 1\n"));
    }
}
