using System.Text.Json;
using System.Text.Json.Nodes;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Plugin;

/// <summary>
/// A network configuration list run the way a runtime (libcni) runs it, since Debian has no cnitool: ADD and
/// CHECK go through the plugins in order, DEL in reverse; each plugin gets the list's cniVersion and name, the
/// previous result as prevResult, and the runtime arguments its capabilities ask for as runtimeConfig.
/// </summary>
internal sealed class Conflist(string name, IReadOnlyList<JsonObject> plugins, JsonObject runtimeArguments, string cniVersion = "1.0.0")
{
    public CniOutcome Add(string containerId, NetNs node, NetNs pod)
    {
        JsonElement? result = null;
        CniOutcome outcome = new(0, "", "");
        foreach (JsonObject plugin in plugins)
        {
            outcome = Invoke("ADD", plugin, result, containerId, node, pod);
            if (outcome.ExitCode != 0)
            {
                return outcome;
            }

            result = outcome.Json;
        }

        return outcome;
    }

    /// <summary>CHECK of every plugin, by type (a runtime stops at the first failure; tests want to see each).</summary>
    public IReadOnlyDictionary<string, CniOutcome> Check(string containerId, NetNs node, NetNs pod, JsonElement result) =>
        plugins.ToDictionary(p => p["type"]!.GetValue<string>(), p => Invoke("CHECK", p, result, containerId, node, pod), StringComparer.Ordinal);

    public CniOutcome Del(string containerId, NetNs node, NetNs pod, JsonElement result) =>
        plugins.Reverse().Select(p => Invoke("DEL", p, result, containerId, node, pod)).FirstOrDefault(o => o.ExitCode != 0) ?? new CniOutcome(0, "", "");

    private CniOutcome Invoke(string command, JsonObject plugin, JsonElement? prevResult, string containerId, NetNs node, NetNs pod)
    {
        var config = (JsonObject)plugin.DeepClone();
        config["cniVersion"] = cniVersion;
        config["name"] = name;
        if (prevResult is { } previous)
        {
            config["prevResult"] = JsonNode.Parse(previous.GetRawText());
        }

        var runtimeConfig = new JsonObject();
        if (plugin["capabilities"] is JsonObject capabilities)
        {
            foreach (var (capability, enabled) in capabilities)
            {
                if (enabled?.GetValue<bool>() == true && runtimeArguments[capability] is { } argument)
                {
                    runtimeConfig[capability] = argument.DeepClone();
                }
            }
        }

        if (runtimeConfig.Count > 0)
        {
            config["runtimeConfig"] = runtimeConfig;
        }

        string type = plugin["type"]!.GetValue<string>();
        string executable = CniInvocation.CniPath.Split(':').Select(folder => Path.Combine(folder, type)).First(File.Exists);
        return CniInvocation.Run(executable, command, config.ToJsonString(), containerId, node, pod.Path);
    }
}
