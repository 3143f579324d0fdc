using System.Net;
using Overlay.Core.Services;
using Overlay.Leases.Store;

namespace Overlay.Leases.Services;

/// <summary>Which ClusterIP a new service gets: one picked from the service network, one asked for, or none (headless).</summary>
public sealed record ClusterIPChoice
{
    private ClusterIPChoice(ClusterIPKind kind, IPAddress? address, IPAddress? addressV6)
    {
        Kind = kind;
        Address = address;
        AddressV6 = addressV6;
    }

    public static ClusterIPChoice Auto { get; } = new(ClusterIPKind.Auto, null, null);

    public static ClusterIPChoice Headless { get; } = new(ClusterIPKind.Headless, null, null);

    /// <summary>
    /// <paramref name="address"/> from the IPv4 service network; in a dual-stack service network the IPv6 one is
    /// <paramref name="addressV6"/>, or picked when null.
    /// </summary>
    public static ClusterIPChoice Requested(IPAddress address, IPAddress? addressV6 = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new(ClusterIPKind.Requested, address, addressV6);
    }

    public ClusterIPKind Kind { get; }

    public IPAddress? Address { get; }

    public IPAddress? AddressV6 { get; }
}

public enum ClusterIPKind
{
    Auto,
    Requested,
    Headless,
}

/// <summary>Every service under <c>&lt;prefix&gt;/services/</c> (or one namespace) at one etcd revision, and the entries that are not services.</summary>
public sealed record ServiceListing(IReadOnlyList<ServiceSpec> Services, long Revision, IReadOnlyList<SkippedEntry> Skipped);

/// <summary>A ClusterIP key: the address and the <c>&lt;namespace&gt;/&lt;name&gt;</c> of the service holding it.</summary>
public sealed record HeldClusterIP(IPAddress Address, string Owner);

/// <summary>The service registry refuses an operation (exists, missing, address taken, network full); exit 1 in the CLI.</summary>
public class ServiceRegistryException : LeaseException
{
    public ServiceRegistryException()
    {
    }

    public ServiceRegistryException(string message)
        : base(message)
    {
    }

    public ServiceRegistryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A service of that namespace and name exists already.</summary>
public sealed class ServiceExistsException : ServiceRegistryException
{
    public ServiceExistsException()
    {
    }

    public ServiceExistsException(string message)
        : base(message)
    {
    }

    public ServiceExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>There is no service of that namespace and name.</summary>
public sealed class ServiceNotFoundException : ServiceRegistryException
{
    public ServiceNotFoundException()
    {
    }

    public ServiceNotFoundException(string message)
        : base(message)
    {
    }

    public ServiceNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A requested ClusterIP is held by another service (<see cref="Owner"/>), or is not in the service network.</summary>
public sealed class ClusterIPUnavailableException : ServiceRegistryException
{
    public ClusterIPUnavailableException()
    {
    }

    public ClusterIPUnavailableException(string message)
        : base(message)
    {
    }

    public ClusterIPUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ClusterIPUnavailableException(string message, IPAddress address, string? owner)
        : base(message)
    {
        Address = address;
        Owner = owner;
    }

    public IPAddress? Address { get; }

    /// <summary><c>&lt;namespace&gt;/&lt;name&gt;</c> of the holder; null when the address is refused for another reason.</summary>
    public string? Owner { get; }
}

/// <summary>No ClusterIP could be picked: the service network is full, has none, or kept being raced for.</summary>
public sealed class ServiceNetworkExhaustedException : ServiceRegistryException
{
    public ServiceNetworkExhaustedException()
    {
    }

    public ServiceNetworkExhaustedException(string message)
        : base(message)
    {
    }

    public ServiceNetworkExhaustedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
