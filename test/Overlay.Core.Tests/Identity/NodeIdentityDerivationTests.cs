using System.Net;
using Overlay.Core.Identity;

namespace Overlay.Core.Tests.Identity;

public class NodeIdentityDerivationTests
{
    private static readonly IPAddress NodeA = IPAddress.Parse("192.0.2.11");
    private static readonly IPAddress NodeB = IPAddress.Parse("192.0.2.12");

    [Test]
    public void A_given_node_name_is_the_owner_id()
    {
        Assert.That(NodeIdentityDerivation.OwnerId("worker-1", "abc", NodeA), Is.EqualTo("worker-1"));
    }

    [Test]
    public void Nodes_sharing_a_machine_id_get_distinct_owner_ids_from_their_public_IPs()
    {
        string a = NodeIdentityDerivation.OwnerId(null, "0123456789abcdef", NodeA);
        string b = NodeIdentityDerivation.OwnerId(null, "0123456789abcdef", NodeB);

        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(a, Does.Match("^m-[0-9a-f]{16}$"));
        Assert.That(NodeIdentityDerivation.OwnerId("  ", "0123456789abcdef", NodeA), Is.EqualTo(a), "the same inputs give the same id");
    }

    [Test]
    public void The_VTEP_MAC_is_stable_unicast_and_locally_administered()
    {
        byte[] mac = NodeIdentityDerivation.VtepMac("worker-1", 1);

        Assert.That(mac, Has.Length.EqualTo(6));
        Assert.That(mac[0] & 0x01, Is.Zero, "unicast");
        Assert.That(mac[0] & 0x02, Is.EqualTo(2), "locally administered");
        Assert.That(NodeIdentityDerivation.VtepMac("worker-1", 1), Is.EqualTo(mac));
        Assert.That(NodeIdentityDerivation.VtepMac("worker-2", 1), Is.Not.EqualTo(mac));
        Assert.That(NodeIdentityDerivation.VtepMac("worker-1", 2), Is.Not.EqualTo(mac));
        Assert.That(NodeIdentityDerivation.VtepMac("worker-1", 1, ipv6: true), Is.Not.EqualTo(mac));
    }

    [Test]
    public void A_missing_machine_id_file_reads_as_empty()
    {
        Assert.That(NodeIdentityDerivation.ReadMachineId("/nonexistent/machine-id"), Is.Empty);
    }
}
