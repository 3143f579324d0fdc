using System.Diagnostics.CodeAnalysis;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>
/// A netlink request failed. Carries errno (number and name), the kernel's extended-ack text when it sent one,
/// and the operation in words, e.g.
/// "replace route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink: ENETUNREACH (Network is unreachable)".
/// An <see cref="IOException"/>, like nft's and etcd's failures, so callers catch one type.
/// </summary>
public sealed class NetlinkException : IOException
{
    public NetlinkException()
    {
        Operation = "";
        ErrorName = "";
    }

    public NetlinkException(string message) : base(message)
    {
        Operation = "";
        ErrorName = "";
    }

    public NetlinkException(string message, Exception innerException) : base(message, innerException)
    {
        Operation = "";
        ErrorName = "";
    }

    public NetlinkException(string operation, int errno, string? kernelMessage)
        : base(Format(operation, errno, kernelMessage))
    {
        Operation = operation;
        Errno = errno;
        ErrorName = Wire.Errno.Name(errno);
        KernelMessage = string.IsNullOrEmpty(kernelMessage) ? null : kernelMessage;
    }

    /// <summary>The positive errno value, e.g. 17.</summary>
    public int Errno { get; }

    /// <summary>errno's symbolic name, e.g. "EEXIST".</summary>
    public string ErrorName { get; }

    /// <summary>The kernel's extended-ack message (NLMSGERR_ATTR_MSG), when it sent one.</summary>
    public string? KernelMessage { get; }

    /// <summary>What was being done, e.g. "add neighbour 198.18.2.0 lladdr ... dev flannel.1".</summary>
    public string Operation { get; }

    private static string Format(string operation, int errno, string? kernelMessage)
    {
        string text = Wire.Errno.Name(errno) + " (" + Wire.Errno.Text(errno);
        if (!string.IsNullOrEmpty(kernelMessage)) text += "; kernel: " + kernelMessage;
        return operation + ": " + text + ")";
    }

    [DoesNotReturn]
    internal static void Throw(string operation, int errno, string? kernelMessage = null) =>
        throw new NetlinkException(operation, errno, kernelMessage);
}
