using System.Text.Json;
using System.Text.Json.Nodes;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Plugin;

/// <summary>
/// A node namespace, a subnet.env written by the test, and temp folders for the plugin's dataDir and
/// host-local's dataDir (never /var/lib/cni). Pod namespaces are added per container.
/// </summary>
internal sealed class PodNetwork : IDisposable
{
    public const string NetworkName = "podnet";

    public const string SubnetEnvText = "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n";

    private readonly Dictionary<string, NetNs> _pods = new(StringComparer.Ordinal);

    public PodNetwork()
    {
        Lab = NetworkLab.Create();
        Folder = Directory.CreateTempSubdirectory($"ovt-cni-{Environment.ProcessId}-").FullName;
        try
        {
            Node = Lab.AddNamespace("node");
            File.WriteAllText(SubnetFile, SubnetEnvText);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetworkLab Lab { get; }

    public NetNs Node { get; }

    public string Folder { get; }

    public string SubnetFile => Path.Combine(Folder, "subnet.env");

    public string DataDir => Path.Combine(Folder, "flannel");

    public string IpamDataDir => Path.Combine(Folder, "networks");

    /// <summary>The overlay plugin's own member of a config or conflist, with every path in the temp folder.</summary>
    public JsonObject PluginMember(JsonObject? delegateMembers = null)
    {
        var member = new JsonObject
        {
            ["type"] = "overlay",
            ["subnetFile"] = SubnetFile,
            ["dataDir"] = DataDir,
            ["ipam"] = new JsonObject { ["dataDir"] = IpamDataDir },
        };
        if (delegateMembers is not null)
        {
            member["delegate"] = delegateMembers;
        }

        return member;
    }

    public string Config(string cniVersion = "1.0.0", JsonElement? prevResult = null)
    {
        JsonObject config = PluginMember();
        config["cniVersion"] = cniVersion;
        config["name"] = NetworkName;
        if (prevResult is { } previous)
        {
            config["prevResult"] = JsonNode.Parse(previous.GetRawText());
        }

        return config.ToJsonString();
    }

    public NetNs Pod(string containerId)
    {
        if (!_pods.TryGetValue(containerId, out NetNs? pod))
        {
            pod = Lab.AddNamespace(containerId);
            _pods[containerId] = pod;
        }

        return pod;
    }

    public string PodsDir => Path.Combine(Folder, "pods");

    public CniOutcome Run(string command, string containerId, string? config = null, string cniArgs = "") =>
        CniInvocation.Run(CniInvocation.Overlay, command, config ?? Config(), containerId, Node, Pod(containerId).Path, cniArgs: cniArgs);

    /// <summary>The addresses host-local holds for this network (its files named by IP).</summary>
    public IReadOnlyList<string> ReservedAddresses()
    {
        string folder = Path.Combine(IpamDataDir, NetworkName);
        return Directory.Exists(folder)
            ? Directory.GetFiles(folder).Select(Path.GetFileName).Where(n => n!.StartsWith("198.", StringComparison.Ordinal)).Select(n => n!).ToArray()
            : [];
    }

    public void Dispose()
    {
        Lab.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
