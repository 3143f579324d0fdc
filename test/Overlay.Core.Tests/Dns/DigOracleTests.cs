using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Overlay.Core.Dns;

namespace Overlay.Core.Tests.Dns;

/// <summary>
/// dig (BIND 9) as an independent client: a UDP socket on 127.0.0.1 answers with <see cref="ClusterDnsAnswerer"/>
/// over a small fake zone (names outside it get SERVFAIL instead of a forward), and the assertions read dig's output.
/// </summary>
[NonParallelizable]
public partial class DigOracleTests
{
    private Socket _socket = null!;
    private CancellationTokenSource _stop = null!;
    private Task _serving = null!;
    private int _port;

    [OneTimeSetUp]
    public void StartServer()
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _stop = new CancellationTokenSource();
        _serving = Serve(_socket, new ClusterDnsAnswerer(new FakeClusterZone()), _stop.Token);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _serving;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    [Test]
    public async Task Dig_reads_an_authoritative_a_answer()
    {
        DigResult dig = await Dig("web.default.svc.cluster.local", "A");

        Assert.That(dig.Status, Is.EqualTo("NOERROR"));
        Assert.That(dig.Flags, Is.SupersetOf(new[] { "qr", "aa", "rd", "ra" }));
        Assert.That(dig.Answers, Is.EqualTo(new[] { "web.default.svc.cluster.local. 5 IN A 198.51.100.10" }));
    }

    [Test]
    public async Task Dig_reads_an_aaaa_answer()
    {
        DigResult dig = await Dig("web.default.svc.cluster.local", "AAAA");

        Assert.That(dig.Answers, Is.EqualTo(new[] { "web.default.svc.cluster.local. 5 IN AAAA 2001:db8::a" }));
    }

    [Test]
    public async Task Dig_reads_an_srv_answer_and_its_additional_addresses()
    {
        DigResult dig = await Dig("_http._tcp.web.default.svc.cluster.local", "SRV");

        Assert.That(dig.Answers, Is.EqualTo(new[] { "_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local." }));
        Assert.That(dig.Output, Does.Contain("ADDITIONAL: 3"));
        Assert.That(dig.Section("ADDITIONAL"), Does.Contain("web.default.svc.cluster.local. 5 IN A 198.51.100.10"));
    }

    [Test]
    public async Task Dig_reads_a_ptr_answer_for_a_reverse_lookup()
    {
        DigResult dig = await Dig("-x", "198.51.100.10");

        Assert.That(dig.Answers, Is.EqualTo(new[] { "10.100.51.198.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local." }));
    }

    [Test]
    public async Task Dig_reads_a_txt_answer()
    {
        DigResult dig = await Dig("dns-version.cluster.local", "TXT");

        Assert.That(dig.Answers, Is.EqualTo(new[] { "dns-version.cluster.local. 5 IN TXT \"1.1.0\"" }));
    }

    [Test]
    public async Task Dig_reads_an_authoritative_nxdomain_with_the_soa()
    {
        DigResult dig = await Dig("nope.default.svc.cluster.local", "A");

        Assert.That(dig.Status, Is.EqualTo("NXDOMAIN"));
        Assert.That(dig.Flags, Does.Contain("aa"));
        Assert.That(dig.Answers, Is.Empty);
        Assert.That(dig.Section("AUTHORITY"), Is.EqualTo(new[] { "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1764460800 7200 1800 86400 5" }));
    }

    [Test]
    public async Task Without_edns_dig_sees_tc_on_an_answer_over_512_bytes()
    {
        DigResult dig = await Dig("db.default.svc.cluster.local", "A", "+noedns", "+ignore");

        Assert.That(dig.Status, Is.EqualTo("NOERROR"));
        Assert.That(dig.Flags, Does.Contain("tc"));
        Assert.That(dig.Answers, Is.Empty);
        Assert.That(dig.Output, Does.Not.Contain("OPT PSEUDOSECTION"));
    }

