using System.Net;
using Overlay.Core.Services;

namespace Overlay.Daemon.Services;

/// <summary>What the service catalog tells cluster DNS: services and pods as they change (see <see cref="ServiceCatalog.FeedZone"/>).</summary>
public interface IClusterZoneFeed
{
    /// <summary>A service added or changed; <paramref name="endpoints"/> are its endpoints' addresses when it is headless, else empty.</summary>
    void SetService(ServiceSpec service, IReadOnlyList<IPAddress> endpoints);

    void RemoveService(string ns, string name);

    void SetPod(PodRecord pod);

    void RemovePod(string ns, string name);
}
