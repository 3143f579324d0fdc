using Overlay.Core.Dns;
using static Overlay.Core.Tests.Dns.DnsWireForTests;

namespace Overlay.Core.Tests.Dns;

public class DnsQueryReaderTests
{
    // RFC 1035 4.1: ID 0x1234, RD, one question: web.default.svc.cluster.local A IN.
    private const string WebQuery = "1234 0100 0001 0000 0000 0000"
        + "03 776562 07 64656661756c74 03 737663 07 636c7573746572 05 6c6f63616c 00 0001 0001";

    private static DnsQueryStatus Read(byte[] packet, out DnsQuery query) => DnsQueryReader.Read(packet, out query);

    [Test]
    public void A_hand_written_query_gives_its_id_flags_name_type_and_class()
    {
        DnsQueryStatus status = Read(Hex(WebQuery), out DnsQuery query);

        Assert.That(status, Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(query.Id, Is.EqualTo(0x1234));
        Assert.That(query.RecursionDesired, Is.True);
        Assert.That(query.Opcode, Is.Zero);
        Assert.That(query.Name, Is.EqualTo("web.default.svc.cluster.local"));
        Assert.That(query.Type, Is.EqualTo(DnsType.A));
        Assert.That(query.Class, Is.EqualTo(DnsQueryReader.ClassIN));
        Assert.That(query.QuestionLength, Is.EqualTo(35));
        Assert.That(query.HasEdns, Is.False);
    }

    [Test]
    public void An_opt_record_gives_the_payload_size_the_do_bit_and_the_version()
    {
        DnsQueryStatus status = Read(Query("web.default.svc.cluster.local", DnsType.AAAA, ednsSize: 4096, dnssecOk: true), out DnsQuery query);

        Assert.That(status, Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(query.HasEdns, Is.True);
        Assert.That(query.EdnsPayloadSize, Is.EqualTo(4096));
        Assert.That(query.DnssecOk, Is.True);
        Assert.That(query.EdnsVersion, Is.Zero);
    }

    [Test]
    public void An_edns_version_above_0_is_bad_version()
    {
        Assert.That(Read(Query("web.default.svc.cluster.local", DnsType.A, ednsSize: 1232, ednsVersion: 1), out DnsQuery query), Is.EqualTo(DnsQueryStatus.BadVersion));
        Assert.That(query.EdnsVersion, Is.EqualTo(1));
        Assert.That(query.QuestionLength, Is.GreaterThan(0));
    }

    [Test]
    public void Ascii_letters_are_lowered_and_digits_hyphens_and_underscores_kept()
    {
        Read(Query("_HTTP._Tcp.Web-1.DeFault.SVC.cluster.LOCAL", DnsType.SRV), out DnsQuery query);

        Assert.That(query.Name, Is.EqualTo("_http._tcp.web-1.default.svc.cluster.local"));
    }

    [Test]
    public void Octets_a_zone_name_never_holds_are_escaped_so_a_dot_inside_a_label_cannot_pass_for_two_labels()
    {
        // Labels "a.b" and "\xC4x " (Ä in Latin-1 is not lowered: only ASCII letters are) under "svc".
        byte[] packet = Hex("0001 0000 0001 0000 0000 0000 03 612e62 03 c47820 03 737663 00 0001 0001");

        Assert.That(Read(packet, out DnsQuery query), Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(query.Name, Is.EqualTo(@"a\.b.\196x\032.svc"));
    }

    [Test]
    public void The_root_is_the_empty_name()
    {
        Assert.That(Read(Query("", DnsType.NS), out DnsQuery query), Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(query.Name, Is.Empty);
        Assert.That(query.QuestionLength, Is.EqualTo(5));
    }

    [Test]
    public void A_name_of_exactly_255_octets_is_read_and_one_of_256_is_a_format_error()
    {
        string name255 = string.Join('.', new string('a', 63), new string('b', 63), new string('c', 63), new string('d', 61));
        string name256 = string.Join('.', new string('a', 63), new string('b', 63), new string('c', 63), new string('d', 62));

        Assert.That(Read(Query(name255, DnsType.A), out DnsQuery read), Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(read.Name, Is.EqualTo(name255));
        Assert.That(Read(Query(name256, DnsType.A), out DnsQuery refused), Is.EqualTo(DnsQueryStatus.FormatError));
        Assert.That(refused.QuestionLength, Is.Zero);
    }

    [TestCase("0001 0000 0001 0000 0000 00", TestName = "Packets_shorter_than_a_header_are_dropped")]
    [TestCase("", TestName = "An_empty_packet_is_dropped")]
    [TestCase("1234 8100 0001 0000 0000 0000 03 777777 00 0001 0001", TestName = "A_response_is_dropped")]
    public void Dropped(string hex)
    {
        Assert.That(Read(Hex(hex), out _), Is.EqualTo(DnsQueryStatus.Drop));
    }

    [TestCase("1234 0100 0000 0000 0000 0000", TestName = "No_question_is_a_format_error")]
    [TestCase("1234 0100 0002 0000 0000 0000 03 777777 00 0001 0001 03 777777 00 0001 0001", TestName = "Two_questions_are_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 40", TestName = "A_label_type_0x40_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 80", TestName = "A_label_type_0x80_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 05 777777", TestName = "A_label_running_off_the_end_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 03 777777", TestName = "A_name_without_its_root_label_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 03 777777 00 0001", TestName = "A_question_without_its_class_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 c00c 0001 0001", TestName = "A_pointer_to_itself_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 03 777777 c00c 0001 0001", TestName = "A_pointer_loop_back_to_the_name_start_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 c012 0001 0001 03 777777 00", TestName = "A_forward_pointer_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 c3ff 0001 0001", TestName = "A_pointer_out_of_the_packet_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 c002 0001 0001", TestName = "A_pointer_into_the_header_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 c0", TestName = "Half_a_pointer_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 00 0029 0001", TestName = "A_question_of_type_opt_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0000 00 0000 0001", TestName = "A_question_of_type_0_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001", TestName = "An_additional_count_that_lies_is_a_format_error")]
    [TestCase("1234 0100 0001 ffff 0000 0000 03 777777 00 0001 0001", TestName = "An_answer_count_that_lies_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001 00 0029 1000 00000000 0008 0000 0001 00", TestName = "An_opt_record_longer_than_the_packet_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001 00 0029 1000 00000000 0005 000a 0008 00", TestName = "An_option_longer_than_its_opt_record_is_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0002 03 777777 00 0001 0001 00 0029 1000 00000000 0000 00 0029 1000 00000000 0000", TestName = "Two_opt_records_are_a_format_error")]
    [TestCase("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001 c00c 0029 1000 00000000 0000", TestName = "An_opt_record_not_owned_by_the_root_is_a_format_error")]
    public void Format_errors(string hex)
    {
        Assert.That(Read(Hex(hex), out DnsQuery query), Is.EqualTo(DnsQueryStatus.FormatError));
        Assert.That(query.Id, Is.EqualTo(0x1234));
    }

    [Test]
    public void A_question_read_before_a_broken_additional_section_is_kept_for_the_echo()
    {
        Read(Hex("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001"), out DnsQuery query);

        Assert.That(query.QuestionLength, Is.EqualTo(9));
        Assert.That(query.Name, Is.EqualTo("www"));
    }

    [Test]
    public void An_opcode_other_than_query_is_not_implemented_and_its_question_still_read()
    {
        Assert.That(Read(Query("www.example.test", DnsType.SOA, opcode: 4), out DnsQuery query), Is.EqualTo(DnsQueryStatus.NotImplemented));
        Assert.That(query.Opcode, Is.EqualTo(4));
        Assert.That(query.Name, Is.EqualTo("www.example.test"));
    }

    [Test]
    public void An_update_with_two_zone_entries_is_not_implemented_rather_than_malformed()
    {
        Assert.That(Read(Hex("1234 2800 0002 0000 0000 0000"), out DnsQuery query), Is.EqualTo(DnsQueryStatus.NotImplemented));
        Assert.That(query.QuestionLength, Is.Zero);
    }

    [Test]
    public void A_valid_backward_pointer_in_an_additional_record_is_followed()
    {
        // A record owned by a pointer to the question's name (offset 12), then an OPT.
        byte[] packet = Hex("1234 0100 0001 0000 0000 0002 03 777777 00 0001 0001 c00c 0010 0001 00000000 0002 0161 00 0029 0200 00000000 0000");

        Assert.That(Read(packet, out DnsQuery query), Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(query.EdnsPayloadSize, Is.EqualTo(512));
    }

    [Test]
    public void A_backward_pointer_chain_is_followed_but_a_chain_that_turns_forward_is_not()
    {
        // The additional record starts at 21. Its owner: "x", then a pointer to the question's "www" at 12.
        byte[] good = Hex("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001 01 78 c00c 0001 0001 00000000 0000");
        // Its owner: "x", then a pointer (at 23) back to 21, the owner's own start: backward from the pointer, but a loop.
        byte[] loop = Hex("1234 0100 0001 0000 0000 0001 03 777777 00 0001 0001 01 78 c015 0001 0001 00000000 0000");

        Assert.That(Read(good, out _), Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(Read(loop, out _), Is.EqualTo(DnsQueryStatus.FormatError));
    }

    [Test]
    public void Octets_after_the_last_record_are_ignored()
    {
        byte[] packet = [.. Hex(WebQuery), 0xde, 0xad, 0xbe, 0xef];

        Assert.That(Read(packet, out DnsQuery query), Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(query.Name, Is.EqualTo("web.default.svc.cluster.local"));
    }

    [Test]
    public void Records_in_the_answer_and_authority_sections_of_a_query_are_walked_and_ignored()
    {
        byte[] packet = Hex("1234 0100 0001 0001 0001 0000 03 777777 00 0001 0001 c00c 0001 0001 00000005 0004 c6336401 00 0002 0001 00000005 0002 c00c");

        Assert.That(Read(packet, out DnsQuery query), Is.EqualTo(DnsQueryStatus.Valid));
        Assert.That(query.Name, Is.EqualTo("www"));
    }
}
