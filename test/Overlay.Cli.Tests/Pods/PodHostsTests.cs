using System.Net;
using Overlay.Cli.Pods;

namespace Overlay.Cli.Tests.Pods;

public sealed class PodHostsTests
{
    [Test]
    public void The_hosts_file_holds_localhost_the_pod_and_its_aliases_in_order()
    {
        HostAlias[] aliases = [HostAlias.Parse("198.51.100.7=db,db.example"), HostAlias.Parse("2001:db8::7=v6.example")];

        string text = PodHosts.Render("web-1", [IPAddress.Parse("198.18.34.2")], aliases);

        Assert.That(text, Is.EqualTo(
            "# Kubernetes-managed hosts file.\n"
            + "127.0.0.1\tlocalhost\n"
            + "::1\tlocalhost ip6-localhost ip6-loopback\n"
            + "fe00::0\tip6-localnet\n"
            + "fe00::0\tip6-mcastprefix\n"
            + "fe00::1\tip6-allnodes\n"
            + "fe00::2\tip6-allrouters\n"
            + "198.18.34.2\tweb-1\n"
            + "\n"
            + "# Entries added by HostAliases.\n"
            + "198.51.100.7\tdb\tdb.example\n"
            + "2001:db8::7\tv6.example\n"));
    }

    [Test]
    public void Without_aliases_there_is_no_alias_section()
    {
        string text = PodHosts.Render("web-1", [IPAddress.Parse("198.18.34.2")], []);

        Assert.That(text, Does.EndWith("fe00::2\tip6-allrouters\n198.18.34.2\tweb-1\n"));
        Assert.That(text, Does.Not.Contain("HostAliases"));
    }

    [Test]
    public void A_dual_stack_pod_has_a_line_for_each_address_in_the_CNI_results_order()
    {
        CniAddress address = CniInvocation.ParseResult(
            """{"cniVersion":"1.0.0","ips":[{"address":"198.18.34.2/24","gateway":"198.18.34.1"},{"address":"2001:db8:34::2/64","gateway":"2001:db8:34::1"}]}""");

        string text = PodHosts.Render("web-1", address.Ips, []);

        Assert.That(text, Does.EndWith("fe00::2\tip6-allrouters\n198.18.34.2\tweb-1\n2001:db8:34::2\tweb-1\n"));
    }

    [TestCase("db=198.51.100.7", "--host-alias 'db=198.51.100.7': 'db' is not an IP address; a host alias maps an IP to names (IP=NAME[,NAME...])")]
    [TestCase("198.51.100.7", "--host-alias '198.51.100.7' is not IP=NAME[,NAME...] (e.g. 198.51.100.7=db,db.example)")]
    [TestCase("198.51.100.7=db,", "--host-alias '198.51.100.7=db,': '' is not a host name; use lower-case letters, digits, '-' and '.'")]
    [TestCase("198.51.100.7=DB", "--host-alias '198.51.100.7=DB': 'DB' is not a host name; use lower-case letters, digits, '-' and '.'")]
    public void A_bad_alias_is_refused_naming_the_rule(string text, string message)
    {
        var error = Assert.Throws<InvalidPodSpecException>(() => HostAlias.Parse(text));

        Assert.That(error!.Message, Is.EqualTo(message));
    }

    [Test]
    public void Nsswitch_consults_the_hosts_file_before_DNS()
    {
        Assert.That(PodNsswitch.Text.Split('\n'), Does.Contain("hosts:          files dns"));
    }

    [TestCase("web-1")]
    [TestCase("a")]
    public void A_DNS_label_is_a_pod_name(string name)
    {
        Assert.DoesNotThrow(() => PodName.Check(name));
    }

    [TestCase("Web")]
    [TestCase("web.1")]
    [TestCase("a/b")]
    [TestCase("-web")]
    [TestCase("")]
    public void Anything_else_is_not_a_pod_name(string name)
    {
        var error = Assert.Throws<InvalidPodSpecException>(() => PodName.Check(name));

        Assert.That(error!.Message, Does.StartWith($"pod name '{name}' is not a DNS label"));
    }

    [Test]
    public void A_64_character_pod_name_is_too_long()
    {
        Assert.Throws<InvalidPodSpecException>(() => PodName.Check(new string('a', 64)));
        Assert.DoesNotThrow(() => PodName.Check(new string('a', 63)));
    }
}
