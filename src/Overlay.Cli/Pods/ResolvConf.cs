using System.Text;

namespace Overlay.Cli.Pods;

/// <summary>
/// The three things a resolv.conf says: nameservers, search domains, and options as resolv.conf writes them
/// (<c>ndots:5</c>, <c>edns0</c>).
/// </summary>
public sealed record ResolvConf(IReadOnlyList<string> Nameservers, IReadOnlyList<string> Searches, IReadOnlyList<string> Options)
{
    public static ResolvConf Empty { get; } = new([], [], []);

    /// <summary>
    /// Reads a node's resolv.conf as the kubelet does (<c>parseResolvConf</c> in pkg/kubelet/network/dns):
    /// a line that starts with <c>#</c> is a comment (a later <c>#</c> is not special); <c>nameserver</c> lines
    /// add up, each giving its first field as written; the last <c>search</c>
    /// line wins, with trailing dots dropped and a lone <c>.</c> left out; <c>options</c> lines add up, a later
    /// option of the same name replacing the earlier; other keywords (<c>domain</c>, <c>sortlist</c>) are skipped.
    /// </summary>
    /// <exception cref="FormatException">a <c>nameserver</c> line has no address (the kubelet fails the pod then).</exception>
    public static ResolvConf Parse(string text)
    {
        var nameservers = new List<string>();
        var searches = new List<string>();
        var options = new List<string>();
        string[] lines = text.Split('\n');
        for (int number = 1; number <= lines.Length; number++)
        {
            string line = lines[number - 1].Trim();
            if (line.StartsWith('#'))
            {
                continue;
            }

            string[] fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0)
            {
                continue;
            }

            switch (fields[0])
            {
                case "nameserver" when fields.Length >= 2:
                    nameservers.Add(fields[1]);
                    break;
                case "nameserver":
                    throw new FormatException($"line {number}: 'nameserver' without an address");
                case "search":
                    searches.Clear();
                    searches.AddRange(fields.Skip(1).Where(s => s != ".").Select(s => s.EndsWith('.') ? s[..^1] : s));
                    break;
                case "options":
                    foreach (string option in fields.Skip(1))
                    {
                        options.RemoveAll(o => DnsOptions.NameOf(o) == DnsOptions.NameOf(option));
                        options.Add(option);
                    }

                    break;
            }
        }

        return new ResolvConf(nameservers, searches, options);
    }

    /// <summary>nameserver lines, then one search line and one options line when there are any.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        foreach (string server in Nameservers)
        {
            text.Append("nameserver ").Append(server).Append('\n');
        }

        if (Searches.Count > 0)
        {
            text.Append("search ").Append(string.Join(' ', Searches)).Append('\n');
        }

        if (Options.Count > 0)
        {
            text.Append("options ").Append(string.Join(' ', Options)).Append('\n');
        }

        return text.ToString();
    }
}
