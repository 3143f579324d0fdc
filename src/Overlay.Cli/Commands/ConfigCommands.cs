using System.Text;
using Overlay.Cli.Output;
using Overlay.Core.Addressing;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Leases;
using Overlay.Leases.Services;
using Overlay.Leases.Store;

namespace Overlay.Cli.Commands;

/// <summary><c>overlayctl config ...</c>: get, set, validate. Validation is the daemon's own (<see cref="NetworkConfigParser"/>).</summary>
internal static class ConfigCommands
{
    public static async Task<int> GetAsync(CliContext c, CancellationToken ct)
    {
        string json = await c.Store.GetConfigJsonAsync(ct) ?? throw Missing(c);
        bool valid = NetworkConfigParser.TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors);
        if (c.Output == "json")
        {
            if (!valid)
            {
                throw new CommandFailedException(Invalid($"the config stored at {c.Store.Session.ConfigKey}", errors) + "\nfix it with 'overlayctl config set FILE'; 'overlayctl config get' prints it as stored");
            }

            c.Out.Write(Json.Document(ConfigView.ToJson(config!)));
            return 0;
        }

        c.Out.Write(json.EndsWith('\n') ? json : json + "\n");
        if (!valid)
        {
            c.Warn(Invalid("this config", errors) + "\nnodes will wait until it is fixed; fix it with 'overlayctl config set FILE'");
        }

