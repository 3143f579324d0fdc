using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Text;

namespace Overlay.Daemon.Dns;

/// <summary>An upstream left out, and why (it would send queries back to us).</summary>
public sealed record DroppedUpstream(IPEndPoint Upstream, string Reason);

/// <summary>The upstreams the forwarder asks, in order, and those left out as loops.</summary>
public sealed record UpstreamSelection(IReadOnlyList<IPEndPoint> Upstreams, IReadOnlyList<DroppedUpstream> Dropped);

/// <summary>
/// Where queries outside the cluster zone go: the node's resolv.conf (as glibc reads it: <c>nameserver</c> lines, the
/// first three) or <c>--dns-upstream</c>, less any upstream that is this server itself. Pure: text in, endpoints out.
/// </summary>
public static class UpstreamResolvers
{
    public const int DnsPort = 53;

    /// <summary>glibc's MAXNS: it ignores nameserver lines after the third, and so do we.</summary>
    public const int MaxResolvConfServers = 3;

    /// <summary>
    /// The <c>nameserver</c> addresses of a resolv.conf, port 53, in file order, at most three; IPv6 may carry a scope
    /// (<c>fe80::1%eth0</c>). Comments (<c>#</c>, <c>;</c>), other keywords and unreadable addresses are skipped.
    /// </summary>
    public static IReadOnlyList<IPEndPoint> FromResolvConf(string text)
    {
        var servers = new List<IPEndPoint>();
        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (!line.StartsWith("nameserver", StringComparison.Ordinal))
            {
                continue;
            }

            string[] fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || fields[0] != "nameserver" || !IPAddress.TryParse(fields[1], out IPAddress? address))
            {
                continue;
            }

            servers.Add(new IPEndPoint(address, DnsPort));
            if (servers.Count == MaxResolvConfServers)
            {
                break;
            }
        }

        return servers;
    }

    /// <summary>
    /// <c>--dns-upstream</c>: comma-separated <c>IP</c>, <c>IPv4:port</c>, <c>IPv6</c> or <c>[IPv6]:port</c> (port 53 when
    /// none). False with a message naming the bad item and the valid forms.
    /// </summary>
    public static bool TryParseList(string value, out IReadOnlyList<IPEndPoint> upstreams, out string problem)
    {
        var parsed = new List<IPEndPoint>();
        upstreams = parsed;
        problem = "";
        string[] items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0)
        {
            problem = "the list is empty: give at least one address";
            return false;
        }

        foreach (string item in items)
        {
            if (!TryParseEndPoint(item, out IPEndPoint? endPoint))
            {
                problem = $"'{item}' is not valid; give IP, IP:port or [IPv6]:port, e.g. 192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53";
                return false;
            }

            parsed.Add(endPoint);
        }

        return true;
    }

    /// <summary>
    /// Leaves out upstreams that are this server (its listen address and port) or the cluster DNS address (which the
    /// node's service rules send back to this server): forwarding to them would loop. Duplicates are kept once.
    /// </summary>
    public static UpstreamSelection Select(IEnumerable<IPEndPoint> candidates, IPEndPoint listen, IPAddress? clusterDns)
    {
        var kept = new List<IPEndPoint>();
        var dropped = new List<DroppedUpstream>();
        foreach (IPEndPoint candidate in candidates)
        {
            if (SameAddress(candidate.Address, listen.Address) && candidate.Port == listen.Port)
            {
                dropped.Add(new DroppedUpstream(candidate, "it is this server's own listen address"));
            }
            else if (clusterDns is not null && SameAddress(candidate.Address, clusterDns))
            {
                dropped.Add(new DroppedUpstream(candidate, "it is the cluster DNS address, which leads back to this server"));
            }
            else if (!kept.Contains(candidate))
            {
                kept.Add(candidate);
            }
        }

        return new UpstreamSelection(kept, dropped);
    }

    private static bool SameAddress(IPAddress a, IPAddress b)
    {
        IPAddress left = a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
        IPAddress right = b.IsIPv4MappedToIPv6 ? b.MapToIPv4() : b;
        return left.AddressFamily == right.AddressFamily && left.GetAddressBytes().AsSpan().SequenceEqual(right.GetAddressBytes());
    }

    private static bool TryParseEndPoint(string item, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        string host = item;
        int port = DnsPort;
        if (item.StartsWith('['))
        {
            int close = item.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = item[1..close];
            string rest = item[(close + 1)..];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryParsePort(rest[1..], out port)))
            {
                return false;
            }

            if (!IPAddress.TryParse(host, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }

            endPoint = new IPEndPoint(v6, port);
            return true;
        }

        int colons = item.Count(c => c == ':');
        if (colons == 1)
        {
            int colon = item.IndexOf(':', StringComparison.Ordinal);
            host = item[..colon];
            if (!TryParsePort(item[(colon + 1)..], out port))
            {
                return false;
            }
        }

        if (!IPAddress.TryParse(host, out IPAddress? address) || (colons == 1 && address.AddressFamily != AddressFamily.InterNetwork)
            || (address.AddressFamily == AddressFamily.InterNetwork && host.Count(c => c == '.') != 3))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    private static bool TryParsePort(string text, out int port) =>
        DecimalText.TryParse(text, out port) && port is >= 1 and <= 65535;
}
