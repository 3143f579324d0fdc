using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Overlay.Core.Services;
using Overlay.Daemon.Masquerade;
using Overlay.Daemon.Services;
using Overlay.TestKit;
using static Overlay.Daemon.Tests.Services.ServiceRulesPlannerTests;

namespace Overlay.Daemon.Tests.Services;

/// <summary>
/// The table in a real kernel, in a namespace of its own, read back with <c>nft -j list</c> as the oracle; once with
/// the nft tool as a process, once with libnftables in-process.
/// </summary>
[NonParallelizable]
[TestFixture("process")]
[TestFixture("library")]
public class ServiceTableTests(string runner)
{
    private NetworkLab _lab = null!;
    private NetNs _ns = null!;
    private NftLibrary? _library;

    [SetUp]
    public void CreateNamespace()
    {
        Root.Require();
        _lab = NetworkLab.Create();
        _ns = _lab.AddNamespace("svc");
    }

    [TearDown]
    public void RemoveNamespace()
    {
        _library?.Dispose();
        _library = null;
        _lab?.Dispose();
    }

    private INftRunner Runner() => runner == "library" ? _library ??= NftLibrary.Open(_ns.Path) : NftCommand.InNamespace(_ns.Name);

    private ServiceTable Table(AddressFamily family = AddressFamily.InterNetwork, int budget = ServiceRuleset.DefaultTransactionBudget) =>
        new(family, Runner(), budget);

    /// <summary>The elements of a set or map as nft lists them in JSON, each rendered back to text.</summary>
    private string[] Listed(string set, string family = "ip")
    {
        using JsonDocument doc = JsonDocument.Parse(_ns.ExecChecked("nft", "-j", "list", set.StartsWith("service", StringComparison.Ordinal) || set is "backends" or "cluster-dns" ? "map" : "set", family, ServiceRuleset.Table, set).StdOut);
        JsonElement item = doc.RootElement.GetProperty("nftables")[1];
        JsonElement body = item.TryGetProperty("map", out JsonElement m) ? m : item.GetProperty("set");
        return body.TryGetProperty("elem", out JsonElement elem) ? [.. elem.EnumerateArray().Select(e => e.GetRawText())] : [];
    }

