using System.Globalization;
using System.Text;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cli.Tests;

/// <summary>
/// One real etcd per fixture; every test works under a prefix of its own, deleted afterwards, and talks to
/// etcd through overlayctl (in-process) while etcdctl is the independent oracle.
/// </summary>
public abstract class CliFixture : EtcdPerFixture
{
    /// <summary>198.18.0.0/16 with /24 subnets from 198.18.1.0 to 198.18.64.0.</summary>
    public const string SixtyFourSubnets = """{"Network":"198.18.0.0/16","SubnetMax":"198.18.64.0","Backend":{"Type":"vxlan","VNI":1}}""";

    /// <summary>A TTL whose remaining time shows as 23h53m for the first 19 seconds.</summary>
    public const int DayTtl = 86000;

    protected string Prefix { get; private set; } = "";

    private string root = "";

    [SetUp]
    public void UseFreshPrefix()
    {
        root = $"/t{Guid.NewGuid():N}";
        Prefix = root + "/coreos.com/network";
    }

    [TearDown]
    public void DeleteKeys()
    {
        Etcd.Etcdctl("del", "--prefix", root + "/").EnsureSuccess();
    }

    /// <summary>overlayctl pointed at this etcd and prefix with flags.</summary>
    protected Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    protected Task<CliResult> RunWithInputAsync(string stdin, params string[] args) =>
        Cli.RunAsync([.. args, "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix, "--command-timeout", "3s"], new Dictionary<string, string?>(), stdin);

    protected void PutConfig(string json = SixtyFourSubnets) => Etcd.Etcdctl("put", Prefix + "/config", json).EnsureSuccess();

    protected string Key(string subnetKey) => $"{Prefix}/subnets/{subnetKey}";

    /// <summary>A lease as a node writes it: the key attached to a fresh etcd lease of <paramref name="ttl"/> seconds. Returns the etcd lease id.</summary>
    protected long PutLease(string subnetKey, string value, int ttl = DayTtl)
    {
        string granted = Etcd.Etcdctl("lease", "grant", ttl.ToString(CultureInfo.InvariantCulture)).EnsureSuccess().StdOut;
        string hex = granted.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        Etcd.Etcdctl("put", "--lease=" + hex, Key(subnetKey), value).EnsureSuccess();
        return long.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    /// <summary>A reservation: the key with no etcd lease.</summary>
    protected void PutReservation(string subnetKey, string value) => Etcd.Etcdctl("put", Key(subnetKey), value).EnsureSuccess();

    protected static string Value(string publicIP, string? mac = null, string? owner = null, int vni = 1)
    {
        string backend = mac is null ? "" : ",\"BackendData\":{\"VNI\":" + vni.ToString(CultureInfo.InvariantCulture) + ",\"VtepMAC\":\"" + mac + "\"}";
        string ownerMember = owner is null ? "" : ",\"OverlayOwner\":\"" + owner + "\"";
        return "{\"PublicIP\":\"" + publicIP + "\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\"" + backend + ownerMember + "}";
    }

    /// <summary>The subnet keys under the prefix with their etcd lease ids, as etcdctl sees them.</summary>
    protected IReadOnlyDictionary<string, long> StoredLeases()
    {
        CommandResult result = Etcd.Etcdctl("get", "--prefix", Prefix + "/subnets/", "-w", "json").EnsureSuccess();
        using var json = JsonDocument.Parse(result.StdOut);
        var keys = new Dictionary<string, long>();
        if (json.RootElement.TryGetProperty("kvs", out JsonElement kvs))
        {
            foreach (JsonElement kv in kvs.EnumerateArray())
            {
                string key = Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty("key").GetString()!));
                keys[key[(Prefix.Length + "/subnets/".Length)..]] = kv.TryGetProperty("lease", out JsonElement lease) ? lease.GetInt64() : 0;
            }
        }

        return keys;
    }

    protected string? StoredValue(string key)
    {
        string value = Etcd.Etcdctl("get", "--print-value-only", key).EnsureSuccess().StdOut;
        return value.Length == 0 ? null : value.TrimEnd('\n');
    }
}
