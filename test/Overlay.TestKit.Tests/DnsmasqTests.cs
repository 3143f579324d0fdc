using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

/// <summary>The upstream resolver of the DNS tests, checked with dig from a second namespace.</summary>
public class DnsmasqTests
{
    private const string ServerAddress = "192.0.2.53";

    private NetworkLab lab = null!;
    private NetNs server = null!;
    private NetNs client = null!;

    [SetUp]
    public void CreateLab()
    {
        Root.Require();
        if (Shell.Run("sh", "-c", "command -v dnsmasq && command -v dig").ExitCode != 0)
        {
            Requirement.Unmet("needs dnsmasq and dig (Debian packages dnsmasq-base and bind9-dnsutils; scripts/install-deps.sh installs them)");
        }
        lab = NetworkLab.Create();
        server = lab.AddNamespace("dns");
        client = lab.AddNamespace("client");
        var (serverEnd, clientEnd) = lab.AddVethPair(server, client);
        server.AddAddress(serverEnd, ServerAddress + "/24");
        client.AddAddress(clientEnd, "192.0.2.2/24");
    }

    [TearDown]
    public void DisposeLab() => lab?.Dispose();

    private Task<Dnsmasq> StartAsync(params DnsmasqHostRecord[] records) =>
        Dnsmasq.StartAsync(new DnsmasqOptions
        {
            Namespace = server,
            ListenAddress = ServerAddress,
            HostRecords = records,
            TxtRecords = [DnsmasqTxtRecord.Large("big.example.test")],
        });

    [Test]
    public async Task It_answers_its_host_records_with_their_addresses_and_the_TTL_given()
    {
        await using Dnsmasq dns = await StartAsync(
            new DnsmasqHostRecord("www.example.test", "198.51.100.80"),
            new DnsmasqHostRecord("www.example.test", "2001:db8::80"));

        DigResult a = Dig.Query(client, ServerAddress, "www.example.test");
        DigResult aaaa = Dig.Query(client, ServerAddress, "www.example.test", "AAAA");

        Assert.That(a.Status, Is.EqualTo("NOERROR"), a.Output);
        Assert.That(a.Answer, Is.EqualTo(new[] { new DigRecord("www.example.test", 5, "A", "198.51.100.80") }), a.Output);
        Assert.That(a.Authoritative, Is.True, a.Output);
        Assert.That(a.Transport, Is.EqualTo("UDP"));
        Assert.That(a.QueryTimeMs, Is.Not.Null.And.LessThan(1000));
        Assert.That(aaaa.AnswerData("AAAA"), Is.EqualTo(new[] { "2001:db8::80" }), aaaa.Output);
    }

    [Test]
    public async Task A_name_in_its_zone_that_no_record_names_is_NXDOMAIN()
    {
        await using Dnsmasq dns = await StartAsync(new DnsmasqHostRecord("www.example.test", "198.51.100.80"));

        DigResult result = Dig.Query(client, ServerAddress, "nowhere.example.test");

        Assert.That(result.Answered, Is.True, result.Output);
        Assert.That(result.Status, Is.EqualTo("NXDOMAIN"), result.Output);
        Assert.That(result.Answer, Is.Empty);
    }

    [Test]
    public async Task A_large_TXT_record_comes_back_truncated_over_UDP_and_whole_over_TCP()
    {
        await using Dnsmasq dns = await StartAsync();

        DigResult udp = Dig.Query(client, ServerAddress, "big.example.test", "TXT", new DigOptions { BufferSize = 512, IgnoreTruncation = true });
        DigResult retried = Dig.Query(client, ServerAddress, "big.example.test", "TXT", new DigOptions { BufferSize = 512 });
        DigResult tcp = Dig.Query(client, ServerAddress, "big.example.test", "TXT", new DigOptions { Tcp = true });

        Assert.That(udp.Truncated, Is.True, udp.Output);
        Assert.That(udp.Answer, Is.Empty, udp.Output);
        Assert.That(retried.Truncated, Is.False, retried.Output);
        Assert.That(retried.Transport, Is.EqualTo("TCP"), retried.Output);
        Assert.That(retried.Answer, Has.Count.EqualTo(1), retried.Output);
        Assert.That(tcp.AnswerData("TXT").Single(), Does.Contain(new string('x', 200)), tcp.Output);
        Assert.That(tcp.Transport, Is.EqualTo("TCP"));
    }

