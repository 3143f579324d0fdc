using Overlay.Cli.Pods;

namespace Overlay.Cli.Tests.Pods;

public sealed class ResolvConfTests
{
    [Test]
    public void Comments_blank_lines_and_unknown_keywords_are_skipped()
    {
        ResolvConf resolv = ResolvConf.Parse("# a comment\n; another\n\n  nameserver   192.0.2.53  \ndomain corp.example\nsortlist 192.0.2.0/24\n");

        Assert.That(resolv, Is.EqualTo(new ResolvConf(["192.0.2.53"], [], [])).Using<ResolvConf>(Same));
    }

    [Test]
    public void The_last_search_line_wins_and_trailing_dots_go()
    {
        ResolvConf resolv = ResolvConf.Parse("search old.example\nsearch a.example. b.example .\n");

        Assert.That(resolv.Searches, Is.EqualTo(new[] { "a.example", "b.example" }));
    }

    [Test]
    public void Options_lines_add_up_and_a_later_value_replaces_an_earlier_one()
    {
        ResolvConf resolv = ResolvConf.Parse("options ndots:1 rotate\noptions ndots:2 edns0\n");

        Assert.That(resolv.Options, Is.EqualTo(new[] { "rotate", "ndots:2", "edns0" }));
    }

    [Test]
    public void A_nameserver_line_without_an_address_is_an_error_naming_the_line()
    {
        var error = Assert.Throws<FormatException>(() => ResolvConf.Parse("# node\nnameserver 192.0.2.53\nnameserver\n"));

        Assert.That(error!.Message, Is.EqualTo("line 3: 'nameserver' without an address"));
    }

    [Test]
    public void A_hash_after_the_fields_is_not_a_comment_to_the_kubelet()
    {
        ResolvConf resolv = ResolvConf.Parse("nameserver 192.0.2.53 # the router\nsearch corp.example # the office\n");

        Assert.That(resolv.Nameservers, Is.EqualTo(new[] { "192.0.2.53" }));
        Assert.That(resolv.Searches, Is.EqualTo(new[] { "corp.example", "#", "the", "office" }));
    }

    [Test]
    public void An_empty_resolv_conf_renders_as_nothing()
    {
        Assert.That(ResolvConf.Parse("").Render(), Is.Empty);
    }

    [TestCase("ndots:2", "ndots", "2")]
    [TestCase("edns0", "edns0", null)]
    [TestCase("edns0:", "edns0", null)]
    public void An_option_is_a_name_and_an_optional_value(string text, string name, string? value)
    {
        Assert.That(DnsOption.Parse(text), Is.EqualTo(new DnsOption(name, value)));
    }

    [TestCase(":2", "DNS option ':2' has no name; an option is NAME or NAME:VALUE (e.g. ndots:2, edns0)")]
    [TestCase("", "DNS option '' has no name; an option is NAME or NAME:VALUE (e.g. ndots:2, edns0)")]
    [TestCase("nd ots", "DNS option 'nd ots' contains white space; an option is NAME or NAME:VALUE (e.g. ndots:2, edns0)")]
    public void An_option_without_a_name_is_refused(string text, string message)
    {
        var error = Assert.Throws<InvalidPodSpecException>(() => DnsOption.Parse(text));

        Assert.That(error!.Message, Is.EqualTo(message));
    }

    private static bool Same(ResolvConf a, ResolvConf b) =>
        a.Nameservers.SequenceEqual(b.Nameservers) && a.Searches.SequenceEqual(b.Searches) && a.Options.SequenceEqual(b.Options);
}
