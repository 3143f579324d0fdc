using System.Net;
using Overlay.Core.Dns;
using static Overlay.Core.Tests.Dns.DnsWireForTests;

namespace Overlay.Core.Tests.Dns;

public class ClusterDnsAnswererTests
{
    private const string WebQuestion = "03 776562 07 64656661756c74 03 737663 07 636c7573746572 05 6c6f63616c 00";

    private static (DnsDisposition Disposition, byte[] Response) Answer(byte[] query, bool overTcp = false, int bufferSize = 65535, IClusterZone? zone = null)
    {
        var answerer = new ClusterDnsAnswerer(zone ?? new FakeClusterZone());
        byte[] buffer = new byte[bufferSize];
        DnsDisposition disposition = answerer.Answer(query, buffer, overTcp, out int written);
        return (disposition, buffer[..written]);
    }

    [Test]
    public void An_a_query_is_answered_byte_for_byte_with_the_owner_compressed_to_the_question()
    {
        var (disposition, response) = Answer(Hex($"1234 0100 0001 0000 0000 0000 {WebQuestion} 0001 0001"));

        Assert.That(disposition, Is.EqualTo(DnsDisposition.Answered));
        Assert.That(Convert.ToHexString(response), Is.EqualTo(Convert.ToHexString(Hex(
            $"1234 8580 0001 0001 0000 0000 {WebQuestion} 0001 0001"
            + "c00c 0001 0001 00000005 0004 c633640a"))));
    }

    [Test]
    public void An_aaaa_query_is_answered_byte_for_byte()
    {
        var (_, response) = Answer(Hex($"beef 0000 0001 0000 0000 0000 {WebQuestion} 001c 0001"));

        Assert.That(Convert.ToHexString(response), Is.EqualTo(Convert.ToHexString(Hex(
            $"beef 8480 0001 0001 0000 0000 {WebQuestion} 001c 0001"
            + "c00c 001c 0001 00000005 0010 20010db8 00000000 00000000 0000000a"))));
    }

    [Test]
    public void A_missing_name_is_an_authoritative_nxdomain_whose_soa_names_point_into_the_question()
    {
        // nope(12) default(17) svc(25) cluster(29 = 0x1d) local(37).
        const string question = "04 6e6f7065 07 64656661756c74 03 737663 07 636c7573746572 05 6c6f63616c 00 0001 0001";

        var (_, response) = Answer(Hex($"0042 0100 0001 0000 0000 0000 {question}"));

        Assert.That(Convert.ToHexString(response), Is.EqualTo(Convert.ToHexString(Hex(
            $"0042 8583 0001 0000 0001 0000 {question}"
            + "c01d 0006 0001 00000005 002a"
            + "02 6e73 03 646e73 c01d"
            + "0a 686f73746d6173746572 c01d"
            + "692b8900 00001c20 00000708 00015180 00000005"))));
    }

    [Test]
    public void An_srv_target_is_written_whole_and_the_additional_addresses_point_to_the_question()
    {
        // _http(12) _tcp(18) web(23 = 0x17).
        byte[] query = Query("_http._tcp.web.default.svc.cluster.local", DnsType.SRV, id: 7);
        string question = Convert.ToHexString(query, 12, query.Length - 12);

        var (_, response) = Answer(query);

        Assert.That(Convert.ToHexString(response), Is.EqualTo(Convert.ToHexString(Hex(
            $"0007 8580 0001 0001 0000 0002 {question}"
            + $"c00c 0021 0001 00000005 0025 0000 0064 0050 {WebQuestion}"
            + "c017 0001 0001 00000005 0004 c633640a"
            + "c017 001c 0001 00000005 0010 20010db8 00000000 00000000 0000000a"))));
    }

    [Test]
    public void A_ptr_target_is_compressed_against_nothing_before_it_and_later_names_against_it()
    {
        var zone = new ListZone(
            new DnsRecord("10.100.51.198.in-addr.arpa", 5, new NameData(DnsType.PTR, "web.default.svc.cluster.local")),
            new DnsRecord("10.100.51.198.in-addr.arpa", 5, new NameData(DnsType.PTR, "api.default.svc.cluster.local")));
        byte[] query = Query("10.100.51.198.in-addr.arpa", DnsType.PTR);

        var (_, response) = Answer(query, zone: zone);

        // Question 28+4; first record: pointer owner, 10 fixed, the target whole (31); second: 10 fixed, "api" + pointer (6).
        Assert.That(response, Has.Length.EqualTo(12 + 32 + (2 + 10 + 31) + (2 + 10 + 6)));
        ParsedResponse parsed = ParseResponse(response);
        Assert.That(parsed.Answers.Select(a => a.Data), Is.EqualTo(new[] { "web.default.svc.cluster.local", "api.default.svc.cluster.local" }));
    }

