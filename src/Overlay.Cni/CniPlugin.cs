using Overlay.Cni.Config;
using Overlay.Cni.Delegation;
using Overlay.Cni.Pods;
using Overlay.Cni.Protocol;
using Overlay.Core.Leases;
using Overlay.Core.Services;

namespace Overlay.Cni;

/// <summary>
/// One CNI invocation: ADD renders the delegate config from subnet.env, keeps it in dataDir and runs the
/// delegate; CHECK and DEL run the delegate with the config kept at ADD time. A Kubernetes pod (K8S_POD_NAMESPACE
/// and K8S_POD_NAME in CNI_ARGS) also gets its record in the pods folder on ADD, removed on DEL, which the node's
/// overlayd publishes to etcd. Failures go to stdout as CNI error JSON with exit code 1.
/// </summary>
public static class CniPlugin
{
    public static int Run(Func<string, string?> environment, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        string cniVersion = CniVersions.Latest;
        try
        {
            CniRequest request = CniRequest.FromEnvironment(environment);
            if (request.Command == CniCommand.Version)
            {
                stdout.WriteLine(CniVersions.VersionInfoJson());
                return 0;
            }

            NetworkConfig config = NetworkConfig.Parse(stdin.ReadToEnd());
            cniVersion = config.CniVersion;
            var store = new DelegateStore(config.DataDir);
            string? result = request.Command switch
            {
                CniCommand.Add => Add(request, config, store, stderr),
                CniCommand.Check => Check(request, config, store, stderr),
                _ => Del(request, config, store, stderr),
            };
            if (result is not null)
            {
                stdout.Write(result);
            }

            return 0;
        }
        catch (CniException e)
        {
            stdout.WriteLine(CniError.ToJson(cniVersion, e));
            return 1;
        }
        catch (DelegateErrorException e)
        {
            stdout.Write(e.ErrorJson);
            return 1;
        }
        catch (Exception e)
        {
            // A bug of ours: still an answer the runtime can parse and log, rather than a bare stack trace.
            stdout.WriteLine(CniError.ToJson(cniVersion, CniErrorCode.Internal, $"internal error: {e.Message}", e.ToString()));
            return 1;
        }
    }

    private static string Add(CniRequest request, NetworkConfig config, DelegateStore store, TextWriter stderr)
    {
        NodeSubnet subnet = NodeSubnet.Read(config.SubnetFile);
        string delegateJson = DelegateConfig.Render(config, subnet);

        // Checked before anything is made, so that a bad name or label leaves nothing to undo.
        PodIdentity? pod = PodIdentity.FromCniArgs(request.Args);
        IReadOnlyDictionary<string, string> labels = PodLabelArgs.Read(config.Args);

        // Saved before the delegate runs: if it fails halfway, the runtime's DEL still finds what to undo.
        store.Save(request.ContainerId, delegateJson);
        string result = RunDelegate(request, "ADD", delegateJson, config, stderr);
        if (pod is not null)
        {
            WritePod(request, config, subnet, pod, labels, result, stderr);
        }

        return result;
    }

    private static void WritePod(CniRequest request, NetworkConfig config, NodeSubnet subnet, PodIdentity pod, IReadOnlyDictionary<string, string> labels, string result, TextWriter stderr)
    {
        IReadOnlyList<System.Net.IPAddress> addresses = PodFile.AddressesOf(result);
        if (addresses.Count == 0)
        {
            stderr.WriteLine($"overlay: the delegate's result has no address; pod {pod.Namespace}/{pod.Name} is not recorded in {config.PodsDir}");
            return;
        }

        var record = new PodRecord
        {
            Namespace = pod.Namespace,
            Name = pod.Name,
            Node = new SubnetKey(subnet.Subnet, subnet.IPv6Subnet).ToString(),
            Addresses = addresses,
            Labels = labels,
        };
        new PodFile(config.PodsDir, config.DataDir).Write(request.ContainerId, pod, record);
    }

    private static string? Check(CniRequest request, NetworkConfig config, DelegateStore store, TextWriter stderr)
    {
        if (!CniVersions.SupportsCheck(config.CniVersion))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion, $"CHECK needs cniVersion 0.4.0 or later, the config has {config.CniVersion}");
        }

        string delegateJson = store.Load(request.ContainerId)
            ?? throw new CniException(CniErrorCode.UnknownContainer,
                $"container {request.ContainerId} is unknown: there is no delegate config at {store.PathOf(request.ContainerId)}");
        RunDelegate(request, "CHECK", delegateJson, config, stderr);
        return null;
    }

    private static string? Del(CniRequest request, NetworkConfig config, DelegateStore store, TextWriter stderr)
    {
        // The pod leaves the registry first: its endpoints stop taking connections before its interface goes.
        new PodFile(config.PodsDir, config.DataDir).Remove(request.ContainerId, PodIdentityOrNull(request.Args));

        // Nothing stored: never added here, or deleted already. DEL must succeed then.
        if (store.Load(request.ContainerId) is not { } delegateJson)
        {
            return null;
        }

        RunDelegate(request, "DEL", delegateJson, config, stderr);
        store.Remove(request.ContainerId);
        return null;
    }

    /// <summary>DEL must not fail over a name ADD would have refused: such a pod has no file.</summary>
    private static PodIdentity? PodIdentityOrNull(string? args)
    {
        try
        {
            return PodIdentity.FromCniArgs(args);
        }
        catch (CniException)
        {
            return null;
        }
    }

    private static string RunDelegate(CniRequest request, string command, string delegateJson, NetworkConfig config, TextWriter stderr)
    {
        string type = DelegateType(delegateJson);
        string executable = DelegatePlugin.Find(type, request.Path);
        return DelegatePlugin.Invoke(executable, command, DelegateConfig.WithPrevResult(delegateJson, config.PrevResult), stderr);
    }

    private static string DelegateType(string delegateJson)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(delegateJson);
            return document.RootElement.TryGetProperty("type", out var type) && type.ValueKind == System.Text.Json.JsonValueKind.String
                ? type.GetString()!
                : throw new CniException(CniErrorCode.InvalidNetworkConfig, "the delegate config has no \"type\"");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new CniException(CniErrorCode.DecodeFailure, "the stored delegate config is not valid JSON", e.Message);
        }
    }
}
