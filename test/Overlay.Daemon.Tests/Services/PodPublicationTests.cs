using System.Net;
using Overlay.Core.Services;
using Overlay.Daemon.Services;

namespace Overlay.Daemon.Tests.Services;

public class PodPublicationTests
{
    private const string Node = "198.18.34.0-24";

    private static PodRecord Pod(string name, string node = Node, string app = "web") => new()
    {
        Namespace = "shop",
        Name = name,
        Node = node,
        Addresses = [IPAddress.Parse("198.18.34.5")],
        Labels = new Dictionary<string, string> { ["app"] = app },
    };

    private static Dictionary<string, PodRecord> Folder(params PodRecord[] pods) => pods.ToDictionary(p => p.FullName);

    private static Dictionary<string, string> Published(params PodRecord[] pods) => pods.ToDictionary(p => p.FullName, PodCodec.Serialize);

    [Test]
    public void New_pods_are_put_and_pods_put_before_unchanged_are_not()
    {
        PodPublicationPlan plan = PodPublication.Plan(Folder(Pod("a"), Pod("b")), Node, Published(Pod("a")));

        Assert.That(plan.Puts.Select(p => p.FullName), Is.EqualTo(new[] { "shop/b" }));
        Assert.That(plan.Deletes, Is.Empty);
    }

    [Test]
    public void A_changed_pod_is_put_again_and_a_removed_one_deleted()
    {
        PodPublicationPlan plan = PodPublication.Plan(Folder(Pod("a", app: "api")), Node, Published(Pod("a"), Pod("gone")));

        Assert.That(plan.Puts.Single().Labels["app"], Is.EqualTo("api"));
        Assert.That(plan.Deletes, Is.EqualTo(new[] { "shop/gone" }));
    }

    [Test]
    public void Every_pod_carries_this_nodes_current_subnet_so_a_moved_lease_puts_them_all_again()
    {
        PodPublicationPlan plan = PodPublication.Plan(Folder(Pod("a"), Pod("b", node: "198.18.9.0-24")), "198.18.40.0-24", Published(Pod("a"), Pod("b")));

        Assert.That(plan.Puts.Select(p => (p.FullName, p.Node)), Is.EqualTo(new[] { ("shop/a", "198.18.40.0-24"), ("shop/b", "198.18.40.0-24") }));
    }

    [Test]
    public void Nothing_to_do_is_an_empty_plan()
    {
        Assert.That(PodPublication.Plan(Folder(Pod("a")), Node, Published(Pod("a"))).IsEmpty, Is.True);
    }
}

public class PodFolderTests
{
    private const string Web = """{"namespace":"shop","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"],"labels":{"app":"web"}}""";

    [Test]
    public void Each_file_named_after_its_pod_is_a_pod()
    {
        PodFolderScan scan = PodFolder.Parse([("/p/shop_web-1.json", Web)]);

        Assert.That(scan.Pods.Keys, Is.EqualTo(new[] { "shop/web-1" }));
        Assert.That(scan.Malformed, Is.Empty);
    }

    [Test]
    public void A_file_that_is_not_a_pod_or_another_pod_than_its_name_says_is_reported_with_the_reason()
    {
        PodFolderScan scan = PodFolder.Parse([("/p/shop_web-2.json", Web), ("/p/shop_bad.json", "{not json"), ("/p/shop_web-1.json", Web)]);

        Assert.That(scan.Pods.Keys, Is.EqualTo(new[] { "shop/web-1" }));
        Assert.That(scan.Malformed.Select(m => m.Path), Is.EqualTo(new[] { "/p/shop_bad.json", "/p/shop_web-2.json" }));
        Assert.That(scan.Malformed[0].Reason, Does.StartWith("not a pod"));
        Assert.That(scan.Malformed[1].Reason, Is.EqualTo("it holds pod shop/web-1, whose file is shop_web-1.json"));
    }

    [TestCase("shop_web-1.json", true)]
    [TestCase(".shop_web-1.json.123.abc.tmp", false)]
    [TestCase(".hidden.json", false)]
    [TestCase("notes.txt", false)]
    public void Temp_files_and_other_names_are_not_looked_at(string name, bool looked) =>
        Assert.That(PodFolder.IsPodFileName(name), Is.EqualTo(looked));

    [Test]
    public void A_missing_folder_holds_no_pod()
    {
        PodFolderScan scan = PodFolder.Read(Path.Combine(Path.GetTempPath(), "ovt-no-such-" + Guid.NewGuid().ToString("N")));

        Assert.That(scan.Pods, Is.Empty);
    }
}