    [Test]
    public void A_txt_record_carries_its_strings()
    {
        var (_, response) = Answer(Query("dns-version.cluster.local", DnsType.TXT));

        ParsedResponse parsed = ParseResponse(response);
        Assert.That(parsed.Answers.Single().Data, Is.EqualTo("\"1.1.0\""));
        Assert.That(Convert.ToHexString(response[^8..]), Is.EqualTo("0006" + "05312E312E30"));
    }

    [Test]
    public void The_question_is_echoed_in_the_case_the_client_sent()
    {
        byte[] query = Query("WeB.DeFaUlT.svc.Cluster.Local", DnsType.A);

        var (_, response) = Answer(query);

        Assert.That(response[12..(query.Length)], Is.EqualTo(query[12..]));
        Assert.That(ParseResponse(response).Answers.Single().Data, Is.EqualTo("198.51.100.10"));
    }

    [Test]
    public void An_existing_name_without_the_type_is_nodata_with_the_soa()
    {
        ParsedResponse parsed = ParseResponse(Answer(Query("web.default.svc.cluster.local", DnsType.TXT)).Response);

        Assert.That(parsed.Code, Is.EqualTo((int)DnsResponseCode.NoError));
        Assert.That(parsed.Answers, Is.Empty);
        Assert.That(parsed.Authority.Single().Type, Is.EqualTo(DnsType.SOA));
        Assert.That(parsed.Authoritative, Is.True);
    }

    [Test]
    public void A_name_outside_the_zone_is_forwarded_and_nothing_written()
    {
        var (disposition, response) = Answer(Query("www.example.test", DnsType.A));

        Assert.That(disposition, Is.EqualTo(DnsDisposition.Forward));
        Assert.That(response, Is.Empty);
    }

    [Test]
    public void The_header_copies_id_opcode_rd_and_cd_and_sets_qr_and_ra()
    {
        byte[] query = Query("web.default.svc.cluster.local", DnsType.A, id: 0xabcd, recursionDesired: false);
        query[3] |= 0x10;

        ParsedResponse parsed = ParseResponse(Answer(query).Response);

        Assert.That(parsed.Id, Is.EqualTo(0xabcd));
        Assert.That(parsed.IsResponse, Is.True);
        Assert.That(parsed.RecursionDesired, Is.False);
        Assert.That(parsed.RecursionAvailable, Is.True);
        Assert.That(parsed.Flags3 & 0x10, Is.EqualTo(0x10));
        Assert.That(parsed.Opcode, Is.Zero);
    }

    [Test]
    public void An_edns_query_gets_our_opt_record_with_its_do_bit()
    {
        byte[] query = Query("web.default.svc.cluster.local", DnsType.A, ednsSize: 4096, dnssecOk: true);

        var (_, response) = Answer(query);

        Assert.That(Convert.ToHexString(response[^11..]), Is.EqualTo("00002904D000008000" + "0000"));
        Assert.That(ParseResponse(response).Additional.Single().Type, Is.EqualTo(DnsType.OPT));
    }

    [Test]
    public void A_query_without_edns_gets_no_opt_record()
    {
        Assert.That(ParseResponse(Answer(Query("web.default.svc.cluster.local", DnsType.A)).Response).Additional, Is.Empty);
    }

    [Test]
    public void An_edns_version_1_query_is_answered_badvers_with_an_opt_of_version_0()
    {
        var (disposition, response) = Answer(Query("www.example.test", DnsType.A, ednsSize: 1232, ednsVersion: 1));

        ParsedResponse parsed = ParseResponse(response);
        Assert.That(disposition, Is.EqualTo(DnsDisposition.Answered));
        Assert.That(parsed.Code, Is.EqualTo(16));
        Assert.That(response[3] & 0x0F, Is.Zero);
        Assert.That(parsed.Opt!.Ttl, Is.EqualTo(0x01000000u));
        Assert.That(parsed.Questions.Single().Name, Is.EqualTo("www.example.test"));
    }

