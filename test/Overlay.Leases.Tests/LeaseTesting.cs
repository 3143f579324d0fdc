using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.TestKit;

namespace Overlay.Leases.Tests;

/// <summary>A key as etcdctl sees it: the independent look at etcd the tests check against.</summary>
public sealed record StoredKey(string Key, string Value, long Lease, long ModRevision);

/// <summary>Shared helpers: configs, identities, attributes, and reading etcd with etcdctl.</summary>
public static class LeaseTesting
{
    /// <summary>198.18.0.0/16 with /24 subnets from 198.18.1.0: 64 free subnets up to 198.18.64.0.</summary>
    public const string SixtyFourSubnets = """{"Network":"198.18.0.0/16","SubnetMax":"198.18.64.0","Backend":{"Type":"vxlan","VNI":1}}""";

    public const string WideNetwork = """{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"}}""";

    /// <summary>A prefix of its own for each test, so tests can share one etcd.</summary>
    public static string UniquePrefix() => $"/t{Guid.NewGuid():N}/coreos.com/network";

    public static NetworkConfig Config(string json = SixtyFourSubnets) => NetworkConfigParser.Parse(json);

    public static NodeIdentity Node(int n) => new($"node-{n}", PublicIP(n));

    /// <summary>Public IPs 192.0.2.n, then 198.51.100.x and 203.0.113.x (documentation ranges).</summary>
    public static IPAddress PublicIP(int n) => n switch
    {
        < 255 => IPAddress.Parse($"192.0.2.{n}"),
        < 509 => IPAddress.Parse($"198.51.100.{n - 254}"),
        _ => IPAddress.Parse($"203.0.113.{n - 508}"),
    };

    public static LeaseAttributes Attributes(NodeIdentity node, int vni = 1) => new()
    {
        PublicIP = node.PublicIP.ToString(),
        BackendType = "vxlan",
        BackendData = new VxlanBackendData { Vni = vni, VtepMac = VtepMac.Format(Overlay.Core.Identity.NodeIdentityDerivation.VtepMac(node.OwnerId, vni)) },
    };

    public static SubnetKey Subnet(string cidr) => new(IPNetwork.Parse(cidr));

    public static EtcdOptions Options(EtcdServer etcd, string prefix) => new()
    {
        Endpoints = [etcd.Endpoint],
        Prefix = prefix,
        CallTimeout = TimeSpan.FromSeconds(3),
    };

    /// <summary>Every key under <paramref name="keyPrefix"/>, read with etcdctl.</summary>
    public static IReadOnlyList<StoredKey> Stored(EtcdServer etcd, string keyPrefix, params string[] extraFlags)
    {
        CommandResult result = etcd.Etcdctl(["get", "--prefix", keyPrefix, "-w", "json", .. extraFlags]).EnsureSuccess();
        using var json = JsonDocument.Parse(result.StdOut);
        var keys = new List<StoredKey>();
        if (!json.RootElement.TryGetProperty("kvs", out JsonElement kvs))
        {
            return keys;
        }

        foreach (JsonElement kv in kvs.EnumerateArray())
        {
            keys.Add(new StoredKey(
                Decode(kv.GetProperty("key").GetString()),
                kv.TryGetProperty("value", out JsonElement value) ? Decode(value.GetString()) : "",
                kv.TryGetProperty("lease", out JsonElement lease) ? lease.GetInt64() : 0,
                kv.GetProperty("mod_revision").GetInt64()));
        }

        return keys;
    }

    public static StoredKey? StoredLease(EtcdServer etcd, string prefix, SubnetKey subnet, params string[] extraFlags) =>
        Stored(etcd, subnet.ToEtcdKey(prefix), extraFlags).SingleOrDefault(k => k.Key == subnet.ToEtcdKey(prefix));

    public static void Put(EtcdServer etcd, string key, string value, params string[] extraFlags) =>
        etcd.Etcdctl(["put", key, value, .. extraFlags]).EnsureSuccess();

    /// <summary>The remaining TTL etcd reports for a lease id, in seconds (-1 when it does not exist).</summary>
    public static long RemainingTtl(EtcdServer etcd, long leaseId)
    {
        CommandResult result = etcd.Etcdctl("lease", "timetolive", leaseId.ToString("x", CultureInfo.InvariantCulture), "-w", "json").EnsureSuccess();
        using var json = JsonDocument.Parse(result.StdOut);
        return json.RootElement.GetProperty("ttl").GetInt64();
    }

    private static string Decode(string? base64) => Encoding.UTF8.GetString(Convert.FromBase64String(base64 ?? ""));
}
