using System.Diagnostics.CodeAnalysis;

namespace Overlay.Core.Services;

/// <summary>
/// Reads one etcd entry under <c>&lt;prefix&gt;/services/</c> as a service, or says why it is not one: the key must
/// be <c>&lt;namespace&gt;/&lt;name&gt;</c>, the value a valid service (<see cref="ServiceCodec"/>) naming that same
/// namespace and name. The registry's list and a watcher of the prefix read entries the same way.
/// </summary>
public static class ServiceEntries
{
    /// <param name="prefix">The etcd prefix without a trailing slash, e.g. <c>/coreos.com/network</c>.</param>
    public static bool TryParse(string prefix, string key, string value, [NotNullWhen(true)] out ServiceSpec? spec, out string reason)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        spec = null;
        if (!RegistryKeys.TrySplit(key, RegistryKeys.ServicesPrefix(prefix), out string @namespace, out string name))
        {
            reason = "not a service key: expected <prefix>/services/<namespace>/<name>";
            return false;
        }

        if (!ServiceCodec.TryParse(value, out ServiceSpec? read, out string why))
        {
            reason = $"bad service value: {why}";
            return false;
        }

        if (read.Namespace != @namespace || read.Name != name)
        {
            reason = $"the value names service {read.FullName}, not {@namespace}/{name}";
            return false;
        }

        spec = read;
        reason = "";
        return true;
    }
}
