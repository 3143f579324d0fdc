using Overlay.Core.Services;

namespace Overlay.Core.Tests.Services;

public class PodLabelsTests
{
    [TestCase("app")]
    [TestCase("app.kubernetes.io/name")]
    [TestCase("Tier_2.x")]
    [TestCase("example.com/a")]
    public void Kubernetes_label_keys_are_accepted(string key) =>
        Assert.That(PodLabels.IsValidKey(key, out string reason), Is.True, reason);

    [TestCase("")]
    [TestCase("-app")]
    [TestCase("app-")]
    [TestCase("a b")]
    [TestCase("/app")]
    [TestCase("Example.com/app")]
    [TestCase("example.com/")]
    [TestCase("a/b/c")]
    public void Other_label_keys_are_refused_naming_the_key(string key)
    {
        Assert.That(PodLabels.IsValidKey(key, out string reason), Is.False);
        Assert.That(reason, Does.Contain($"'{key}'"));
    }

    [Test]
    public void A_key_name_of_64_characters_is_too_long() =>
        Assert.That(PodLabels.IsValidKey(new string('a', 64), out _), Is.False);

    [TestCase("")]
    [TestCase("web")]
    [TestCase("v1.2_3-x")]
    public void Label_values_may_be_empty_or_qualified_names(string value) =>
        Assert.That(PodLabels.IsValidValue(value, out string reason), Is.True, reason);

    [TestCase("web site")]
    [TestCase("-web")]
    [TestCase("a=b")]
    public void Other_label_values_are_refused_naming_the_value(string value)
    {
        Assert.That(PodLabels.IsValidValue(value, out string reason), Is.False);
        Assert.That(reason, Does.Contain($"'{value}'"));
    }

    [TestCase("default", true)]
    [TestCase("kube-system", true)]
    [TestCase("a.b", false)]
    [TestCase("a_b", false)]
    [TestCase("Shop", false)]
    public void A_namespace_is_a_DNS_label(string value, bool valid) =>
        Assert.That(PodLabels.IsValidNamespace(value, out _), Is.EqualTo(valid));

    [TestCase("web-1", true)]
    [TestCase("web.1", true)]
    [TestCase("web_1", false)]
    [TestCase("web/1", false)]
    [TestCase("..", false)]
    public void A_pod_name_is_a_DNS_subdomain(string value, bool valid) =>
        Assert.That(PodLabels.IsValidPodName(value, out _), Is.EqualTo(valid));
}
