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
    /// Reads a resolv.conf as the resolver (and kubelet) does: <c>#</c> and <c>;</c> start comments, a later
    /// <c>search</c> line replaces an earlier one, trailing dots of search domains are dropped, <c>options</c>
    /// lines add up and a later option of the same name replaces the earlier.
    /// </summary>
    public static ResolvConf Parse(string text)
    {
        var nameservers = new List<string>();
        var searches = new List<string>();
        var options = new List<string>();
        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            string[] fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            switch (fields[0])
            {
                case "nameserver" when fields.Length >= 2:
                    nameservers.Add(fields[1]);
                    break;
                case "search":
                    searches.Clear();
                    searches.AddRange(fields.Skip(1).Where(s => s != ".").Select(s => s.TrimEnd('.')));
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
