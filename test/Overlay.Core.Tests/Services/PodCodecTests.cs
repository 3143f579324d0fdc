using System.Net;
using Overlay.Core.Services;

namespace Overlay.Core.Tests.Services;

public class PodCodecTests
{
    private static readonly PodRecord Web1 = new()
    {
        Namespace = "default",
        Name = "web-1",
        Node = "198.18.34.0-24",
        Addresses = [IPAddress.Parse("198.18.34.5")],
        Labels = new Dictionary<string, string> { ["tier"] = "front", ["app"] = "web" },
    };

    [Test]
    public void A_pod_is_written_in_the_shared_shape_with_its_labels_in_key_order()
    {
        Assert.That(PodCodec.Serialize(Web1), Is.EqualTo(
            """{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"],"labels":{"app":"web","tier":"front"}}"""));
    }

    [Test]
    public void What_is_written_reads_back_as_the_same_pod()
    {
        var dual = Web1 with { Node = "198.18.34.0-24&2001:db8:0:22::-64", Addresses = [IPAddress.Parse("198.18.34.5"), IPAddress.Parse("2001:db8:0:22::5")] };

        Assert.That(PodCodec.TryParse(PodCodec.Serialize(dual), out PodRecord? read, out string reason), Is.True, reason);
        Assert.That(read!.Namespace, Is.EqualTo("default"));
        Assert.That(read.Name, Is.EqualTo("web-1"));
        Assert.That(read.Node, Is.EqualTo(dual.Node));
        Assert.That(read.Addresses, Is.EqualTo(dual.Addresses));
        Assert.That(read.Labels, Is.EquivalentTo(Web1.Labels));
    }

    [Test]
    public void Unknown_members_are_ignored_and_labels_may_be_missing()
    {
        Assert.That(PodCodec.TryParse("""{"namespace":"shop","name":"db","node":"198.18.1.0-24","ips":["198.18.1.7"],"containerID":"abc"}""", out PodRecord? pod, out string reason), Is.True, reason);
        Assert.That(pod!.Labels, Is.Empty);
    }

    [TestCase("", "not a pod")]
    [TestCase("null", "not a pod: it is null")]
    [TestCase("[1]", "not a pod")]
    [TestCase("""{"name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"]}""", "namespace '' is not a DNS label")]
    [TestCase("""{"namespace":"Shop","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"]}""", "namespace 'Shop' is not a DNS label")]
    [TestCase("""{"namespace":"default","name":"a/b","node":"198.18.34.0-24","ips":["198.18.34.5"]}""", "pod name 'a/b' is not a DNS subdomain")]
    [TestCase("""{"namespace":"default","name":"web_1","node":"198.18.34.0-24","ips":["198.18.34.5"]}""", "pod name 'web_1' is not a DNS subdomain")]
    [TestCase("""{"namespace":"default","name":"web-1","node":"node1","ips":["198.18.34.5"]}""", "node 'node1' is not a subnet key")]
    [TestCase("""{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":[]}""", "it has no address")]
    [TestCase("""{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.300"]}""", "'198.18.34.300' in \"ips\" is not an IP address")]
    [TestCase("""{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":[5]}""", "not a pod")]
    [TestCase("""{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"],"labels":{"app":1}}""", "not a pod")]
    [TestCase("""{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"],"labels":{"-app":"web"}}""", "label key '-app' is invalid")]
    [TestCase("""{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"],"labels":{"app":"web site"}}""", "label value 'web site' is invalid")]
    public void A_bad_value_is_refused_with_the_reason_and_never_throws(string json, string expected)
    {
        bool parsed = PodCodec.TryParse(json, out PodRecord? pod, out string reason);

        Assert.That(parsed, Is.False);
        Assert.That(pod, Is.Null);
        Assert.That(reason, Does.StartWith(expected));
    }
}
