using System.Text.Json;
using Overlay.Cni.Config;
using Overlay.Cni.Pods;
using Overlay.Cni.Protocol;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Fuzzing;

/// <summary>One plugin invocation: the environment's command, container id and CNI_ARGS, stdin, and the subnet.env on disk.</summary>
public sealed record CniFuzzInput(string Command, string ContainerId, string Args, string Config, string SubnetEnv)
{
    public override string ToString() =>
        $"CNI_COMMAND={Quote(Command)} CNI_CONTAINERID={Quote(ContainerId)} CNI_ARGS={Quote(Args)}\n  stdin: {Quote(Config)}\n  subnet.env: {Quote(SubnetEnv)}";

    private static string Quote(string text) => JsonSerializer.Serialize(text);
}

/// <summary>
/// The CNI plugin as a runtime drives it, with what the runtime hands in (stdin: the network config with args,
/// delegate, ipam, runtimeConfig and prevResult; CNI_ARGS; the container id) and what overlayd left on disk
/// (subnet.env) mutated. CNI_PATH is an empty folder, so an ADD that passes every check ends at "delegate not
/// found" (code 101) having parsed everything. The property: exit 0 with a result or nothing, or exit 1 with CNI
/// error JSON whose code is a documented one, never 999 (the plugin's own catch-all for an exception it did not
/// expect, which carries a stack trace in "details"). The config's file and folder settings are kept inside the
/// target's folder, so a mutated path never makes the plugin write elsewhere.
/// </summary>
public sealed class CniFuzzTarget
{
    private static readonly string[] ArgsSeeds =
    [
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=abc",
        "K8S_POD_NAMESPACE=default;K8S_POD_NAME=db-0",
        "",
        "IgnoreUnknown=true",
    ];

    private static readonly string[] ArgsTokens = [";", "=", "==", " ", "K8S_POD_NAMESPACE=", "K8S_POD_NAME=", "\0", "_", ".", "-", "..", "/", "A", "\u00e9", new string('a', 70)];

    private static readonly string[] ConfigTokens =
    [
        "\"", "{", "}", "[", "]", ",", ":", "null", "true", "0", "-1", "1e400", "\"\"", "{}", "[]", "\\u0000", "\\ud800", "\\udc00x",
        "\\\"", "\"cniVersion\":", "\"0.3.1\"", "\"0.4.0\"", "\"1.0.0\"", "\"9.9.9\"", "\"name\":", "\"type\":", "\"args\":",
        "\"cni\":", "\"labels\":", "\"key\":", "\"value\":", "\"delegate\":", "\"ipam\":", "\"prevResult\":", "\"ips\":", "\"address\":",
        "\"runtimeConfig\":", "\"portMappings\":", "\"ipMasq\":", "\"mtu\":", "\"hairpinMode\":", "\"isDefaultGateway\":", "/", "..",
    ];

    private static readonly string[] SubnetEnvSeeds =
    [
        "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n",
        "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_IPV6_NETWORK=2001:db8:1::/48\nFLANNEL_IPV6_SUBNET=2001:db8:1:22::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
    ];

    private static readonly string[] SubnetEnvTokens = ["\n", "=", "\"", "'", "#", "export ", "/", "/33", "\0", "-1", "0", "68", "65536", "maybe", "FLANNEL_IPV6_SUBNET=", "FLANNEL_MTU="];

    private static readonly string[] Commands = ["ADD", "ADD", "ADD", "DEL", "CHECK", "VERSION", "", "add", "GC", "STATUS"];

    private readonly string _folder;
    private readonly string _emptyPath;
    private readonly string[] _configSeeds;

    public CniFuzzTarget(string folder)
    {
        _folder = folder;
        _emptyPath = Path.Combine(folder, "cni-path");
        Directory.CreateDirectory(_emptyPath);
        string subnetFile = Path.Combine(folder, "subnet.env");
        string dataDir = Path.Combine(folder, "data");
        string podsDir = Path.Combine(folder, "pods");
        string paths = $"\"subnetFile\":\"{subnetFile}\",\"dataDir\":\"{dataDir}\",\"podsDir\":\"{podsDir}\"";
        _configSeeds =
        [
            $$$"""{"cniVersion":"1.0.0","name":"podnet","type":"overlay",{{{paths}}}}""",
            $$$"""{"cniVersion":"0.4.0","name":"podnet","type":"overlay",{{{paths}}},"args":{"cni":{"labels":[{"key":"app","value":"web"},{"key":"app.kubernetes.io/name","value":"web-1"}]}},"delegate":{"hairpinMode":true,"isDefaultGateway":true,"mtu":1400},"ipam":{"type":"host-local","routes":[{"dst":"198.51.100.0/24"}]}}""",
            $$$"""{"cniVersion":"0.3.1","name":"podnet","type":"overlay",{{{paths}}},"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"prevResult":{"cniVersion":"0.3.1","interfaces":[{"name":"eth0"}],"ips":[{"version":"4","address":"198.18.34.5/24","gateway":"198.18.34.1","interface":0}]}}""",
            $$$"""{"cniVersion":"1.0.0","name":"podnet","type":"overlay",{{{paths}}},"delegate":{"type":"bridge","ipMasq":false},"prevResult":{"ips":[{"address":"2001:db8:1:22::5/64"}]}}""",
        ];
        Target = new FuzzTarget<CniFuzzInput>("cni", Next, Check, i => i.ToString());
    }

    public FuzzTarget<CniFuzzInput> Target { get; }

    public IReadOnlyList<string> ConfigSeeds => _configSeeds;

