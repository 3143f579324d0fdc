using Overlay.Core.Leases;

namespace Overlay.Leases;

/// <summary>
/// What etcd holds refuses a lease operation (lost, held, out of subnets, no config). An <see cref="IOException"/>
/// like netlink's and nft's failures, so callers catch one type; <see cref="EtcdErrors.IsTransient"/> never retries it.
/// </summary>
public abstract class LeaseException : IOException
{
    protected LeaseException()
    {
    }

    protected LeaseException(string message)
        : base(message)
    {
    }

    protected LeaseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Renewal found this node's lease key gone, or held by another node.</summary>
public sealed class LeaseLostException : LeaseException
{
    public LeaseLostException()
    {
    }

    public LeaseLostException(string message)
        : base(message)
    {
    }

    public LeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public LeaseLostException(SubnetKey subnet, string message)
        : base(message)
    {
        Subnet = subnet;
    }

    public SubnetKey? Subnet { get; }
}

/// <summary>Every subnet between SubnetMin and SubnetMax is leased.</summary>
public sealed class OutOfSubnetsException : LeaseException
{
    public OutOfSubnetsException()
        : base("out of subnets")
    {
    }

    public OutOfSubnetsException(string message)
        : base(message)
    {
    }

    public OutOfSubnetsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>There is no network config at <c>&lt;prefix&gt;/config</c>.</summary>
public sealed class NetworkConfigMissingException : LeaseException
{
    public NetworkConfigMissingException()
        : base("the network config is missing")
    {
    }

    public NetworkConfigMissingException(string message)
        : base(message)
    {
    }

    public NetworkConfigMissingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static NetworkConfigMissingException ForKey(string key) =>
        new($"{key} is missing: put a network config there, e.g. with overlayctl config set");
}

/// <summary>A reservation was refused because another node holds the subnet.</summary>
public sealed class SubnetHeldException : LeaseException
{
    public SubnetHeldException()
    {
    }

    public SubnetHeldException(string message)
        : base(message)
    {
    }

    public SubnetHeldException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
