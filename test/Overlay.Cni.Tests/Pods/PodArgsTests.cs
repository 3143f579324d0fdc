using System.Text.Json;
using Overlay.Cni.Pods;
using Overlay.Cni.Protocol;

namespace Overlay.Cni.Tests.Pods;

public class PodArgsTests
{
    private static JsonElement Args(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    [Test]
    public void The_pod_is_named_by_K8S_POD_NAMESPACE_and_K8S_POD_NAME_among_the_runtimes_other_args()
    {
        PodIdentity? pod = PodIdentity.FromCniArgs("IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=abc123");

        Assert.That(pod, Is.EqualTo(new PodIdentity("shop", "web-1")));
        Assert.That(pod!.FileName, Is.EqualTo("shop_web-1.json"));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("IgnoreUnknown=1")]
    [TestCase("K8S_POD_NAME=web-1")]
    [TestCase("K8S_POD_NAMESPACE=shop;K8S_POD_NAME=")]
    public void Without_both_names_it_is_no_Kubernetes_pod(string? args) =>
        Assert.That(PodIdentity.FromCniArgs(args), Is.Null);

    [TestCase("K8S_POD_NAMESPACE=../etc;K8S_POD_NAME=web-1", "namespace '../etc'")]
    [TestCase("K8S_POD_NAMESPACE=shop;K8S_POD_NAME=a_b", "pod name 'a_b'")]
    public void A_name_that_cannot_name_a_file_is_a_CNI_error_naming_it(string args, string named)
    {
        var error = Assert.Throws<CniException>(() => PodIdentity.FromCniArgs(args))!;

        Assert.That(error.Code, Is.EqualTo(CniErrorCode.InvalidEnvironment));
        Assert.That(error.Message, Does.Contain(named));
    }

    [Test]
    public void Labels_come_from_args_cni_labels()
    {
        var labels = PodLabelArgs.Read(Args("""{"cni":{"labels":[{"key":"app","value":"web"},{"key":"tier","value":""}]},"other":1}"""));

        Assert.That(labels, Is.EquivalentTo(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "" }));
    }

    [Test]
    public void No_args_or_no_labels_is_no_labels()
    {
        Assert.That(PodLabelArgs.Read(null), Is.Empty);
        Assert.That(PodLabelArgs.Read(Args("""{"cni":{"ips":["198.18.34.5"]}}""")), Is.Empty);
    }

    [TestCase("""{"cni":{"labels":{"app":"web"}}}""", "must be an array")]
    [TestCase("""{"cni":{"labels":[{"key":"app"}]}}""", "args.cni.labels[0] must be")]
    [TestCase("""{"cni":{"labels":[{"key":"app","value":"web"},{"key":"bad key","value":"x"}]}}""", "args.cni.labels[1]: label key 'bad key' is invalid")]
    [TestCase("""{"cni":{"labels":[{"key":"app","value":"we b"}]}}""", "args.cni.labels[0]: label value 'we b' is invalid")]
    public void A_bad_label_is_a_CNI_error_naming_it(string args, string expected)
    {
        var error = Assert.Throws<CniException>(() => PodLabelArgs.Read(Args(args)))!;

        Assert.That(error.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(error.Message, Does.Contain(expected));
    }
}
