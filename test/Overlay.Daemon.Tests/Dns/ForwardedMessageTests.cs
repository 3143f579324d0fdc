using System.Net;
using Overlay.Core.Dns;
using Overlay.Daemon.Dns;

namespace Overlay.Daemon.Tests.Dns;

public class ForwardedMessageTests
{
    [Test]
    public void A_reply_matches_its_query_whatever_the_case_of_the_name()
    {
        byte[] query = TestMessages.Query(1, "www.example.test");
        byte[] reply = TestMessages.Answer(TestMessages.Query(1, "WWW.Example.TEST"), IPAddress.Loopback);

        Assert.That(ForwardedMessage.AnswersQuestionOf(query, reply), Is.True);
    }

    [Test]
    public void A_reply_with_another_name_or_type_or_that_is_no_response_does_not_match()
    {
        byte[] query = TestMessages.Query(1, "www.example.test");

        Assert.That(ForwardedMessage.AnswersQuestionOf(query, TestMessages.Answer(TestMessages.Query(1, "ww.example.test"), IPAddress.Loopback)), Is.False);
        Assert.That(ForwardedMessage.AnswersQuestionOf(query, TestMessages.Answer(TestMessages.Query(1, "www.example.test", DnsType.AAAA), IPAddress.Loopback)), Is.False);
        Assert.That(ForwardedMessage.AnswersQuestionOf(query, query), Is.False);
    }

    [Test]
    public void A_question_name_that_points_at_itself_is_no_match_and_no_loop()
    {
        byte[] query = TestMessages.Query(1, "a.test");
        byte[] reply = [.. TestMessages.Answer(query, IPAddress.Loopback)[..12], 0xC0, 12, 0, 1, 0, 1];

        Assert.That(ForwardedMessage.AnswersQuestionOf(query, reply), Is.False);
    }

    [Test]
    public void SERVFAIL_keeps_the_ID_the_RD_bit_and_the_question()
    {
        byte[] query = TestMessages.Query(0xBEEF, "www.example.test", ednsSize: 1232);
        byte[] response = new byte[512];

        int length = ForwardedMessage.WriteServerFailure(query, response);

        Assert.That(length, Is.EqualTo(TestMessages.QuestionEnd(query)), "the OPT record is not echoed");
        Assert.That(TestMessages.Id(response), Is.EqualTo(0xBEEF));
        Assert.That(TestMessages.Code(response), Is.EqualTo(DnsResponseCode.ServerFailure));
        Assert.That(response[2], Is.EqualTo(0x81), "QR and RD");
        Assert.That(TestMessages.QuestionName(response.AsSpan(0, length)), Is.EqualTo("www.example.test"));
    }

    [Test]
    public void Random_bytes_never_throw_and_never_write_past_the_buffer()
    {
        var random = new Random(1035);
        byte[] query = TestMessages.Query(1, "www.example.test");
        int matches = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] packet = new byte[random.Next(0, 300)];
            random.NextBytes(packet);
            if (packet.Length > 12 && random.Next(2) == 0)
            {
                packet[4] = 0;
                packet[5] = 1;
            }

            byte[] response = new byte[random.Next(0, 64)];
            Assert.DoesNotThrow(() =>
            {
                matches += ForwardedMessage.AnswersQuestionOf(query, packet) ? 1 : 0;
                matches += ForwardedMessage.AnswersQuestionOf(packet, query) ? 1 : 0;
                _ = ForwardedMessage.WriteServerFailure(packet, response);
                _ = ForwardedMessage.WriteTruncated(packet, response);
            });
        }

        Assert.That(matches, Is.Zero);
    }
}
