using Overlay.Cni.Protocol;

namespace Overlay.Cni.Tests.Protocol;

public class CniRequestTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }

    private static readonly (string, string)[] Add =
    [
        ("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "c0ffee"), ("CNI_NETNS", "/run/netns/pod"),
        ("CNI_IFNAME", "eth0"), ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"), ("CNI_ARGS", "K8S_POD_NAME=web"),
    ];

    [Test]
    public void An_ADD_request_carries_every_variable_and_splits_CNI_PATH_on_colons()
    {
        CniRequest request = CniRequest.FromEnvironment(Env(Add));

        Assert.That(request.Command, Is.EqualTo(CniCommand.Add));
        Assert.That(request.ContainerId, Is.EqualTo("c0ffee"));
        Assert.That(request.NetNs, Is.EqualTo("/run/netns/pod"));
        Assert.That(request.IfName, Is.EqualTo("eth0"));
        Assert.That(request.Args, Is.EqualTo("K8S_POD_NAME=web"));
        Assert.That(request.Path, Is.EqualTo(new[] { "/opt/cni/bin", "/usr/lib/cni" }));
    }

    [Test]
    public void VERSION_needs_nothing_but_the_command()
    {
        Assert.That(CniRequest.FromEnvironment(Env(("CNI_COMMAND", "VERSION"))).Command, Is.EqualTo(CniCommand.Version));
    }

    [Test]
    public void DEL_accepts_an_empty_CNI_NETNS_because_the_namespace_may_be_gone()
    {
        var del = Add.Where(v => v.Item1 != "CNI_NETNS").Append(("CNI_NETNS", "")).Select(v => v.Item1 == "CNI_COMMAND" ? (v.Item1, "DEL") : v).ToArray();

        CniRequest request = CniRequest.FromEnvironment(Env(del));

        Assert.That(request.Command, Is.EqualTo(CniCommand.Del));
        Assert.That(request.NetNs, Is.Null);
    }

    [TestCase("CNI_COMMAND")]
    [TestCase("CNI_CONTAINERID")]
    [TestCase("CNI_NETNS")]
    [TestCase("CNI_IFNAME")]
    [TestCase("CNI_PATH")]
    public void A_missing_variable_is_an_invalid_environment_error_naming_it(string missing)
    {
        var error = Assert.Throws<CniException>(() => CniRequest.FromEnvironment(Env(Add.Where(v => v.Item1 != missing).ToArray())));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.InvalidEnvironment));
        Assert.That(error.Message, Does.Contain(missing));
    }

    [Test]
    public void An_unknown_command_is_an_invalid_environment_error()
    {
        var error = Assert.Throws<CniException>(() => CniRequest.FromEnvironment(Env(("CNI_COMMAND", "GC"))));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.InvalidEnvironment));
        Assert.That(error.Message, Does.Contain("GC"));
    }

    [TestCase("../etc")]
    [TestCase("a/b")]
    [TestCase(".hidden")]
    public void A_container_id_that_could_leave_the_data_dir_is_rejected(string id)
    {
        var variables = Add.Select(v => v.Item1 == "CNI_CONTAINERID" ? (v.Item1, id) : v).ToArray();

        var error = Assert.Throws<CniException>(() => CniRequest.FromEnvironment(Env(variables)));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.InvalidEnvironment));
    }
}