    public CniFuzzInput Next(InputMutator mutator)
    {
        Random random = mutator.Random;
        string command = mutator.Pick(Commands);
        string containerId = random.Next(8) switch
        {
            0 => mutator.MutateText("ctr-1", ["ctr-1"], ["/", "..", "\0", " ", ".", "-", "_"], 2),
            1 => "",
            _ => "ctr-" + random.Next(4),
        };
        string args = random.Next(3) == 0 ? mutator.Pick(ArgsSeeds) : mutator.MutateText(mutator.Pick(ArgsSeeds), ArgsSeeds, ArgsTokens);
        string config = SafeConfig(mutator);
        string subnetEnv = random.Next(3) == 0 ? mutator.MutateText(mutator.Pick(SubnetEnvSeeds), SubnetEnvSeeds, SubnetEnvTokens) : mutator.Pick(SubnetEnvSeeds);
        return new CniFuzzInput(command, containerId, args, config, subnetEnv);
    }

    /// <summary>A mutated config whose file settings, if it parses, still lie in the folder (else another try).</summary>
    private string SafeConfig(InputMutator mutator)
    {
        while (true)
        {
            string config = mutator.Random.Next(6) == 0 ? mutator.Pick(_configSeeds) : mutator.MutateText(mutator.Pick(_configSeeds), _configSeeds, ConfigTokens);
            NetworkConfig parsed;
            try
            {
                parsed = NetworkConfig.Parse(config);
            }
            catch (Exception)
            {
                return config; // the plugin stops at the same point, before any file is touched
            }

            string?[] paths = [parsed.SubnetFile, parsed.DataDir, parsed.PodsDirSetting];
            if (paths.All(p => p is null || IsInside(p)))
            {
                return config;
            }
        }
    }

    private bool IsInside(string path)
    {
        try
        {
            return Path.GetFullPath(path).StartsWith(_folder + "/", StringComparison.Ordinal) && !path.Contains('\0', StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public FuzzVerdict Check(CniFuzzInput input)
    {
        File.WriteAllText(Path.Combine(_folder, "subnet.env"), input.SubnetEnv);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CNI_COMMAND"] = input.Command,
            ["CNI_CONTAINERID"] = input.ContainerId,
            ["CNI_NETNS"] = "/run/netns/ovt-fuzz-none",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = _emptyPath,
            ["CNI_ARGS"] = input.Args,
        };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = CniPlugin.Run(name => environment.GetValueOrDefault(name), new StringReader(input.Config), stdout, stderr);
        return Judge(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The property every run must have, in process or as a process.</summary>
    public static FuzzVerdict Judge(int exit, string stdout, string stderr)
    {
        if (stderr.Contains("Unhandled exception", StringComparison.Ordinal) || stderr.Contains("   at ", StringComparison.Ordinal))
        {
            throw new FuzzPropertyException($"a stack trace on stderr: {stderr}");
        }

        if (exit == 0)
        {
            if (stdout.Length > 0)
            {
                using var document = JsonDocument.Parse(stdout); // a result (VERSION) is JSON
            }

            return FuzzVerdict.Accepted;
        }

        if (exit != 1)
        {
            throw new FuzzPropertyException($"exit code {exit}; stdout: {stdout}; stderr: {stderr}");
        }

        using (var error = JsonDocument.Parse(stdout))
        {
            JsonElement root = error.RootElement;
            if (!root.TryGetProperty("code", out JsonElement code) || code.ValueKind != JsonValueKind.Number
                || !root.TryGetProperty("msg", out JsonElement msg) || msg.ValueKind != JsonValueKind.String || msg.GetString()!.Length == 0)
            {
                throw new FuzzPropertyException($"not CNI error JSON with code and msg: {stdout}");
            }

            if (code.GetInt32() == (int)CniErrorCode.Internal)
            {
                throw new FuzzPropertyException($"the catch-all for an unexpected exception: {msg.GetString()}");
            }
        }

        return FuzzVerdict.Rejected;
    }

    /// <summary>The delegate's result, read for the pod record's addresses: anything it prints gives addresses or none.</summary>
    public static FuzzTarget<string> DelegateResults { get; } = new("cni-result", NextResult, CheckResult, s => JsonSerializer.Serialize(s));

    private static readonly string[] ResultSeeds =
    [
        """{"cniVersion":"1.0.0","interfaces":[{"name":"cni0"},{"name":"veth1"},{"name":"eth0","sandbox":"/run/netns/p"}],"ips":[{"address":"198.18.34.5/24","gateway":"198.18.34.1","interface":2}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}""",
        """{"cniVersion":"0.3.1","ips":[{"version":"4","address":"198.18.34.6/24"},{"version":"6","address":"2001:db8:1:22::6/64"}]}""",
    ];

    private static string NextResult(InputMutator mutator) => mutator.MutateText(mutator.Pick(ResultSeeds), ResultSeeds, ConfigTokens);

    private static FuzzVerdict CheckResult(string result) =>
        PodFile.AddressesOf(result).Count > 0 ? FuzzVerdict.Accepted : FuzzVerdict.Rejected;

    /// <summary>CNI_ARGS alone: pairs read, and a pod identity, none, or the documented CNI error.</summary>
    public static FuzzTarget<string> CniArgs { get; } = new("cni-args", NextArgs, CheckArgs, s => JsonSerializer.Serialize(s));

    private static string NextArgs(InputMutator mutator) => mutator.MutateText(mutator.Pick(ArgsSeeds), ArgsSeeds, ArgsTokens);

    private static FuzzVerdict CheckArgs(string args)
    {
        _ = PodIdentity.Parse(args);
        try
        {
            return PodIdentity.FromCniArgs(args) is null ? FuzzVerdict.Rejected : FuzzVerdict.Accepted;
        }
        catch (CniException e) when (e.Code == CniErrorCode.InvalidEnvironment)
        {
            return FuzzVerdict.Rejected;
        }
    }
}
