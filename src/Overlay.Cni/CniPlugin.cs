using Overlay.Cni.Config;
using Overlay.Cni.Delegation;
using Overlay.Cni.Protocol;

namespace Overlay.Cni;

/// <summary>
/// One CNI invocation: ADD renders the delegate config from subnet.env, keeps it in dataDir and runs the
/// delegate; CHECK and DEL run the delegate with the config kept at ADD time. Failures go to stdout as CNI
/// error JSON with exit code 1.
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
        // Saved before the delegate runs: if it fails halfway, the runtime's DEL still finds what to undo.
        store.Save(request.ContainerId, delegateJson);
        return RunDelegate(request, "ADD", delegateJson, config, stderr);
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
        // Nothing stored: never added here, or deleted already. DEL must succeed then.
        if (store.Load(request.ContainerId) is not { } delegateJson)
        {
            return null;
        }

        RunDelegate(request, "DEL", delegateJson, config, stderr);
        store.Remove(request.ContainerId);
        return null;
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