    [Test]
    public void Without_edns_an_answer_over_512_bytes_is_sent_empty_with_tc()
    {
        byte[] query = Query("db.default.svc.cluster.local", DnsType.A);

        var (_, response) = Answer(query);

        ParsedResponse parsed = ParseResponse(response);
        Assert.That(parsed.Truncated, Is.True);
        Assert.That(parsed.Answers, Is.Empty);
        Assert.That(parsed.Questions.Single().Name, Is.EqualTo("db.default.svc.cluster.local"));
        Assert.That(response, Has.Length.EqualTo(query.Length));
    }

    [Test]
    public void With_an_edns_size_of_4096_the_same_answer_fits_whole()
    {
        var (_, response) = Answer(Query("db.default.svc.cluster.local", DnsType.A, ednsSize: 4096));

        ParsedResponse parsed = ParseResponse(response);
        Assert.That(parsed.Truncated, Is.False);
        Assert.That(parsed.Answers, Has.Count.EqualTo(100));
        // Question 34, each address record 16 with its owner a pointer, the OPT 11.
        Assert.That(response, Has.Length.EqualTo(12 + 34 + (100 * 16) + 11));
    }

    [Test]
    public void An_edns_size_of_1232_truncates_the_same_answer_and_keeps_the_opt_record()
    {
        var (_, response) = Answer(Query("db.default.svc.cluster.local", DnsType.A, ednsSize: 1232));

        ParsedResponse parsed = ParseResponse(response);
        Assert.That(parsed.Truncated, Is.True);
        Assert.That(parsed.Answers, Is.Empty);
        Assert.That(parsed.Opt, Is.Not.Null);
        Assert.That(response, Has.Length.EqualTo(12 + 34 + 11));
    }

    [Test]
    public void An_edns_size_under_512_is_taken_as_512()
    {
        var zone = new FakeClusterZone(headlessAddresses: 25);

        var (_, response) = Answer(Query("db.default.svc.cluster.local", DnsType.A, ednsSize: 100), zone: zone);

        Assert.That(ParseResponse(response).Answers, Has.Count.EqualTo(25));
        Assert.That(response.Length, Is.GreaterThan(400).And.LessThanOrEqualTo(512));
    }

    [Test]
    public void Over_tcp_the_whole_answer_is_sent_without_edns()
    {
        var (_, response) = Answer(Query("db.default.svc.cluster.local", DnsType.A), overTcp: true);

        Assert.That(ParseResponse(response).Answers, Has.Count.EqualTo(100));
    }

    [Test]
    public void A_udp_answer_is_capped_by_the_buffer_under_the_edns_size()
    {
        var (_, response) = Answer(Query("db.default.svc.cluster.local", DnsType.A, ednsSize: 4096), bufferSize: 1500);

        Assert.That(ParseResponse(response).Truncated, Is.True);
    }

    [Test]
    public void Additional_records_that_do_not_fit_are_left_out_without_tc()
    {
        byte[] query = Query("_http._tcp.web.default.svc.cluster.local", DnsType.SRV);
        DnsQueryReader.Read(query, out DnsQuery read);
        ZoneAnswer answer = new FakeClusterZone().Lookup(read.Name, read.Type)!;
        byte[] buffer = new byte[512];

        // Header, question (46), the SRV record (2 + 10 + 37) and the A record (16), not the AAAA (28).
        int written = DnsResponseWriter.WriteAnswer(query, read, answer, buffer, 12 + 46 + 49 + 16 + 27);

        ParsedResponse parsed = ParseResponse(buffer.AsSpan(0, written));
        Assert.That(parsed.Truncated, Is.False);
        Assert.That(parsed.Answers, Has.Count.EqualTo(1));
        Assert.That(parsed.Additional.Select(r => r.Type), Is.EqualTo(new[] { DnsType.A }));
        Assert.That(written, Is.EqualTo(12 + 46 + 49 + 16));
    }

    [Test]
    public void A_buffer_too_small_for_the_header_and_question_drops_the_query()
    {
        var (disposition, response) = Answer(Query("web.default.svc.cluster.local", DnsType.A), bufferSize: 20);

        Assert.That(disposition, Is.EqualTo(DnsDisposition.Drop));
        Assert.That(response, Is.Empty);
    }

