using System.Diagnostics;
using Overlay.Core.Dns;
using static Overlay.Core.Tests.Dns.DnsWireForTests;

namespace Overlay.Core.Tests.Dns;

/// <summary>
/// Seeded random mutation of valid queries (bit flips, cuts, splices, random bytes, lying counts): the answerer never
/// throws, writes within its buffer and the transport's limit, and every response it writes is itself a well-formed
/// response (the tests' own strict parser reads it to the last octet).
/// </summary>
public class DnsFuzzTests
{
    private const int Iterations = 150_000;

    private static readonly byte[][] Seeds =
    [
        Query("web.default.svc.cluster.local", DnsType.A),
        Query("web.default.svc.cluster.local", DnsType.AAAA, ednsSize: 1232, dnssecOk: true),
        Query("_http._tcp.web.default.svc.cluster.local", DnsType.SRV, ednsSize: 4096),
        Query("10.100.51.198.in-addr.arpa", DnsType.PTR),
        Query("dns-version.cluster.local", DnsType.TXT, ednsSize: 512),
        Query("nope.default.svc.cluster.local", DnsType.A),
        Query("db.default.svc.cluster.local", DnsType.A),
        Query("db.default.svc.cluster.local", DnsType.A, ednsSize: 1232),
        Query("www.example.test", DnsType.A),
        Query("cluster.local", DnsType.SOA, ednsSize: 1232, ednsVersion: 1),
        Query("", DnsType.NS),
        Hex("1234 0100 0001 0000 0000 0002 03 777777 00 0001 0001 01 78 c00c 0010 0001 00000000 0002 0161 00 0029 0200 00000000 0004 000a 0000"),
        Hex("1234 0100 0001 0001 0001 0000 03 777777 00 0001 0001 c00c 0001 0001 00000005 0004 c6336401 00 0002 0001 00000005 0002 c00c"),
    ];

    [Test]
    public void Mutated_queries_never_throw_and_every_response_written_parses_whole()
    {
        var random = new Random(20261130);
        var answerer = new ClusterDnsAnswerer(new FakeClusterZone());
        byte[] response = new byte[DnsResponseWriter.MaxTcpMessageSize];
        var counts = new Dictionary<DnsDisposition, int> { [DnsDisposition.Answered] = 0, [DnsDisposition.Forward] = 0, [DnsDisposition.Drop] = 0 };
        var codes = new HashSet<int>();
        int truncated = 0;
        var clock = Stopwatch.StartNew();
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;

        for (int i = 0; i < Iterations; i++)
        {
            byte[] seed = Seeds[random.Next(Seeds.Length)];
            byte[] packet = Mutate(seed, random);
            bool overTcp = random.Next(4) == 0;
            int bufferLength = overTcp ? response.Length : random.Next(3) switch { 0 => 512, 1 => 1500, _ => 4096 };
            Span<byte> buffer = response.AsSpan(0, bufferLength);

            DnsDisposition disposition = answerer.Answer(packet, buffer, overTcp, out int written);
            DnsPacket.QuestionMatches(seed, packet);
            DnsPacket.QuestionMatches(packet, seed);

            counts[disposition]++;
            int limit = overTcp ? bufferLength : Math.Min(bufferLength, DnsPacket.UdpPayloadLimit(packet));
            if (written < 0 || written > limit)
            {
                Assert.Fail($"iteration {i}: {written} bytes written over the limit of {limit} for {Convert.ToHexString(packet)}");
            }

            if (disposition != DnsDisposition.Answered)
            {
                if (written != 0 || (disposition == DnsDisposition.Forward && DnsQueryReader.Read(packet, out _) != DnsQueryStatus.Valid))
                {
                    Assert.Fail($"iteration {i}: {disposition} with {written} bytes for {Convert.ToHexString(packet)}");
                }

                continue;
            }

            ParsedResponse parsed;
            try
            {
                parsed = ParseResponse(buffer[..written]);
            }
            catch (FormatException e)
            {
                Assert.Fail($"iteration {i}: the response to {Convert.ToHexString(packet)} does not parse ({e.Message}): {Convert.ToHexString(buffer[..written])}");
                throw;
            }

            if (!parsed.IsResponse || parsed.Id != DnsPacket.ReadId(packet) || parsed.Questions.Count > 1)
            {
                Assert.Fail($"iteration {i}: response header {parsed} to {Convert.ToHexString(packet)}");
            }

            codes.Add(parsed.Code);
            truncated += parsed.Truncated ? 1 : 0;
        }

        clock.Stop();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        TestContext.Out.WriteLine($"{Iterations} mutated queries in {clock.ElapsedMilliseconds} ms ({cpu.TotalMilliseconds:F0} ms CPU): {string.Join(", ", counts)}; codes {string.Join(' ', codes.Order())}; {truncated} truncated");
        Assert.That(counts.Values, Has.All.GreaterThan(Iterations / 100), "every disposition is reached");
        Assert.That(codes, Is.SupersetOf(new[] { 0, 1, 3, 4, 5, 16 }), "NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED and BADVERS are all reached");
        Assert.That(truncated, Is.GreaterThan(0));
    }

    [Test]
    public void Random_bytes_never_throw()
    {
        var random = new Random(53);
        var answerer = new ClusterDnsAnswerer(new FakeClusterZone());
        byte[] response = new byte[4096];
        int answered = 0;

        for (int i = 0; i < 50_000; i++)
        {
            byte[] packet = new byte[random.Next(0, 300)];
            random.NextBytes(packet);
            if (packet.Length > 2)
            {
                packet[2] &= 0x7f;
            }

            if (answerer.Answer(packet, response, overTcp: false, out int written) == DnsDisposition.Answered)
            {
                ParseResponse(response.AsSpan(0, written));
                answered++;
            }
        }

        Assert.That(answered, Is.GreaterThan(1000));
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var packet = new List<byte>(seed);
        int operations = random.Next(1, 4);
        for (int op = 0; op < operations; op++)
        {
            switch (random.Next(7))
            {
                case 0 when packet.Count > 0:
                    int flip = random.Next(packet.Count);
                    packet[flip] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    int cut = random.Next(packet.Count + 1);
                    packet.RemoveRange(cut, packet.Count - cut);
                    break;
                case 2:
                    byte[] other = Seeds[random.Next(Seeds.Length)];
                    int from = random.Next(other.Length);
                    int length = random.Next(other.Length - from + 1);
                    int at = random.Next(packet.Count + 1);
                    packet.InsertRange(at, other.AsSpan(from, length).ToArray());
                    break;
                case 3 when packet.Count > 0:
                    int overwrite = random.Next(packet.Count);
                    packet[overwrite] = (byte)random.Next(256);
                    break;
                case 4:
                    byte[] noise = new byte[random.Next(1, 16)];
                    random.NextBytes(noise);
                    packet.InsertRange(random.Next(packet.Count + 1), noise);
                    break;
                case 5 when packet.Count >= 12:
                    // A count that lies: any of QD/AN/NS/AR.
                    int count = 4 + (2 * random.Next(4));
                    packet[count] = (byte)random.Next(3);
                    packet[count + 1] = (byte)random.Next(256);
                    break;
                case 6 when packet.Count > 12:
                    // A pointer anywhere: loops, forward, out of range, into the header, or a good one.
                    int pointerAt = random.Next(12, packet.Count);
                    packet[pointerAt] = (byte)(0xC0 | random.Next(2));
                    if (pointerAt + 1 < packet.Count)
                    {
                        packet[pointerAt + 1] = (byte)random.Next(256);
                    }

                    break;
            }
        }

        return [.. packet];
    }
}
