using System.Net;
using Overlay.Core.Dns;
using static Overlay.Core.Tests.Dns.DnsWireForTests;

namespace Overlay.Core.Tests.Dns;

public class DnsResponseWriterTests
{
    private static readonly ZoneAnswer WebAnswer = new(DnsResponseCode.NoError, true,
        [new DnsRecord("web.default.svc.cluster.local", 5, new AddressData(IPAddress.Parse("198.51.100.10")))], [], []);

    [Test]
    public void A_hand_made_query_whose_question_is_not_a_plain_name_is_answered_without_pointing_into_it()
    {
        // The "question" is a pointer and padding: the writer echoes it but must not compress against it.
        byte[] packet = Hex("1234 0100 0001 0000 0000 0000 c00c 00 0001 0001");
        var query = new DnsQuery { Id = 0x1234, Name = "web.default.svc.cluster.local", Type = DnsType.A, Class = 1, QuestionLength = 7 };
        byte[] response = new byte[512];

        int written = DnsResponseWriter.WriteAnswer(packet, query, WebAnswer, response, 512);

        // Header, the 7 echoed bytes, then the owner written whole (31), 10 fixed and 4 of address.
        Assert.That(written, Is.EqualTo(12 + 7 + 31 + 10 + 4));
        Assert.That(response.AsSpan(19, 31).ToArray(), Is.EqualTo(Name("web.default.svc.cluster.local")));
    }

    [Test]
    public void A_hand_made_query_longer_than_its_packet_writes_nothing()
    {
        byte[] packet = Query("web.default.svc.cluster.local", DnsType.A);
        var query = new DnsQuery { Id = 1, Name = "", QuestionLength = packet.Length };

        Assert.That(DnsResponseWriter.WriteAnswer(packet, query, WebAnswer, new byte[512], 512), Is.Zero);
    }

    [Test]
    public void A_later_name_points_to_the_longest_suffix_already_written()
    {
        var answer = new ZoneAnswer(DnsResponseCode.NoError, true,
        [
            new DnsRecord("a.example.test", 5, new NameData(DnsType.CNAME, "b.example.test")),
            new DnsRecord("b.example.test", 5, new NameData(DnsType.CNAME, "c.b.example.test")),
        ], [], []);
        byte[] packet = Query("a.example.test", DnsType.CNAME);
        DnsQueryReader.Read(packet, out DnsQuery query);
        byte[] response = new byte[512];

        int written = DnsResponseWriter.WriteAnswer(packet, query, answer, response, 512);

        // Question: a(12) example(14) test(22), 0, type, class: 32 bytes. First record: owner c00c, 10 fixed, "b" + c00e.
        // Second: owner points to that "b" (at 44), 10 fixed, "c" + pointer to 44.
        Assert.That(Convert.ToHexString(response.AsSpan(12 + 20, written - 32)), Is.EqualTo(Convert.ToHexString(Hex(
            "c00c 0005 0001 00000005 0004 0162 c00e"
            + "c02c 0005 0001 00000005 0004 0163 c02c"))));
        Assert.That(ParseResponse(response.AsSpan(0, written)).Answers.Select(r => r.Data), Is.EqualTo(new[] { "b.example.test", "c.b.example.test" }));
    }

    [Test]
    public void A_record_of_the_root_is_owned_by_the_empty_name()
    {
        var answer = new ZoneAnswer(DnsResponseCode.NoError, true, [new DnsRecord("", 5, new NameData(DnsType.NS, "ns.example.test"))], [], []);
        byte[] packet = Query("", DnsType.NS);
        DnsQueryReader.Read(packet, out DnsQuery query);
        byte[] response = new byte[512];

        int written = DnsResponseWriter.WriteAnswer(packet, query, answer, response, 512);

        ParsedRecord record = ParseResponse(response.AsSpan(0, written)).Answers.Single();
        Assert.That(record.Name, Is.Empty);
        Assert.That(record.Data, Is.EqualTo("ns.example.test"));
    }

    [Test]
    public void Long_txt_strings_over_255_bytes_are_a_server_failure_and_an_empty_list_is_one_empty_string()
    {
        byte[] packet = Query("dns-version.cluster.local", DnsType.TXT);
        DnsQueryReader.Read(packet, out DnsQuery query);
        byte[] response = new byte[512];
        ZoneAnswer Txt(params string[] strings) => new(DnsResponseCode.NoError, true, [new DnsRecord("dns-version.cluster.local", 5, new TxtData(strings))], [], []);

        int tooLong = DnsResponseWriter.WriteAnswer(packet, query, Txt(new string('x', 256)), response, 512);
        int failure = ParseResponse(response.AsSpan(0, tooLong)).Code;
        int empty = DnsResponseWriter.WriteAnswer(packet, query, Txt(), response, 512);

        Assert.That(failure, Is.EqualTo((int)DnsResponseCode.ServerFailure));
        Assert.That(ParseResponse(response.AsSpan(0, empty)).Answers.Single().Data, Is.EqualTo("\"\""));
    }
}