        return 0;
    }

    public static async Task<int> SetAsync(CliContext c, CancellationToken ct)
    {
        (string source, string json) = await ReadAsync(c, c.Arguments[0], ct);
        if (!NetworkConfigParser.TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors))
        {
            throw new CommandFailedException(Invalid(source, errors) + "\nnothing was written");
        }

        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: false, ct);
        List<Lease> stranded = LeaseView.Sorted(snapshot.Leases.Where(l => !SubnetAllocator.Fits(config, l.Subnet))).ToList();
        if (stranded.Count > 0 && !c.Flag(CommandLine.Flags.Force))
        {
            throw new CommandFailedException(
                $"the new config would strand {Leases(stranded.Count)} outside it ({ConfigView.Summary(config)}):\n{Listing(stranded)}"
                + "their nodes would give them up and take new subnets when they restart, changing their pods' addresses "
                + "(reservations stay until released). Nothing was written; pass --force to write it anyway");
        }

        // Services keep their ClusterIPs: a new service network must still hold every one of them.
        IReadOnlyList<HeldClusterIP> held = await c.Services.ListClusterIPsAsync(ct);
        List<HeldClusterIP> outside = held.Where(h => !ServiceNetworkChecks.InServiceNetwork(config, h.Address))
            .OrderBy(h => h.Address.AddressFamily).ThenBy(h => IPAddressMath.ToUInt128(h.Address)).ToList();
        if (outside.Count > 0 && !c.Flag(CommandLine.Flags.Force))
        {
            throw new CommandFailedException(
                $"the new config would leave {ClusterIPs(outside.Count)} outside its service network ({ServiceRanges(config)}):\n{Listing(outside)}"
                + "their services would stop working on every node. Nothing was written; remove those services first ('overlayctl service rm'), "
                + "keep a service network that holds them, or pass --force to write it anyway");
        }

        await c.Store.PutConfigJsonAsync(json, ct);
        c.Out.Write($"config written to {c.Store.Session.ConfigKey}: {ConfigView.Summary(config)}\n");
        if (stranded.Count > 0)
        {
            c.Warn($"{Leases(stranded.Count)} now outside the config (written with --force):\n{Listing(stranded)}".TrimEnd('\n'));
        }

        if (outside.Count > 0)
        {
            c.Warn($"{ClusterIPs(outside.Count)} now outside the service network (written with --force):\n{Listing(outside)}".TrimEnd('\n'));
        }

        return 0;
    }

    public static async Task<int> ValidateAsync(CliContext c, CancellationToken ct)
    {
        (string source, string json) = await ReadAsync(c, c.Arguments[0], ct);
        bool valid = NetworkConfigParser.TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors);
        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(new ValidationJson(valid, config is null ? null : ConfigView.ToJson(config), errors.Select(e => new ConfigErrorJson(e.Field, e.Message)).ToList())));
            return valid ? 0 : 1;
        }

        if (!valid)
        {
            throw new CommandFailedException(Invalid(source, errors));
        }

        c.Out.Write($"{source} is valid: {ConfigView.Summary(config!)}\n");
        return 0;
    }

    /// <summary>The stored config, or a failure saying it is missing or invalid and what needs it.</summary>
    public static async Task<NetworkConfig> StoredConfigAsync(CliContext c, string why, CancellationToken ct)
    {
        string json = await c.Store.GetConfigJsonAsync(ct) ?? throw Missing(c, why);
        return NetworkConfigParser.TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors)
            ? config
            : throw new CommandFailedException(Invalid($"the config stored at {c.Store.Session.ConfigKey}", errors) + "\nfix it with 'overlayctl config set FILE'");
    }

    /// <summary>"invalid network config in FILE:" and one indented line per error, each naming field and value.</summary>
    public static string Invalid(string source, IReadOnlyList<NetworkConfigError> errors)
    {
        var text = new StringBuilder($"invalid network config in {source}:");
        foreach (NetworkConfigError error in errors)
        {
            text.Append($"\n  {error}");
        }

        return text.ToString();
    }

    private static CommandFailedException Missing(CliContext c, string? why = null) =>
        new($"there is no network config at {c.Store.Session.ConfigKey}{(why is null ? "" : $" ({why})")}; store one with 'overlayctl config set FILE' (see docs/configuration.md), or check --etcd-prefix");

    private static async Task<(string Source, string Json)> ReadAsync(CliContext c, string path, CancellationToken ct)
    {
        if (path == "-")
        {
            return ("stdin", await c.In.ReadToEndAsync(ct));
        }

        if (Directory.Exists(path))
        {
            throw new CommandFailedException($"cannot read config file '{path}': it is a folder; give the path of a JSON file, or - to read stdin");
        }

        try
        {
            return (path, await File.ReadAllTextAsync(path, ct));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"cannot read config file '{path}': {ReadProblem(path, e)}; give the path of a JSON file, or - to read stdin");
        }
    }

    /// <summary>Why a file could not be read, in a sentence of our own (.NET's messages end in a full stop and name the full path).</summary>
    private static string ReadProblem(string path, Exception e) => e switch
    {
        FileNotFoundException => Path.IsPathRooted(path) ? "no such file" : $"no such file (looked for {Path.GetFullPath(path)})",
        DirectoryNotFoundException => $"its folder {Path.GetDirectoryName(Path.GetFullPath(path))} does not exist",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message.TrimEnd('.'),
    };

    private static string ClusterIPs(int count) => count == 1 ? "1 ClusterIP" : $"{count} ClusterIPs";

    private static string ServiceRanges(NetworkConfig config) =>
        config.ServiceNetwork is null ? "the config has no ServiceNetwork"
        : config.ServiceIPv6Network is { } v6 ? $"ServiceNetwork {config.ServiceNetwork}, ServiceIPv6Network {v6}"
        : $"ServiceNetwork {config.ServiceNetwork}";

    private static string Listing(IEnumerable<HeldClusterIP> held)
    {
        var text = new StringBuilder();
        foreach (HeldClusterIP ip in held)
        {
            text.Append($"  {ip.Address} held by service {ip.Owner}\n");
        }

        return text.ToString();
    }

    private static string Leases(int count) => count == 1 ? "1 lease" : $"{count} leases";

    private static string Listing(IEnumerable<Lease> leases)
    {
        var text = new StringBuilder();
        foreach (Lease lease in leases)
        {
            text.Append($"  {lease.Subnet.ToString().Replace('-', '/')} held by {LeaseView.Holder(lease)}{(lease.IsReservation ? " (reservation)" : "")}\n");
        }

        return text.ToString();
    }
}
