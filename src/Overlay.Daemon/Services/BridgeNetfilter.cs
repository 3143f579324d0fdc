using Overlay.Core.Processes;

namespace Overlay.Daemon.Services;

/// <summary>
/// Makes bridged traffic pass through netfilter, so a connection from a pod to a ClusterIP whose endpoint is on
/// the same bridge is DNATed and its reply un-NATed: <c>net.bridge.bridge-nf-call-iptables=1</c> (and
/// <c>-ip6tables</c> in dual stack). These sysctls belong to the network namespace (kernel 6.18: a new namespace
/// starts with 1, and setting one namespace's leaves the others' alone), so this sets the current namespace's.
/// </summary>
public sealed class BridgeNetfilter
{
    public const string DefaultFolder = "/proc/sys/net/bridge";

    private readonly string _folder;
    private readonly string? _modprobe;

    /// <param name="folder">Where the sysctls live (tests point it elsewhere).</param>
    /// <param name="modprobe">The program that loads br_netfilter when the folder is missing; null: do not try.</param>
    public BridgeNetfilter(string folder = DefaultFolder, string? modprobe = "modprobe")
    {
        _folder = folder;
        _modprobe = modprobe;
    }

    /// <summary>
    /// Sets the sysctls to 1 (IPv4 always, IPv6 when <paramref name="ipv6"/>); loads br_netfilter first when they do
    /// not exist. Returns the sysctls it changed. Throws <see cref="BridgeNetfilterException"/> saying what to enable.
    /// </summary>
    public async Task<IReadOnlyList<string>> EnableAsync(bool ipv6, CancellationToken ct)
    {
        if (!Directory.Exists(_folder) && _modprobe is not null)
        {
            try
            {
                await ChildProcess.RunAsync(_modprobe, ["br_netfilter"], timeout: TimeSpan.FromSeconds(30), ct: ct);
            }
            catch (ChildProcessException)
            {
                // No modprobe, or it failed: the message below says what to do.
            }
        }

        if (!Directory.Exists(_folder))
        {
            throw new BridgeNetfilterException(
                $"{_folder} does not exist: the br_netfilter module is not loaded, so connections to a service whose endpoint is on this node's bridge would not be NATed; load it (modprobe br_netfilter, or br_netfilter in /etc/modules-load.d/) or build the kernel with CONFIG_BRIDGE_NETFILTER");
        }

        var changed = new List<string>();
        foreach (string name in ipv6 ? new[] { "bridge-nf-call-iptables", "bridge-nf-call-ip6tables" } : ["bridge-nf-call-iptables"])
        {
            string path = Path.Combine(_folder, name);
            try
            {
                if ((await File.ReadAllTextAsync(path, ct)).Trim() == "1")
                {
                    continue;
                }

                await File.WriteAllTextAsync(path, "1\n", ct);
                changed.Add($"net.bridge.{name}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new BridgeNetfilterException(
                    $"cannot set net.bridge.{name}=1 ({path}: {e.Message}); set it (sysctl -w net.bridge.{name}=1, or in /etc/sysctl.d/) so bridged traffic to services passes netfilter", e);
            }
        }

        return changed;
    }
}

/// <summary>Bridged traffic cannot be made to pass netfilter; the message says what to enable.</summary>
public sealed class BridgeNetfilterException : Exception
{
    public BridgeNetfilterException()
    {
    }

    public BridgeNetfilterException(string message)
        : base(message)
    {
    }

    public BridgeNetfilterException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
