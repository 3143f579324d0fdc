using System.Net;
using System.Text.Json;
using Overlay.Cli.Commands;
using Overlay.Core.Processes;
using Overlay.Netlink;

namespace Overlay.Cli.Pods;

/// <summary>
/// The addresses a CNI ADD gave the pod: the first (CIDR, address, gateway), which the pod's record keeps, and
/// every address in the result's order (both families on a dual-stack node), which its hosts file names.
/// </summary>
internal sealed record CniAddress(string Address, IPAddress Ip, string? Gateway)
{
    public IReadOnlyList<IPAddress> Ips { get; init; } = [Ip];
}

/// <summary>
/// Runs the CNI plugin as a container runtime does: the command and the container in the environment, the
/// network config on stdin, the result (or a CNI error) on stdout. The plugin starts from a thread switched
/// into the node's network namespace, so the plugin, and the bridge it makes, live in the node.
/// </summary>
internal static class CniInvocation
{
    public const string PluginType = "overlay";
    public const string IfName = "eth0";
    public const string CniVersion = "1.0.0";
    public const string NetworkName = "overlay";

    /// <summary>The plugin's own default dataDir (flannel's folder).</summary>
    public const string DefaultDataDir = "/var/lib/cni/flannel";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>overlayctl's own folder first (the plugin ships beside it), then the usual plugin folders.</summary>
    public static string DefaultPath => string.Join(':', AppContext.BaseDirectory.TrimEnd('/'), "/opt/cni/bin", "/usr/lib/cni");

    /// <summary>
    /// The network config on the plugin's stdin: type "overlay" with the subnet file and the state folders, and the
    /// pod's labels as a runtime hands them in (the CNI conventions' <c>"args": {"cni": {"labels": [...]}}</c>).
    /// </summary>
    public static JsonElement NetworkConfig(string subnetFile, string dataDir, string? ipamDataDir, IReadOnlyDictionary<string, string>? labels = null)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("cniVersion", CniVersion);
            json.WriteString("name", NetworkName);
            json.WriteString("type", PluginType);
            json.WriteString("subnetFile", subnetFile);
            json.WriteString("dataDir", dataDir);

            // As kube-flannel.yml's delegate: a default route via the subnet's .1, so the pod reaches ClusterIPs
            // (the service network is not the pod network) and clients outside the cluster.
            json.WriteStartObject("delegate");
            json.WriteBoolean("isDefaultGateway", true);
            json.WriteEndObject();
            if (ipamDataDir is not null)
            {
                // Merged by the plugin over the host-local IPAM it generates.
                json.WriteStartObject("ipam");
                json.WriteString("dataDir", ipamDataDir);
                json.WriteEndObject();
            }

            if (labels is { Count: > 0 })
            {
                json.WriteStartObject("args");
                json.WriteStartObject("cni");
                json.WriteStartArray("labels");
                foreach ((string key, string value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
                {
                    json.WriteStartObject();
                    json.WriteString("key", key);
                    json.WriteString("value", value);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    public static string FindPlugin(string cniPath)
    {
        foreach (string folder in cniPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(folder, PluginType);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new CommandFailedException($"no CNI plugin '{PluginType}' in {cniPath}; install it there or point --cni-path at its folder");
    }

    public static async Task<CniAddress> AddAsync(PodRecord pod, CancellationToken ct)
    {
        string result = await InvokeAsync("ADD", pod, ct);
        return ParseResult(result);
    }

    public static Task DeleteAsync(PodRecord pod, CancellationToken ct) => InvokeAsync("DEL", pod, ct);

    /// <summary>The addresses of a CNI result ("ips": [{"address": "198.18.34.2/24", "gateway": ...}, ...]).</summary>
    public static CniAddress ParseResult(string result)
    {
        try
        {
            using var document = JsonDocument.Parse(result);
            if (document.RootElement.TryGetProperty("ips", out JsonElement ips) && ips.ValueKind == JsonValueKind.Array)
            {
                CniAddress? first = null;
                var all = new List<IPAddress>();
                foreach (JsonElement entry in ips.EnumerateArray())
                {
                    if (entry.ValueKind == JsonValueKind.Object
                        && entry.TryGetProperty("address", out JsonElement address) && address.ValueKind == JsonValueKind.String
                        && IPAddress.TryParse(address.GetString()!.Split('/')[0], out IPAddress? ip))
                    {
                        string? gateway = entry.TryGetProperty("gateway", out JsonElement g) && g.ValueKind == JsonValueKind.String ? g.GetString() : null;
                        first ??= new CniAddress(address.GetString()!, ip, gateway);
                        all.Add(ip);
                    }
                }

                if (first is not null)
                {
                    return first with { Ips = all };
                }
            }
        }
        catch (JsonException)
        {
        }

        throw new CommandFailedException($"the CNI plugin's ADD result holds no address: {result.Trim()}");
    }

    private static async Task<string> InvokeAsync(string command, PodRecord pod, CancellationToken ct)
    {
        string plugin = FindPlugin(pod.CniPath);
        var environment = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = pod.ContainerId,
            ["CNI_NETNS"] = pod.Netns,
            ["CNI_IFNAME"] = pod.IfName,
            ["CNI_PATH"] = pod.CniPath,
            ["CNI_ARGS"] = CniArgs(pod),
        };

        ChildProcessResult result;
        try
        {
            // A forked child inherits the namespace of the thread that forked it, not the process's main thread's.
            result = await ChildProcess.RunAsync(plugin, [], pod.NetworkConfig.GetRawText(), environment, Timeout, ct,
                startOn: start => NamedNetworkNamespace.Run(pod.NodeNetns, start));
        }
        catch (ChildProcessException e) when (e.Failure == ChildProcessFailure.NotStarted)
        {
            throw new CommandFailedException($"cannot start the CNI plugin {plugin}: {e.InnerException?.Message}", e);
        }
        catch (ChildProcessException e) when (e.Failure == ChildProcessFailure.TimedOut)
        {
            throw new CommandFailedException($"CNI {command} of pod {pod.Name}: {plugin} did not finish within {Timeout.TotalSeconds:0}s", e);
        }

        if (!result.Succeeded)
        {
            throw new CommandFailedException($"CNI {command} of pod {pod.Name} in {pod.Node} failed: {DescribeError(result.StandardOutput, result.StandardError)}");
        }

        return result.StandardOutput;
    }

    /// <summary>The pod as kubelet's runtimes name it, so the plugin records it in the pods folder for overlayd.</summary>
    public static string CniArgs(PodRecord pod) =>
        $"IgnoreUnknown=1;K8S_POD_NAMESPACE={pod.NamespaceOrDefault};K8S_POD_NAME={pod.Name};K8S_POD_INFRA_CONTAINER_ID={pod.ContainerId}";

    /// <summary>A CNI error's msg and details ({"code":7,"msg":"...","details":"..."}), else what the plugin printed.</summary>
    private static string DescribeError(string stdout, string stderr)
    {
        try
        {
            using var document = JsonDocument.Parse(stdout);
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("msg", out JsonElement msg))
            {
                string text = msg.GetString() ?? "";
                if (root.TryGetProperty("details", out JsonElement details) && details.GetString() is { Length: > 0 } more)
                {
                    text += " (" + more + ")";
                }

                if (root.TryGetProperty("code", out JsonElement code))
                {
                    text += $" [CNI error {code.GetRawText()}]";
                }

                return text;
            }
        }
        catch (JsonException)
        {
        }

        string printed = (stdout + stderr).Trim();
        return printed.Length == 0 ? "the plugin exited with an error and printed nothing" : printed;
    }
}
