using System.Net;
using Overlay.Daemon.Dns;

namespace Overlay.Daemon.Tests.Dns;

public class UpstreamResolversTests
{
    private static IPEndPoint At(string address, int port = 53) => new(IPAddress.Parse(address), port);

    [Test]
    public void Resolv_conf_gives_its_nameservers_in_order_on_port_53_skipping_comments_and_other_keywords()
    {
        const string text = """
            # written by a tool
            search example.test
            nameserver 192.0.2.53
            ; nameserver 192.0.2.99
            options ndots:2 edns0
            nameserver	2001:db8::53
            nameserver not-an-address
            """;

        Assert.That(UpstreamResolvers.FromResolvConf(text), Is.EqualTo(new[] { At("192.0.2.53"), At("2001:db8::53") }));
    }

    [Test]
    public void Resolv_conf_gives_at_most_three_nameservers_as_glibc_reads_it()
    {
        string text = string.Join('\n', Enumerable.Range(1, 5).Select(i => $"nameserver 192.0.2.{i}"));

        Assert.That(UpstreamResolvers.FromResolvConf(text), Is.EqualTo(new[] { At("192.0.2.1"), At("192.0.2.2"), At("192.0.2.3") }));
    }

    [Test]
    public void A_link_local_nameserver_keeps_its_scope()
    {
        IReadOnlyList<IPEndPoint> servers = UpstreamResolvers.FromResolvConf("nameserver fe80::53%1\n");

        Assert.That(servers, Has.Count.EqualTo(1));
        Assert.That(servers[0].Address.ScopeId, Is.EqualTo(1));
    }

    [Test]
    public void The_upstream_flag_takes_addresses_with_and_without_ports_in_both_families()
    {
        bool parsed = UpstreamResolvers.TryParseList(" 192.0.2.53, 198.51.100.7:5353,2001:db8::1,[2001:db8::2]:8053,[2001:db8::3] ", out IReadOnlyList<IPEndPoint> upstreams, out _);

        Assert.That(parsed, Is.True);
        Assert.That(upstreams, Is.EqualTo(new[] { At("192.0.2.53"), At("198.51.100.7", 5353), At("2001:db8::1"), At("2001:db8::2", 8053), At("2001:db8::3") }));
    }

    [TestCase("dns.example")]
    [TestCase("192.0.2")]
    [TestCase("192.0.2.53:")]
    [TestCase("192.0.2.53:65536")]
    [TestCase("[2001:db8::1")]
    [TestCase("[2001:db8::1]53")]
    [TestCase("[192.0.2.53]:53")]
    [TestCase("")]
    public void The_upstream_flag_refuses_what_is_not_an_address(string value)
    {
        Assert.That(UpstreamResolvers.TryParseList(value, out _, out string problem), Is.False);
        Assert.That(problem, Is.Not.Empty);
    }

    [Test]
    public void Upstreams_that_lead_back_to_this_server_are_left_out_with_the_reason()
    {
        IPEndPoint listen = At("100.64.1.0");
        IPAddress clusterDns = IPAddress.Parse("198.18.0.10");

        UpstreamSelection selection = UpstreamResolvers.Select(
            [At("100.64.1.0"), At("198.18.0.10"), At("192.0.2.53"), At("100.64.1.0", 5353), At("192.0.2.53")], listen, clusterDns);

        Assert.That(selection.Upstreams, Is.EqualTo(new[] { At("192.0.2.53"), At("100.64.1.0", 5353) }), "another port of our address is another server; duplicates are asked once");
        Assert.That(selection.Dropped.Select(d => d.Upstream), Is.EqualTo(new[] { At("100.64.1.0"), At("198.18.0.10") }));
        Assert.That(selection.Dropped[0].Reason, Does.Contain("own listen address"));
        Assert.That(selection.Dropped[1].Reason, Does.Contain("cluster DNS address"));
    }

    [Test]
    public void With_every_upstream_a_loop_none_is_left()
    {
        UpstreamSelection selection = UpstreamResolvers.Select([At("198.18.0.10")], At("100.64.1.0"), IPAddress.Parse("198.18.0.10"));

        Assert.That(selection.Upstreams, Is.Empty);
    }
}
