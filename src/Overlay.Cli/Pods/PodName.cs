namespace Overlay.Cli.Pods;

/// <summary>
/// A pod's name names its network namespace (/run/netns/NAME), its folder under /etc/netns, its CNI container id
/// and its host name, so it is a DNS label: lower-case letters, digits and '-', at most 63.
/// </summary>
public static class PodName
{
    public static void Check(string name)
    {
        if (name.Contains('.', StringComparison.Ordinal) || !HostNames.IsDnsSubdomain(name))
        {
            throw new InvalidPodSpecException($"pod name '{name}' is not a DNS label; use 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit");
        }
    }
}
