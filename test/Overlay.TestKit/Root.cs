using NUnit.Framework;

namespace Overlay.TestKit;

/// <summary>
/// Network namespaces, veths and etcd in namespaces need root; without it tests are skipped, or fail under CI=true
/// (<see cref="Requirement.Unmet"/>).
/// </summary>
public static class Root
{
    public static bool IsRoot { get; } = ReadEffectiveUid() == 0;

    public static void Require()
    {
        if (!IsRoot)
        {
            Requirement.Unmet("needs root (network namespaces, netlink); run the tests as root");
        }
    }

    // /proc/self/status "Uid:" holds real, effective, saved and filesystem uid; the effective one decides.
    private static int ReadEffectiveUid()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return -1;
    }
}