    [Test]
    public async Task Disposing_it_stops_dnsmasq_and_removes_its_folder()
    {
        Dnsmasq dns = await StartAsync(new DnsmasqHostRecord("www.example.test", "198.51.100.80"));
        int pid = dns.ProcessId;
        string folder = dns.Folder;
        Assert.That(File.ReadAllText(dns.PidFile).Trim(), Is.EqualTo(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        dns.Dispose();

        Assert.That(Poll.Until(() => !ProcessState.IsAlive(pid)), Is.True);
        Assert.That(Directory.Exists(folder), Is.False);
        Assert.That(Dig.Query(client, ServerAddress, "www.example.test", options: new DigOptions { TimeoutSeconds = 1 }).Answered, Is.False);
    }

    [Test]
    public void A_dnsmasq_that_cannot_bind_fails_to_start_with_its_log_and_leaves_nothing()
    {
        string[] before = Directory.GetDirectories(Path.GetTempPath(), $"ovt-dnsmasq-{Environment.ProcessId}-*");

        var failure = Assert.ThrowsAsync<InvalidOperationException>(() => Dnsmasq.StartAsync(new DnsmasqOptions
        {
            Namespace = server,
            ListenAddress = "192.0.2.99", // not an address of the namespace
        }));

        Assert.That(failure!.Message, Does.Contain("cannot assign requested address").IgnoreCase);
        Assert.That(Directory.GetDirectories(Path.GetTempPath(), $"ovt-dnsmasq-{Environment.ProcessId}-*"), Is.EquivalentTo(before));
    }

    [Test]
    public async Task A_process_started_in_a_namespace_resolves_through_the_resolv_conf_set_for_it()
    {
        await using Dnsmasq dns = await StartAsync(new DnsmasqHostRecord("only-upstream.example.test", "198.51.100.81"));
        string hostResolvConf = File.ReadAllText("/etc/resolv.conf");

        client.SetResolvConf(dns.ResolvConf);
        CommandResult resolved = client.Exec("getent", "hosts", "only-upstream.example.test");

        Assert.That(client.Exec("cat", "/etc/resolv.conf").StdOut, Is.EqualTo(dns.ResolvConf));
        Assert.That(resolved.ExitCode, Is.Zero, resolved.StdErr);
        Assert.That(resolved.StdOut.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "198.51.100.81", "only-upstream.example.test" }));
        Assert.That(File.ReadAllText("/etc/resolv.conf"), Is.EqualTo(hostResolvConf), "the host's own resolv.conf stays as it was");
        Assert.That(Shell.Run("getent", "hosts", "only-upstream.example.test").ExitCode, Is.Not.Zero, "the host does not know the name");
    }

    [Test]
    public void Deleting_the_namespace_removes_its_etc_folder()
    {
        NetNs node = lab.AddNamespace("node");
        node.SetResolvConf("nameserver 192.0.2.53\n");
        Assert.That(File.Exists(Path.Combine(node.EtcFolder, "resolv.conf")), Is.True);

        lab.Dispose();

        Assert.That(Directory.Exists(node.EtcFolder), Is.False);
        Assert.That(Directory.Exists(client.EtcFolder), Is.False);
    }

    [Test]
    public void The_sweeper_removes_the_etc_folder_of_a_namespace_named_after_a_dead_process()
    {
        string leftover = $"/etc/netns/ovt{DeadPid.Find()}x1-node";
        string living = "/etc/netns/ovt1x999999-living";
        Directory.CreateDirectory(leftover);
        Directory.CreateDirectory(living);
        try
        {
            File.WriteAllText(Path.Combine(leftover, "resolv.conf"), "nameserver 192.0.2.53\n");

            NetworkLab.SweepLeftovers();

            Assert.That(Directory.Exists(leftover), Is.False);
            Assert.That(Directory.Exists(living), Is.True);
        }
        finally
        {
            if (Directory.Exists(leftover))
            {
                Directory.Delete(leftover, recursive: true);
            }
            Directory.Delete(living, recursive: true);
        }
    }
}
