using System.Text.Json;
using Overlay.Cni.Protocol;

namespace Overlay.Cni.Tests.Protocol;

public class CniErrorTests
{
    [Test]
    public void An_error_is_rendered_with_version_code_message_and_details()
    {
        using var json = JsonDocument.Parse(CniError.ToJson("0.4.0", CniErrorCode.InvalidSubnetFile, "subnet file /x has no FLANNEL_MTU", "more"));
        JsonElement root = json.RootElement;

        Assert.That(root.GetProperty("cniVersion").GetString(), Is.EqualTo("0.4.0"));
        Assert.That(root.GetProperty("code").GetInt32(), Is.EqualTo(100));
        Assert.That(root.GetProperty("msg").GetString(), Is.EqualTo("subnet file /x has no FLANNEL_MTU"));
        Assert.That(root.GetProperty("details").GetString(), Is.EqualTo("more"));
    }

    [Test]
    public void An_error_without_details_has_no_details_member()
    {
        using var json = JsonDocument.Parse(CniError.ToJson("1.0.0", CniErrorCode.TryAgainLater, "later"));

        Assert.That(json.RootElement.TryGetProperty("details", out _), Is.False);
        Assert.That(json.RootElement.GetProperty("code").GetInt32(), Is.EqualTo(11));
    }

    [Test]
    public void The_spec_codes_have_the_spec_numbers()
    {
        Assert.That(
            new[] { CniErrorCode.IncompatibleVersion, CniErrorCode.UnsupportedField, CniErrorCode.UnknownContainer, CniErrorCode.InvalidEnvironment,
                CniErrorCode.IOFailure, CniErrorCode.DecodeFailure, CniErrorCode.InvalidNetworkConfig, CniErrorCode.TryAgainLater }.Select(c => (int)c),
            Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6, 7, 11 }));
    }

    [Test]
    public void VERSION_answers_with_the_supported_spec_versions()
    {
        Assert.That(CniVersions.VersionInfoJson(),
            Is.EqualTo("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}"));
    }

    [TestCase("0.3.1", false)]
    [TestCase("0.4.0", true)]
    [TestCase("1.0.0", true)]
    public void CHECK_exists_from_0_4_0_on(string version, bool supported)
    {
        Assert.That(CniVersions.SupportsCheck(version), Is.EqualTo(supported));
    }
}
