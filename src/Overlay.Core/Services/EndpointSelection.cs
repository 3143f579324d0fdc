using System.Net;
using System.Net.Sockets;

namespace Overlay.Core.Services;

/// <summary>The endpoints of one service port in one address family: where a connection to ClusterIP:port may go.</summary>
public sealed record PortEndpoints(ServicePort Port, IReadOnlyList<(IPAddress Address, int Port)> Endpoints);

/// <summary>
/// Which pods a service selects and where its ports lead, decided the same way on every node (no central
/// controller). Pure: the same service and pods always give the same lists in the same order.
/// </summary>
public static class EndpointSelection
{
    /// <summary>
    /// True when <paramref name="pod"/> is in the service's namespace and carries every label of its selector with
    /// the same value. A service without a selector (explicit endpoints) or with an empty one selects no pod.
    /// </summary>
    public static bool Selects(ServiceSpec service, PodRecord pod)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(pod);
        if (service.Selector is not { Count: > 0 } selector || !string.Equals(service.Namespace, pod.Namespace, StringComparison.Ordinal))
        {
            return false;
        }

        foreach ((string key, string value) in selector)
        {
            if (!pod.Labels.TryGetValue(key, out string? actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The pods the service selects, ordered by namespace, then name (ordinal).</summary>
    public static IReadOnlyList<PodRecord> SelectPods(ServiceSpec service, IEnumerable<PodRecord> pods)
    {
        ArgumentNullException.ThrowIfNull(pods);
        return pods.Where(p => Selects(service, p))
            .OrderBy(p => p.Namespace, StringComparer.Ordinal)
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// For each port of the service (in the service's order), the endpoints of <paramref name="family"/>: IPv4 ones
    /// for the IPv4 ClusterIP, IPv6 ones for the IPv6 ClusterIP. With a selector they are the selected pods'
    /// addresses of that family at the port's target port; with explicit endpoints they are those of that family,
    /// at the endpoint's own port when it has one, else at the target port. Each list is ordered by address, then
    /// port, without duplicates; a port with no endpoint has an empty list (its connections are refused).
    /// </summary>
    public static IReadOnlyList<PortEndpoints> Endpoints(ServiceSpec service, IEnumerable<PodRecord> pods, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(pods);
        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentOutOfRangeException(nameof(family), family, "IPv4 or IPv6");
        }

        // Each backend as (address, port override); null: the service port's target port.
        List<(IPAddress Address, int? Port)> backends = service.Selector is not null
            ? SelectPods(service, pods).SelectMany(p => p.Addresses).Where(a => a.AddressFamily == family).Select(a => (a, (int?)null)).ToList()
            : (service.Endpoints ?? []).Where(e => e.Address.AddressFamily == family).Select(e => (e.Address, e.Port)).ToList();

        var result = new List<PortEndpoints>(service.Ports.Count);
        foreach (ServicePort port in service.Ports)
        {
            List<(IPAddress Address, int Port)> endpoints = backends
                .Select(b => (b.Address, b.Port ?? port.TargetPort))
                .Distinct()
                .Order(EndpointOrder.Instance)
                .ToList();
            result.Add(new PortEndpoints(port, endpoints));
        }

        return result;
    }

    private sealed class EndpointOrder : IComparer<(IPAddress Address, int Port)>
    {
        public static readonly EndpointOrder Instance = new();

        public int Compare((IPAddress Address, int Port) x, (IPAddress Address, int Port) y)
        {
            Span<byte> a = stackalloc byte[16];
            Span<byte> b = stackalloc byte[16];
            x.Address.TryWriteBytes(a, out int aLength);
            y.Address.TryWriteBytes(b, out int bLength);
            int byAddress = a[..aLength].SequenceCompareTo(b[..bLength]);
            return byAddress != 0 ? byAddress : x.Port.CompareTo(y.Port);
        }
    }
}
