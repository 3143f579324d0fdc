using System.Net;

namespace Overlay.Core.Services;

/// <summary>
/// Where the service registry lives in etcd, beside (never under) flannel's <c>&lt;prefix&gt;/subnets/</c>:
/// <list type="bullet">
/// <item><c>&lt;prefix&gt;/services/&lt;namespace&gt;/&lt;name&gt;</c>: the service (JSON)</item>
/// <item><c>&lt;prefix&gt;/clusterips/&lt;address&gt;</c>: <c>&lt;namespace&gt;/&lt;name&gt;</c> of the service holding that ClusterIP</item>
/// <item><c>&lt;prefix&gt;/pods/&lt;namespace&gt;/&lt;name&gt;</c>: a pod (JSON), bound to its node's etcd lease</item>
/// </list>
/// <paramref name="prefix"/> is given without a trailing slash (<c>/coreos.com/network</c>).
/// </summary>
public static class RegistryKeys
{
    public static string ServicesPrefix(string prefix) => prefix + "/services/";

    public static string Service(string prefix, string @namespace, string name) => $"{ServicesPrefix(prefix)}{@namespace}/{name}";

    public static string ClusterIPsPrefix(string prefix) => prefix + "/clusterips/";

    public static string ClusterIP(string prefix, IPAddress address) => ClusterIPsPrefix(prefix) + address;

    public static string PodsPrefix(string prefix) => prefix + "/pods/";

    public static string Pod(string prefix, string @namespace, string name) => $"{PodsPrefix(prefix)}{@namespace}/{name}";

    /// <summary>Splits the <c>&lt;namespace&gt;/&lt;name&gt;</c> after <paramref name="folder"/>; false when the key has another shape.</summary>
    public static bool TrySplit(string key, string folder, out string @namespace, out string name)
    {
        @namespace = name = "";
        if (!key.StartsWith(folder, StringComparison.Ordinal))
        {
            return false;
        }

        string rest = key[folder.Length..];
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1 || rest.IndexOf('/', slash + 1) >= 0)
        {
            return false;
        }

        @namespace = rest[..slash];
        name = rest[(slash + 1)..];
        return true;
    }
}