    [Test]
    public async Task Applying_loads_the_maps_the_kernel_then_lists_and_both_checks_pass()
    {
        ServiceTable table = Table();

        ServiceApplyResult result = await table.ApplyAsync(Input((Web, [A1, A2, A3]), (Resolver, [A4])), CancellationToken.None);

        Assert.That(result.FullLoad, Is.True);
        Assert.That(result.Transactions, Is.EqualTo(1));
        Assert.That(Listed("service-ips"), Has.Length.EqualTo(2));
        Assert.That(Listed("service-ips"), Has.One.Contains("\"198.19.0.23\"").And.Contains("\"lb-3\""));
        Assert.That(Listed("backends"), Has.Length.EqualTo(4));
        Assert.That(Listed("backends"), Has.One.Contains("\"198.19.0.10\"").And.Contains("\"198.18.4.5\""));
        Assert.That(Listed("cluster-ips"), Is.EquivalentTo(new[] { "\"198.19.0.23\"", "\"198.19.0.10\"" }));
        Assert.That(await table.IsIntactAsync(CancellationToken.None), Is.True);
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);
    }

    [Test]
    public async Task The_cluster_DNS_redirect_is_in_the_kernel_and_the_complete_check_counts_it()
    {
        ServiceTable table = Table();
        var dns = new ClusterDnsRedirect(IPAddress.Parse("198.19.0.10"), IPAddress.Parse("198.18.1.0"));

        await table.ApplyAsync(Input((Web, [A1])) with { ClusterDns = dns }, CancellationToken.None);

        string[] listed = Listed("cluster-dns");
        Assert.That(listed, Has.Length.EqualTo(2));
        Assert.That(listed, Has.One.Contains("\"udp\"").And.Contains("\"198.19.0.10\"").And.Contains("\"198.18.1.0\""));
        Assert.That(listed, Has.One.Contains("\"tcp\"").And.Contains("\"198.19.0.10\"").And.Contains("\"198.18.1.0\""));
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);

        _ns.ExecChecked("nft", "flush", "map", "ip", ServiceRuleset.Table, "cluster-dns");
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.False, "a lost redirect is drift");
    }

    [Test]
    public async Task A_one_service_change_is_one_small_transaction_the_kernel_shows()
    {
        ServiceTable table = Table();
        await table.ApplyAsync(Input((Web, [A1, A2, A3]), (Resolver, [A4])), CancellationToken.None);

        ServiceApplyResult result = await table.ApplyAsync(Input((Web, [A1, A3]), (Resolver, [A4])), CancellationToken.None);

        Assert.That(result.FullLoad, Is.False);
        Assert.That(result.Transactions, Is.EqualTo(1));
        Assert.That(result.StaleBackends, Is.EqualTo(new[] { A2 }));
        Assert.That(Listed("service-ips"), Has.One.Contains("\"198.19.0.23\"").And.Contains("\"lb-2\""));
        Assert.That(Listed("backends"), Has.Length.EqualTo(3));
        Assert.That(_ns.ExecChecked("nft", "list", "chain", "ip", ServiceRuleset.Table, "lb-2").StdOut, Does.Contain("numgen random mod 2"));
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);

        ServiceApplyResult same = await table.ApplyAsync(Input((Web, [A1, A3]), (Resolver, [A4])), CancellationToken.None);
        Assert.That(same.Transactions, Is.Zero);
    }

    [TestCase("flush", "table")]
    [TestCase("delete", "table")]
    public async Task A_flushed_or_deleted_table_fails_the_canary_and_a_full_apply_repairs_it(string verb, string what)
    {
        ServiceTable table = Table();
        ServiceRulesInput input = Input((Web, [A1, A2]));
        await table.ApplyAsync(input, CancellationToken.None);

        _ns.ExecChecked("nft", verb, what, "ip", ServiceRuleset.Table);

        Assert.That(await table.IsIntactAsync(CancellationToken.None), Is.False);
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.False);
        table.Invalidate();
        ServiceApplyResult repaired = await table.ApplyAsync(input, CancellationToken.None);
        Assert.That(repaired.FullLoad, Is.True);
        Assert.That(await table.IsIntactAsync(CancellationToken.None), Is.True);
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);
    }

    [Test]
    public async Task A_missing_element_fails_only_the_full_check()
    {
        ServiceTable table = Table();
        await table.ApplyAsync(Input((Web, [A1, A2])), CancellationToken.None);

        _ns.ExecChecked("nft", "delete", "element", "ip", ServiceRuleset.Table, "backends", "{ 198.19.0.23 . tcp . 80 . 1 }");

        Assert.That(await table.IsIntactAsync(CancellationToken.None), Is.True, "the canary is cheap and blind to single elements");
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.False);
    }

    [Test]
    public async Task A_delta_the_kernel_refuses_changes_nothing_and_the_next_apply_loads_everything()
    {
        ServiceTable table = Table();
        await table.ApplyAsync(Input((Web, [A1, A2])), CancellationToken.None);
        _ns.ExecChecked("nft", "delete", "element", "ip", ServiceRuleset.Table, "backends", "{ 198.19.0.23 . tcp . 80 . 1 }");

        Assert.That(async () => await table.ApplyAsync(Input((Web, [A1])), CancellationToken.None), Throws.TypeOf<NftException>().With.Message.Contains("No such file or directory"));
        Assert.That(table.Applied, Is.Null);
        Assert.That(Listed("service-ips"), Has.One.Contains("\"lb-2\""), "the refused transaction left the table as it was");

        ServiceApplyResult result = await table.ApplyAsync(Input((Web, [A1])), CancellationToken.None);
        Assert.That(result.FullLoad, Is.True);
        Assert.That(result.StaleBackends, Is.EqualTo(new[] { A2 }), "the failed apply does not lose the endpoint that went away");
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);
    }

    [Test]
    public async Task A_load_over_the_budget_commits_in_several_transactions_and_ends_complete()
    {
        var frontends = Enumerable.Range(0, 600)
            .Select(i => (new Frontend(IPAddress.Parse($"198.19.{i / 200}.{i % 200}"), ServiceProtocol.Tcp, 80 + (i % 3)),
                          Enumerable.Range(0, 1 + (i % 3)).Select(j => B($"198.18.{j}.{i % 250}", 8000 + i)).ToArray()))
            .ToArray();
        ServiceTable table = Table(budget: 500);

        ServiceApplyResult result = await table.ApplyAsync(Input(frontends), CancellationToken.None);

        Assert.That(result.Transactions, Is.GreaterThan(3));
        Assert.That(Listed("service-ips"), Has.Length.EqualTo(600));
        Assert.That(Listed("backends"), Has.Length.EqualTo(1200));
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);
    }

    [Test]
    public async Task Removing_takes_the_table_away_and_is_harmless_when_there_is_none()
    {
        ServiceTable table = Table();
        await table.ApplyAsync(Input((Web, [A1])), CancellationToken.None);

        await table.RemoveAsync(CancellationToken.None);
        await table.RemoveAsync(CancellationToken.None);

        Assert.That(_ns.ExecChecked("nft", "list", "tables").StdOut, Does.Not.Contain(ServiceRuleset.Table));
        Assert.That(await table.IsIntactAsync(CancellationToken.None), Is.False);
    }

    [Test]
    public async Task The_ip6_table_loads_IPv6_services()
    {
        var frontend = new Frontend(IPAddress.Parse("2001:db8:ff::17"), ServiceProtocol.Udp, 53);
        var input = new ServiceRulesInput(IPNetwork.Parse("2001:db8:ff::/112"), [IPNetwork.Parse("2001:db8:100::/48")],
            new Dictionary<Frontend, IReadOnlyList<Backend>> { [frontend] = [B("2001:db8:100:1::5", 53), B("2001:db8:100:2::5", 53)] },
            [frontend.ClusterIP]);
        ServiceTable table = Table(AddressFamily.InterNetworkV6);

        await table.ApplyAsync(input, CancellationToken.None);

        Assert.That(Listed("backends", "ip6"), Has.Length.EqualTo(2));
        Assert.That(Listed("backends", "ip6"), Has.One.Contains("\"2001:db8:100:2::5\""));
        Assert.That(await table.IsIntactAsync(CancellationToken.None), Is.True);
        Assert.That(await table.IsCompleteAsync(CancellationToken.None), Is.True);
    }

    [Test]
    public void A_table_refuses_a_service_network_of_the_other_family()
    {
        ServiceTable table = Table(AddressFamily.InterNetworkV6);

        Assert.That(async () => await table.ApplyAsync(Input((Web, [A1])), CancellationToken.None), Throws.ArgumentException.With.Message.Contains("198.19.0.0/16"));
    }

    [Test]
    public void Nft_accepts_kube_proxys_shape_for_the_same_input_and_a_one_service_addition_to_it()
    {
        ServiceRulesInput input = Input((Web, [A1, A2, A3]), (Resolver, [A4]), (Web with { Port = 81 }, []));

        _ns.ExecChecked("nft", "-c", "-f", WriteScript(KubeProxyShape.Render(input)));
        _ns.ExecChecked("nft", "-f", WriteScript(KubeProxyShape.Render(input)));
        var extra = new Frontend(IPAddress.Parse("198.19.0.99"), ServiceProtocol.Tcp, 80);
        _ns.ExecChecked("nft", "-f", WriteScript(KubeProxyShape.RenderAddition(AddressFamily.InterNetwork, [PodNetwork], extra, [A1, A2])));

        string listed = _ns.ExecChecked("nft", "list", "table", "ip", KubeProxyShape.Table).StdOut;
        Assert.That(listed, Does.Contain("numgen random mod 3 vmap { 0 : goto endpoint-198.19.0.23/tcp/p80__198.18.1.5/8080"));
        Assert.That(listed, Does.Contain("198.19.0.99 . tcp . 80 : goto service-198.19.0.99/tcp/p80"));
        Assert.That(listed, Does.Contain("dnat to 198.18.4.5:8080"));
    }

    private string WriteScript(string script)
    {
        string file = Path.Combine(Path.GetTempPath(), $"overlay-services-{Environment.ProcessId}-{Guid.NewGuid():N}.nft");
        File.WriteAllText(file, script);
        _files.Add(file);
        return file;
    }

    private readonly List<string> _files = [];

    [TearDown]
    public void RemoveScripts()
    {
        foreach (string file in _files)
        {
            File.Delete(file);
        }

        _files.Clear();
    }
}
