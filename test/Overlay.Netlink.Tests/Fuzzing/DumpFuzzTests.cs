using Overlay.TestKit;

namespace Overlay.Netlink.Tests.Fuzzing;

/// <summary>Whole multi-part dumps with their terminator, mutated: decoded or refused with a parse error.</summary>
public class DumpFuzzTests
{
    [Test]
    public void Well_formed_dumps_decode_whole()
    {
        var random = new Random(1408);
        for (int i = 0; i < 200; i++)
        {
            byte[] dump = NetlinkFuzzTarget.Dump(random);
            Assert.That(NetlinkFuzzTarget.Check(dump), Is.EqualTo(FuzzVerdict.Accepted), Convert.ToHexString(dump));
        }
    }

    [Test]
    public void Mutated_dumps_decode_or_raise_only_parse_errors()
    {
        FuzzReport report = FuzzCampaign.Run(NetlinkFuzzTarget.Datagrams, seed: 1409, iterations: 25_000);
        TestContext.Out.WriteLine(report);

        Assert.That(report.Findings, Is.Empty, report.ToString());
        Assert.That(report.Accepted, Is.GreaterThan(1_000));
        Assert.That(report.Rejected, Is.GreaterThan(1_000));
    }
}
