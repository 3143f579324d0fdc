using System.Net;

namespace Overlay.Core.Services;

/// <summary>The transport protocol of a service port.</summary>
public enum ServiceProtocol
{
    Tcp,
    Udp,
}

/// <summary>
/// One port of a service: clients connect to <see cref="Port"/> on the ClusterIP; the connection goes to
/// <see cref="TargetPort"/> on an endpoint. <see cref="Name"/> is optional (DNS SRV records need it).
/// </summary>
public sealed record ServicePort(string? Name, int Port, int TargetPort, ServiceProtocol Protocol);

/// <summary>
/// A service as the registry holds it at <c>&lt;prefix&gt;/services/&lt;namespace&gt;/&lt;name&gt;</c>: a stable
/// virtual address (or none: headless) in front of either the pods its <see cref="Selector"/> matches in its
/// namespace, or the <see cref="Endpoints"/> given by hand. Exactly one of the two is set.
/// </summary>
public sealed record ServiceSpec
{
    public const string DefaultNamespace = "default";

    public required string Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>The IPv4 ClusterIP from the service network; null for a headless service (<c>None</c>).</summary>
    public IPAddress? ClusterIP { get; init; }

    /// <summary>The IPv6 ClusterIP in a dual-stack service network; null otherwise.</summary>
    public IPAddress? ClusterIPv6 { get; init; }

    public required IReadOnlyList<ServicePort> Ports { get; init; }

    /// <summary>Labels a pod of the same namespace must all carry to be an endpoint; null when endpoints are explicit.</summary>
    public IReadOnlyDictionary<string, string>? Selector { get; init; }

    /// <summary>
    /// Endpoints given by hand. A null port means "each service port's target port"; a port is allowed only on a
    /// service with one port, and then replaces its target port.
    /// </summary>
    public IReadOnlyList<ServiceEndpoint>? Endpoints { get; init; }

    public bool IsHeadless => ClusterIP is null && ClusterIPv6 is null;

    /// <summary><c>namespace/name</c>, how logs and the ClusterIP keys name a service.</summary>
    public string FullName => $"{Namespace}/{Name}";
}

/// <summary>An endpoint given by hand: an address and, optionally, the port that replaces the target port.</summary>
public sealed record ServiceEndpoint(IPAddress Address, int? Port = null);

/// <summary>
/// A pod as its node registers it at <c>&lt;prefix&gt;/pods/&lt;namespace&gt;/&lt;name&gt;</c>: where it runs, its
/// addresses (one per family) and its labels. The key is bound to its node's etcd lease, so the pods of a node
/// that died disappear when that lease expires.
/// </summary>
public sealed record PodRecord
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>The lease (subnet key text, e.g. <c>198.18.34.0-24</c>) of the node that runs the pod.</summary>
    public required string Node { get; init; }

    public required IReadOnlyList<IPAddress> Addresses { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public string FullName => $"{Namespace}/{Name}";
}
