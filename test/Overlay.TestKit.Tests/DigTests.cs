using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

/// <summary>The parser of dig's default output, on outputs dig 9.18 printed.</summary>
public class DigTests
{
    private const string NxdomainWithSoa = """

        ; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @198.19.0.10 -p 53 +tries=1 +time=2 nowhere.default.svc.cluster.local A
        ; (1 server found)
        ;; global options: +cmd
        ;; Got answer:
        ;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 4242
        ;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1

        ;; OPT PSEUDOSECTION:
        ; EDNS: version: 0, flags:; udp: 1232
        ;; QUESTION SECTION:
        ;nowhere.default.svc.cluster.local. IN	A

        ;; AUTHORITY SECTION:
        cluster.local.		5	IN	SOA	ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5

        ;; Query time: 3 msec
        ;; SERVER: 198.19.0.10#53(198.19.0.10) (UDP)
        ;; WHEN: Mon Nov 30 19:25:05 UTC 2026
        ;; MSG SIZE  rcvd: 120

        """;

    private const string SrvOverTcp = """

        ; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @198.19.0.10 +tcp _http._tcp.web.default.svc.cluster.local SRV
        ; (1 server found)
        ;; global options: +cmd
        ;; Got answer:
        ;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 7
        ;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1

        ;; QUESTION SECTION:
        ;_http._tcp.web.default.svc.cluster.local. IN SRV

        ;; ANSWER SECTION:
        _http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local.

        ;; ADDITIONAL SECTION:
        web.default.svc.cluster.local. 5 IN	A	198.19.0.20

        ;; Query time: 12 msec
        ;; SERVER: 198.19.0.10#53(198.19.0.10) (TCP)
        ;; WHEN: Mon Nov 30 19:25:05 UTC 2026
        ;; MSG SIZE  rcvd: 160

        """;

    private const string Truncated = """

        ; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @192.0.2.53 +tries=1 +time=2 +ignore +bufsize=512 big.example.test TXT
        ; (1 server found)
        ;; global options: +cmd
        ;; Got answer:
        ;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 65130
        ;; flags: qr aa tc rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1

        ;; OPT PSEUDOSECTION:
        ; EDNS: version: 0, flags:; udp: 1232
        ;; QUESTION SECTION:
        ;big.example.test.		IN	TXT

        ;; Query time: 0 msec
        ;; SERVER: 192.0.2.53#53(192.0.2.53) (UDP)
        ;; WHEN: Mon Nov 30 19:25:05 UTC 2026
        ;; MSG SIZE  rcvd: 45

        """;

    private const string NoReply = """
        ;; communications error to 192.0.2.99#53: timed out

        ; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @192.0.2.99 +tries=1 +time=1 www.example.test A
        ; (1 server found)
        ;; global options: +cmd
        ;; no servers could be reached

        """;

    [Test]
    public void An_NXDOMAIN_reply_gives_its_status_flags_and_the_SOA_of_the_authority_section()
    {
        DigResult result = Dig.Parse(NxdomainWithSoa, 0);

        Assert.That(result.Answered, Is.True);
        Assert.That(result.Status, Is.EqualTo("NXDOMAIN"));
        Assert.That(result.Flags, Is.EquivalentTo(new[] { "qr", "aa", "rd" }));
        Assert.That(result.Authoritative, Is.True);
        Assert.That(result.RecursionAvailable, Is.False);
        Assert.That(result.Answer, Is.Empty);
        Assert.That(result.Authority, Is.EqualTo(new[]
        {
            new DigRecord("cluster.local", 5, "SOA", "ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"),
        }));
        Assert.That(result.Additional, Is.Empty, "the OPT pseudo-record is not a record of the additional section");
        Assert.That(result.QueryTimeMs, Is.EqualTo(3));
        Assert.That(result.Transport, Is.EqualTo("UDP"));
    }

    [Test]
    public void Records_separated_by_spaces_or_tabs_keep_their_whole_data()
    {
        DigResult result = Dig.Parse(SrvOverTcp, 0);

        Assert.That(result.Answer, Is.EqualTo(new[]
        {
            new DigRecord("_http._tcp.web.default.svc.cluster.local", 5, "SRV", "0 100 80 web.default.svc.cluster.local."),
        }));
        Assert.That(result.Additional, Is.EqualTo(new[] { new DigRecord("web.default.svc.cluster.local", 5, "A", "198.19.0.20") }));
        Assert.That(result.AnswerData("srv"), Is.EqualTo(new[] { "0 100 80 web.default.svc.cluster.local." }));
        Assert.That(result.Transport, Is.EqualTo("TCP"));
        Assert.That(result.QueryTimeMs, Is.EqualTo(12));
    }

    [Test]
    public void A_truncated_reply_kept_with_ignore_shows_the_tc_flag()
    {
        DigResult result = Dig.Parse(Truncated, 0);

        Assert.That(result.Truncated, Is.True);
        Assert.That(result.Status, Is.EqualTo("NOERROR"));
        Assert.That(result.Answer, Is.Empty);
    }

    [Test]
    public void No_reply_is_not_answered_and_has_no_status()
    {
        DigResult result = Dig.Parse(NoReply, 9);

        Assert.That(result.Answered, Is.False);
        Assert.That(result.Status, Is.Empty);
        Assert.That(result.QueryTimeMs, Is.Null);
        Assert.That(result.ExitCode, Is.EqualTo(9));
    }

    [Test]
    public void The_arguments_ask_once_and_carry_each_option()
    {
        IReadOnlyList<string> args = Dig.Arguments("198.19.0.10", "web", "AAAA",
            new DigOptions { Tcp = true, BufferSize = 512, IgnoreTruncation = true, NoEdns = true, Port = 5353, Extra = ["+norecurse"] });

        Assert.That(args, Is.EqualTo(new[]
        {
            "@198.19.0.10", "-p", "5353", "+tries=1", "+time=2", "+tcp", "+noedns", "+bufsize=512", "+ignore", "+norecurse", "web", "AAAA",
        }));
    }
}
