using System.Buffers.Binary;
using System.Text;

namespace Overlay.TestKit;

/// <summary>
/// Seeded mutation of what another party writes: bytes (bit flips, boundary bytes and integers, cuts, deleted,
/// repeated and spliced ranges, random bytes) and text (the same on its UTF-8 bytes, plus grammar tokens of the
/// format inserted or swapped in). Text goes through UTF-8 both ways, as text read from etcd, a file or stdin does,
/// so invalid bytes become U+FFFD exactly as they would in the process under test.
/// </summary>
public sealed class InputMutator(Random random)
{
    private static readonly byte[] BoundaryBytes = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

    private static readonly uint[] BoundaryIntegers = [0, 1, 3, 4, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

    public Random Random { get; } = random;

    /// <summary>One to <paramref name="maxOperations"/> mutations of <paramref name="input"/>; <paramref name="splices"/> lends ranges.</summary>
    public byte[] Mutate(ReadOnlySpan<byte> input, IReadOnlyList<byte[]> splices, int maxOperations = 4)
    {
        var bytes = new List<byte>(input.ToArray());
        int operations = Random.Next(1, maxOperations + 1);
        for (int op = 0; op < operations; op++)
        {
            MutateOnce(bytes, splices);
        }

        return [.. bytes];
    }

    /// <summary>Mutates the text's UTF-8 bytes and, as often, swaps a grammar token in, out or for another.</summary>
    public string MutateText(string text, IReadOnlyList<string> splices, IReadOnlyList<string> tokens, int maxOperations = 4)
    {
        int operations = Random.Next(1, maxOperations + 1);
        for (int op = 0; op < operations; op++)
        {
            if (Random.Next(2) == 0 && tokens.Count > 0)
            {
                // Through UTF-8 and back: a cut through a surrogate pair becomes U+FFFD, as it would on the wire.
                text = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(MutateWithToken(text, tokens)));
            }
            else
            {
                var bytes = new List<byte>(Encoding.UTF8.GetBytes(text));
                MutateOnce(bytes, [Encoding.UTF8.GetBytes(splices[Random.Next(splices.Count)])]);
                text = Encoding.UTF8.GetString([.. bytes]);
            }
        }

        return text;
    }

    /// <summary>An element of <paramref name="items"/>, uniformly.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Random.Next(items.Count)];

    private string MutateWithToken(string text, IReadOnlyList<string> tokens)
    {
        string token = Pick(tokens);
        int at = Random.Next(text.Length + 1);
        switch (Random.Next(3))
        {
            case 0:
                return text.Insert(at, token);
            case 1:
                // Replace a run of characters, as a field whose value is swapped for another.
                int length = Math.Min(text.Length - at, Random.Next(1, 12));
                return text.Remove(at, length).Insert(at, token);
            default:
                // Remove an occurrence of some token (a quote, a brace, a separator, ...).
                string victim = Pick(tokens);
                int found = text.IndexOf(victim, StringComparison.Ordinal);
                return found >= 0 && victim.Length > 0 ? text.Remove(found, victim.Length) : text.Insert(at, token);
        }
    }

    private void MutateOnce(List<byte> bytes, IReadOnlyList<byte[]> splices)
    {
        switch (Random.Next(10))
        {
            case 0 when bytes.Count > 0:
                bytes[Random.Next(bytes.Count)] ^= (byte)(1 << Random.Next(8));
                break;
            case 1 when bytes.Count > 0:
                bytes[Random.Next(bytes.Count)] = Random.Next(2) == 0 ? Pick(BoundaryBytes) : (byte)Random.Next(256);
                break;
            case 2 when bytes.Count >= 2:
                // A boundary integer over a length or count field, in either byte order.
                int width = Random.Next(2) == 0 ? 2 : 4;
                int at = Random.Next(Math.Max(1, bytes.Count - width + 1));
                Span<byte> value = stackalloc byte[4];
                if (Random.Next(2) == 0)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(value, Pick(BoundaryIntegers));
                }
                else
                {
                    BinaryPrimitives.WriteUInt32BigEndian(value, Pick(BoundaryIntegers));
                    value = value[(4 - width)..];
                }

                for (int i = 0; i < width && at + i < bytes.Count; i++)
                {
                    bytes[at + i] = value[i];
                }

                break;
            case 3:
                int cut = Random.Next(bytes.Count + 1);
                bytes.RemoveRange(cut, bytes.Count - cut);
                break;
            case 4 when bytes.Count > 0:
                int from = Random.Next(bytes.Count);
                bytes.RemoveRange(from, Random.Next(1, Math.Min(16, bytes.Count - from) + 1));
                break;
            case 5 when bytes.Count > 0:
                int start = Random.Next(bytes.Count);
                int count = Random.Next(1, Math.Min(64, bytes.Count - start) + 1);
                byte[] repeated = bytes.GetRange(start, count).ToArray();
                bytes.InsertRange(Random.Next(bytes.Count + 1), repeated);
                break;
            case 6 when splices.Count > 0:
                byte[] other = Pick(splices);
                int offset = Random.Next(other.Length + 1);
                int length = Random.Next(other.Length - offset + 1);
                bytes.InsertRange(Random.Next(bytes.Count + 1), other.AsSpan(offset, length).ToArray());
                break;
            case 7 when splices.Count > 0 && bytes.Count > 0:
                // Crossover: this input's head and another's tail.
                byte[] tail = Pick(splices);
                int keep = Random.Next(bytes.Count + 1);
                bytes.RemoveRange(keep, bytes.Count - keep);
                bytes.AddRange(tail.AsSpan(Random.Next(tail.Length + 1)).ToArray());
                break;
            case 8 when bytes.Count > 1:
                int a = Random.Next(bytes.Count);
                int b = Random.Next(bytes.Count);
                (bytes[a], bytes[b]) = (bytes[b], bytes[a]);
                break;
            default:
                byte[] noise = new byte[Random.Next(1, 16)];
                Random.NextBytes(noise);
                bytes.InsertRange(Random.Next(bytes.Count + 1), noise);
                break;
        }
    }
}
