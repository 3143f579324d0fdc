using Overlay.Core.Dns;
using static Overlay.Core.Tests.Dns.DnsWireForTests;

namespace Overlay.Core.Tests.Dns;

public class DnsPacketTests
{
    private static byte[] ResponseTo(byte[] query)
    {
        byte[] buffer = new byte[4096];
        new ClusterDnsAnswerer(new FakeClusterZone()).Answer(query, buffer, overTcp: false, out int written);
        return buffer[..written];
    }

    [Test]
    public void The_id_is_read_and_replaced_in_place()
    {
        byte[] query = Query("www.example.test", DnsType.A, id: 0x1234);

        DnsPacket.WriteId(query, 0xfeed);

        Assert.That(DnsPacket.ReadId(query), Is.EqualTo(0xfeed));
        Assert.That(query[..2], Is.EqualTo(new byte[] { 0xfe, 0xed }));
    }

    [Test]
    public void Truncation_and_response_bits_are_read_only_from_a_whole_header()
    {
        byte[] truncated = ResponseTo(Query("db.default.svc.cluster.local", DnsType.A));
        byte[] whole = ResponseTo(Query("web.default.svc.cluster.local", DnsType.A));

        Assert.That(DnsPacket.IsTruncated(truncated), Is.True);
        Assert.That(DnsPacket.IsTruncated(whole), Is.False);
        Assert.That(DnsPacket.IsResponse(whole), Is.True);
        Assert.That(DnsPacket.IsResponse(Query("web", DnsType.A)), Is.False);
        Assert.That(DnsPacket.IsTruncated(truncated.AsSpan(0, 11)), Is.False);
    }

    [Test]
    public void A_response_matches_its_own_question_whatever_the_case()
    {
        byte[] query = Query("WWW.Example.TEST", DnsType.AAAA);
        byte[] response = Query("www.example.test", DnsType.AAAA);
        response[2] |= 0x80;

        Assert.That(DnsPacket.QuestionMatches(query, response), Is.True);
    }

    [TestCase("www.example.test", DnsType.A, (ushort)1, TestName = "A_response_for_another_type_does_not_match")]
    [TestCase("ww.example.test", DnsType.AAAA, (ushort)1, TestName = "A_response_for_another_name_does_not_match")]
    [TestCase("www.example.test", DnsType.AAAA, (ushort)3, TestName = "A_response_for_another_class_does_not_match")]
    public void Mismatches(string name, DnsType type, ushort @class)
    {
        Assert.That(DnsPacket.QuestionMatches(Query("www.example.test", DnsType.AAAA), Query(name, type, @class: @class)), Is.False);
    }

    [Test]
    public void A_response_without_a_readable_question_does_not_match()
    {
        byte[] query = Query("www.example.test", DnsType.A);

        Assert.That(DnsPacket.QuestionMatches(query, Hex("1234 8182 0000 0000 0000 0000")), Is.False);
        Assert.That(DnsPacket.QuestionMatches(query, query.AsSpan(0, 20)), Is.False);
        Assert.That(DnsPacket.QuestionMatches(query, []), Is.False);
        Assert.That(DnsPacket.QuestionMatches(query, query), Is.True);
    }

    [Test]
    public void A_server_failure_echoes_the_question_and_the_opt_record()
    {
        byte[] query = Query("www.example.test", DnsType.A, id: 99, ednsSize: 4096);
        byte[] buffer = new byte[512];

        Assert.That(DnsPacket.TryWriteResponse(query, DnsResponseCode.ServerFailure, buffer, overTcp: false, out int written), Is.True);

        ParsedResponse parsed = ParseResponse(buffer.AsSpan(0, written));
        Assert.That(parsed.Id, Is.EqualTo(99));
        Assert.That(parsed.Code, Is.EqualTo((int)DnsResponseCode.ServerFailure));
        Assert.That(parsed.Questions.Single().Name, Is.EqualTo("www.example.test"));
        Assert.That(parsed.Opt, Is.Not.Null);
        Assert.That(DnsPacket.QuestionMatches(query, buffer.AsSpan(0, written)), Is.True);
    }

    [Test]
    public void A_truncated_empty_response_can_be_written_for_a_udp_client()
    {
        byte[] query = Query("www.example.test", DnsType.A);
        byte[] buffer = new byte[512];

        DnsPacket.TryWriteResponse(query, DnsResponseCode.NoError, buffer, overTcp: false, out int written, truncated: true);

        ParsedResponse parsed = ParseResponse(buffer.AsSpan(0, written));
        Assert.That(parsed.Truncated, Is.True);
        Assert.That(parsed.Code, Is.Zero);
    }

    [Test]
    public void No_response_is_written_to_a_response()
    {
        byte[] response = ResponseTo(Query("web.default.svc.cluster.local", DnsType.A));

        Assert.That(DnsPacket.TryWriteResponse(response, DnsResponseCode.ServerFailure, new byte[512], overTcp: false, out int written), Is.False);
        Assert.That(written, Is.Zero);
    }

    [TestCase(null, 512)]
    [TestCase((ushort)100, 512)]
    [TestCase((ushort)1232, 1232)]
    [TestCase((ushort)4096, 4096)]
    public void The_udp_payload_limit_is_the_edns_size_but_never_under_512(ushort? size, int limit)
    {
        Assert.That(DnsPacket.UdpPayloadLimit(Query("www.example.test", DnsType.A, ednsSize: size)), Is.EqualTo(limit));
    }
}
