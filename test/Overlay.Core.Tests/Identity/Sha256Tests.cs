using System.Text;
using Overlay.Core.Identity;

namespace Overlay.Core.Tests.Identity;

public class Sha256Tests
{
    [Test]
    public void The_hash_of_abc_is_the_FIPS_180_example()
    {
        Assert.That(Convert.ToHexStringLower(Sha256.HashData("abc"u8)),
            Is.EqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    }

    [Test]
    public void The_hash_of_nothing_is_the_known_empty_digest()
    {
        Assert.That(Convert.ToHexStringLower(Sha256.HashData([])),
            Is.EqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    [Test]
    public void Every_length_up_to_three_blocks_hashes_as_the_platform_does()
    {
        // Every padding case: tails that leave room for the length and tails that need a second block.
        var random = new Random(20261125);
        for (int length = 0; length <= 200; length++)
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            Assert.That(Sha256.HashData(data), Is.EqualTo(System.Security.Cryptography.SHA256.HashData(data)), $"length {length}");
        }
    }

    [Test]
    public void A_megabyte_hashes_as_the_platform_does()
    {
        byte[] data = new byte[1 << 20];
        new Random(7).NextBytes(data);
        Assert.That(Sha256.HashData(data), Is.EqualTo(System.Security.Cryptography.SHA256.HashData(data)));
    }

    [Test]
    public void Owner_ids_are_the_ones_derived_before_the_managed_hash()
    {
        // A node must recognise its lease after an upgrade: the id for a given machine and IP never changes.
        string expected = "m-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes("overlay-owner\n0123456789abcdef0123456789abcdef\n192.0.2.11")).AsSpan(0, 8));
        Assert.That(NodeIdentityDerivation.OwnerId(null, "0123456789abcdef0123456789abcdef\n", System.Net.IPAddress.Parse("192.0.2.11")), Is.EqualTo(expected));
    }
}