    [Test]
    public async Task With_a_4096_byte_buffer_dig_gets_all_100_addresses_and_our_edns_size()
    {
        DigResult dig = await Dig("db.default.svc.cluster.local", "A", "+bufsize=4096", "+ignore");

        Assert.That(dig.Flags, Does.Not.Contain("tc"));
        Assert.That(dig.Answers, Has.Count.EqualTo(100));
        Assert.That(dig.Answers, Has.All.Match(@"^db\.default\.svc\.cluster\.local\. 5 IN A 198\.18\.0\.\d+$"));
        Assert.That(dig.Output, Does.Contain("; EDNS: version: 0, flags:; udp: 1232"));
    }

    [Test]
    public async Task Dig_sees_the_question_case_it_sent_kept()
    {
        DigResult dig = await Dig("WEB.Default.svc.cluster.local", "A");

        Assert.That(dig.Answers, Is.EqualTo(new[] { "WEB.Default.svc.cluster.local. 5 IN A 198.51.100.10" }));
    }

    [Test]
    public async Task An_edns_version_1_query_gets_badvers()
    {
        DigResult dig = await Dig("web.default.svc.cluster.local", "A", "+edns=1", "+noednsnegotiation");

        Assert.That(dig.Status, Is.EqualTo("BADVERS"));
        Assert.That(dig.Output, Does.Contain("; EDNS: version: 0"));
    }

    [Test]
    public async Task A_chaos_question_in_the_zone_is_refused()
    {
        DigResult dig = await Dig("-c", "CH", "web.default.svc.cluster.local", "TXT");

        Assert.That(dig.Status, Is.EqualTo("REFUSED"));
    }

    private async Task<DigResult> Dig(params string[] question)
    {
        var start = new ProcessStartInfo("dig") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["@127.0.0.1", "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. question, "+tries=1", "+time=2"])
        {
            start.ArgumentList.Add(argument);
        }

        using var dig = Process.Start(start)!;
        Task<string> output = dig.StandardOutput.ReadToEndAsync();
        Task<string> errors = dig.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await dig.WaitForExitAsync(timeout.Token);
        string text = await output + await errors;
        Assert.That(dig.ExitCode, Is.Zero, text);
        // dig warns of every .local name (RFC 6762 keeps it for mDNS); any other warning is a finding.
        string warnings = string.Join('\n', text.Split('\n').Where(l => l.Contains("arning", StringComparison.Ordinal) || l.Contains("alformed", StringComparison.Ordinal)));
        Assert.That(warnings, Is.Empty.Or.EqualTo(";; WARNING: .local is reserved for Multicast DNS"), text);
        return new DigResult(text);
    }

    private static async Task Serve(Socket socket, ClusterDnsAnswerer answerer, CancellationToken stop)
    {
        byte[] query = new byte[65535];
        byte[] response = new byte[4096];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received = await socket.ReceiveFromAsync(query, SocketFlags.None, any, stop);
            ReadOnlyMemory<byte> packet = query.AsMemory(0, received.ReceivedBytes);
            int written;
            switch (answerer.Answer(packet.Span, response, overTcp: false, out written))
            {
                case DnsDisposition.Answered:
                    break;
                case DnsDisposition.Forward when DnsPacket.TryWriteResponse(packet.Span, DnsResponseCode.ServerFailure, response, overTcp: false, out written):
                    break;
                default:
                    continue;
            }

            await socket.SendToAsync(response.AsMemory(0, written), SocketFlags.None, received.RemoteEndPoint, stop);
        }
    }

    private sealed partial class DigResult(string output)
    {
        public string Output { get; } = output;

        public string Status => StatusPattern().Match(Output).Groups[1].Value;

        public IReadOnlyList<string> Flags => FlagsPattern().Match(Output).Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        public IReadOnlyList<string> Answers => Section("ANSWER");

        public IReadOnlyList<string> Section(string name)
        {
            string[] lines = Output.Split('\n');
            int start = Array.IndexOf(lines, $";; {name} SECTION:");
            if (start < 0)
            {
                return [];
            }

            return [.. lines.Skip(start + 1).TakeWhile(l => l.Length > 0).Select(l => Whitespace().Replace(l.Trim(), " "))];
        }

        [GeneratedRegex(@"status: ([A-Z]+)")]
        private static partial Regex StatusPattern();

        [GeneratedRegex(@";; flags: ([a-z ]*);")]
        private static partial Regex FlagsPattern();

        [GeneratedRegex(@"\s+")]
        private static partial Regex Whitespace();
    }
}
