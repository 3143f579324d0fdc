using Overlay.Core.Services;

namespace Overlay.Core.Tests.Services;

public class ServiceEntriesTests
{
    private const string Prefix = "/coreos.com/network";
    private const string Web = """{"namespace":"default","name":"web","clusterIP":"198.19.0.23","ports":[{"port":80}],"selector":{"app":"web"}}""";

    [Test]
    public void A_service_under_its_own_key_is_read()
    {
        bool ok = ServiceEntries.TryParse(Prefix, Prefix + "/services/default/web", Web, out ServiceSpec? spec, out string reason);

        Assert.That(ok, Is.True, reason);
        Assert.That(spec!.FullName, Is.EqualTo("default/web"));
    }

    [TestCase("/coreos.com/network/services/web", "not a service key")]
    [TestCase("/coreos.com/network/services/default/web/x", "not a service key")]
    [TestCase("/coreos.com/network/services/default/db", "the value names service default/web, not default/db")]
    [TestCase("/coreos.com/network/services/shop/web", "the value names service default/web, not shop/web")]
    public void An_entry_under_the_wrong_key_is_refused_with_the_reason(string key, string reason)
    {
        bool ok = ServiceEntries.TryParse(Prefix, key, Web, out ServiceSpec? spec, out string why);

        Assert.That(ok, Is.False);
        Assert.That(spec, Is.Null);
        Assert.That(why, Does.StartWith(reason));
    }

    [Test]
    public void A_bad_value_is_refused_with_the_codecs_reason()
    {
        bool ok = ServiceEntries.TryParse(Prefix, Prefix + "/services/default/web", "{}", out _, out string why);

        Assert.That(ok, Is.False);
        Assert.That(why, Is.EqualTo("bad service value: namespace is missing"));
    }
}
