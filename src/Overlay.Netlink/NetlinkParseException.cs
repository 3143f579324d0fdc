namespace Overlay.Netlink;

/// <summary>A netlink message or attribute from the kernel (or a test) was malformed.</summary>
public sealed class NetlinkParseException : Exception
{
    public NetlinkParseException()
    {
    }

    public NetlinkParseException(string message) : base(message)
    {
    }

    public NetlinkParseException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
