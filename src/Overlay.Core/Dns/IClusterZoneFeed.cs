using System.Net;
using Overlay.Core.Services;

namespace Overlay.Core.Dns;

/// <summary>
/// How the service catalog tells cluster DNS what changed: services and pods. The zone keeps no pod index of its own,
/// so a pod's change comes with the record the zone was last told (null: none).
/// </summary>
public interface IClusterZoneFeed
{
    /// <summary>A service added or changed; <paramref name="endpointAddresses"/> are its endpoints' addresses when it is headless, else empty.</summary>
    void SetService(ServiceSpec service, IReadOnlyList<IPAddress> endpointAddresses);

    /// <summary>Whether there was such a service.</summary>
    bool RemoveService(string serviceNamespace, string name);

    /// <summary>A pod added or changed; <paramref name="previous"/> is the record last told for it, null if none.</summary>
    void SetPod(PodRecord pod, PodRecord? previous);

    /// <summary>A pod gone: the record last told for it.</summary>
    void RemovePod(PodRecord pod);
}