    [Test]
    public void Zone_data_that_cannot_be_encoded_is_a_server_failure()
    {
        var zone = new ListZone(new DnsRecord("bad.cluster.local", 5, new NameData(DnsType.PTR, new string('x', 64) + ".cluster.local")));

        ParsedResponse parsed = ParseResponse(Answer(Query("bad.cluster.local", DnsType.PTR), zone: zone).Response);

        Assert.That(parsed.Code, Is.EqualTo((int)DnsResponseCode.ServerFailure));
        Assert.That(parsed.Answers, Is.Empty);
        Assert.That(parsed.Questions, Has.Count.EqualTo(1));
    }

    [TestCase(3, TestName = "A_chaos_class_question_in_the_zone_is_refused")]
    [TestCase(4, TestName = "A_hesiod_class_question_in_the_zone_is_refused")]
    public void Other_classes_in_the_zone_are_refused(int @class)
    {
        var (disposition, response) = Answer(Query("web.default.svc.cluster.local", DnsType.TXT, @class: (ushort)@class));

        Assert.That(disposition, Is.EqualTo(DnsDisposition.Answered));
        Assert.That(ParseResponse(response).Code, Is.EqualTo((int)DnsResponseCode.Refused));
    }

    [Test]
    public void A_chaos_class_question_outside_the_zone_is_forwarded()
    {
        Assert.That(Answer(Query("version.bind", DnsType.TXT, @class: 3)).Disposition, Is.EqualTo(DnsDisposition.Forward));
    }

    [Test]
    public void Class_any_in_the_zone_is_answered_from_class_in()
    {
        ParsedResponse parsed = ParseResponse(Answer(Query("web.default.svc.cluster.local", DnsType.A, @class: 255)).Response);

        Assert.That(parsed.Answers.Single().Class, Is.EqualTo(1));
    }

    [TestCase(252, TestName = "A_zone_transfer_is_not_implemented")]
    [TestCase(251, TestName = "An_incremental_zone_transfer_is_not_implemented")]
    public void Transfers_are_not_implemented(int type)
    {
        ParsedResponse parsed = ParseResponse(Answer(Query("cluster.local", (DnsType)type)).Response);

        Assert.That(parsed.Code, Is.EqualTo((int)DnsResponseCode.NotImplemented));
    }

    [Test]
    public void A_malformed_query_is_a_format_error_with_the_header_only_when_the_question_is_unreadable()
    {
        var (disposition, response) = Answer(Hex("1234 0100 0001 0000 0000 0000 c00c 0001 0001"));

        Assert.That(disposition, Is.EqualTo(DnsDisposition.Answered));
        Assert.That(Convert.ToHexString(response), Is.EqualTo("1234" + "8181" + "0000000000000000"));
    }

    [Test]
    public void A_format_error_after_the_question_echoes_it()
    {
        ParsedResponse parsed = ParseResponse(Answer(Hex("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001")).Response);

        Assert.That(parsed.Code, Is.EqualTo((int)DnsResponseCode.FormatError));
        Assert.That(parsed.Questions.Single(), Is.EqualTo(("www", DnsType.A, (ushort)1)));
    }

    [Test]
    public void A_notify_is_not_implemented_with_its_opcode_and_question_echoed()
    {
        ParsedResponse parsed = ParseResponse(Answer(Query("cluster.local", DnsType.SOA, opcode: 4)).Response);

        Assert.That(parsed.Code, Is.EqualTo((int)DnsResponseCode.NotImplemented));
        Assert.That(parsed.Opcode, Is.EqualTo(4));
        Assert.That(parsed.Questions.Single().Name, Is.EqualTo("cluster.local"));
    }

    [Test]
    public void A_response_arriving_as_a_query_is_dropped_without_asking_the_zone()
    {
        var zone = new FakeClusterZone();
        byte[] packet = Query("web.default.svc.cluster.local", DnsType.A);
        packet[2] |= 0x80;

        var (disposition, response) = Answer(packet, zone: zone);

        Assert.That(disposition, Is.EqualTo(DnsDisposition.Drop));
        Assert.That(response, Is.Empty);
        Assert.That(zone.Lookups, Is.Zero);
    }

    private sealed class ListZone(params DnsRecord[] records) : IClusterZone
    {
        public string Domain => "cluster.local";

        public ZoneAnswer? Lookup(string name, DnsType type)
        {
            var answers = records.Where(r => r.Name == name && r.Type == type).ToList();
            return answers.Count == 0 ? null : new ZoneAnswer(DnsResponseCode.NoError, true, answers, [], []);
        }
    }
}
