using System.Net;
using Overlay.Core.Leases;
using Overlay.Core.SubnetFile;

namespace Overlay.Core.Tests.SubnetFile;

public class SubnetEnvTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("overlay-subnetenv-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void An_IPv4_file_has_flannels_exact_bytes()
    {
        var env = new SubnetEnv(IPNetwork.Parse("198.18.0.0/16"), SubnetKey.Parse("198.18.34.0-24"), null, 1450, false);

        Assert.That(env.Render(), Is.EqualTo(
            "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n"));
    }

    [Test]
    public void A_dual_stack_file_puts_the_IPv6_lines_after_the_IPv4_ones()
    {
        var env = new SubnetEnv(IPNetwork.Parse("198.18.0.0/16"), SubnetKey.Parse("198.18.34.0-24&2001:db8:0:22::-64"),
            IPNetwork.Parse("2001:db8::/56"), 1430, true);

        Assert.That(env.Render(), Is.EqualTo(
            "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_IPV6_NETWORK=2001:db8::/56\nFLANNEL_IPV6_SUBNET=2001:db8:0:22::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n"));
    }

    [Test]
    public void The_file_is_written_with_mode_0644_in_a_new_0755_folder_and_no_temp_file_is_left()
    {
        string path = Path.Combine(_folder, "run", "flannel", "subnet.env");

        AtomicFile.Write(path, "FLANNEL_MTU=1450\n");

        Assert.That(File.ReadAllText(path), Is.EqualTo("FLANNEL_MTU=1450\n"));
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead));
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(path)!), Is.EqualTo((UnixFileMode)Convert.ToInt32("755", 8)));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void Writing_replaces_the_file_rather_than_rewriting_it_in_place()
    {
        string path = Path.Combine(_folder, "subnet.env");
        AtomicFile.Write(path, "old\n");
        using FileStream reader = File.OpenRead(path); // a reader holding the old file keeps seeing it whole

        AtomicFile.Write(path, "new content\n");

        using var oldContent = new StreamReader(reader);
        Assert.That(oldContent.ReadToEnd(), Is.EqualTo("old\n"));
        Assert.That(File.ReadAllText(path), Is.EqualTo("new content\n"));
    }

    [Test]
    public void The_file_is_rewritten_only_when_its_content_changes()
    {
        string path = Path.Combine(_folder, "subnet.env");

        Assert.That(AtomicFile.WriteIfChanged(path, "A=1\n"), Is.True);
        Assert.That(AtomicFile.WriteIfChanged(path, "A=1\n"), Is.False);
        Assert.That(AtomicFile.WriteIfChanged(path, "A=2\n"), Is.True);
        Assert.That(File.ReadAllText(path), Is.EqualTo("A=2\n"));
    }

    [Test]
    public void The_reader_tolerates_comments_quotes_export_and_blank_lines()
    {
        IReadOnlyDictionary<string, string> values = SubnetEnvReader.Parse(
            "# written by hand\n\nexport FLANNEL_NETWORK=\"198.18.0.0/16\"\r\n  FLANNEL_SUBNET = '198.18.34.1/24'  \nFLANNEL_MTU=1450\nnot a line\n");

        Assert.That(values["FLANNEL_NETWORK"], Is.EqualTo("198.18.0.0/16"));
        Assert.That(values["FLANNEL_SUBNET"], Is.EqualTo("198.18.34.1/24"));
        Assert.That(values["FLANNEL_MTU"], Is.EqualTo("1450"));
        Assert.That(values, Has.Count.EqualTo(3));
    }

    [Test]
    public void The_previous_subnet_is_the_lease_network_of_FLANNEL_SUBNET()
    {
        var env = new SubnetEnv(IPNetwork.Parse("198.18.0.0/16"), SubnetKey.Parse("198.18.34.0-24&2001:db8:0:22::-64"),
            IPNetwork.Parse("2001:db8::/56"), 1450, false);

        Assert.That(SubnetEnvReader.PreviousSubnet(SubnetEnvReader.Parse(env.Render())), Is.EqualTo(env.Lease));
    }

    [Test]
    public void An_unreadable_previous_subnet_gives_none()
    {
        Assert.That(SubnetEnvReader.PreviousSubnet(SubnetEnvReader.Parse("FLANNEL_SUBNET=banana\n")), Is.Null);
        Assert.That(SubnetEnvReader.PreviousSubnet(SubnetEnvReader.Parse("FLANNEL_MTU=1450\n")), Is.Null);
        Assert.That(SubnetEnvReader.PreviousSubnetFromFile(Path.Combine(_folder, "missing.env")), Is.Null);
    }

    [TestCase("FLANNEL_SUBNET=banana\n", "its FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET is not an IP address/length (FLANNEL_SUBNET=banana)")]
    [TestCase("FLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_IPV6_SUBNET=198.18.34.1/24\n", "its FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET is not an IP address/length (FLANNEL_SUBNET=198.18.34.1/24)")]
    [TestCase("\u0000\u0001\u00ff garbage", "it has no FLANNEL_SUBNET line")]
    [TestCase("", "it has no FLANNEL_SUBNET line")]
    public void A_corrupt_previous_file_gives_none_and_says_why_so_the_daemon_can_warn(string content, string problem)
    {
        string path = Path.Combine(_folder, "subnet.env");
        File.WriteAllText(path, content);

        Assert.That(SubnetEnvReader.PreviousSubnetFromFile(path, out string? said), Is.Null);
        Assert.That(said, Is.EqualTo(problem));
    }

    [Test]
    public void A_missing_previous_file_is_no_problem_and_a_good_one_none_either()
    {
        Assert.That(SubnetEnvReader.PreviousSubnetFromFile(Path.Combine(_folder, "missing.env"), out string? missing), Is.Null);
        Assert.That(missing, Is.Null);
        string path = Path.Combine(_folder, "subnet.env");
        File.WriteAllText(path, "FLANNEL_SUBNET=198.18.34.1/24\n");
        Assert.That(SubnetEnvReader.PreviousSubnetFromFile(path, out string? good), Is.EqualTo(SubnetKey.Parse("198.18.34.0-24")));
        Assert.That(good, Is.Null);
    }
}
