using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>What a batch item asks of the kernel.</summary>
public enum ChangeOperation
{
    /// <summary>Create; fails with EEXIST if the entry exists (NLM_F_CREATE | NLM_F_EXCL).</summary>
    Add,

    /// <summary>Create or overwrite (NLM_F_CREATE | NLM_F_REPLACE).</summary>
    Replace,

    /// <summary>Add another entry next to existing ones, e.g. a second FDB destination (NLM_F_CREATE | NLM_F_APPEND).</summary>
    Append,

    /// <summary>Remove the entry.</summary>
    Delete,
}

/// <summary>
/// An entry the kernel holds per device: <see cref="AddressEntry"/>, <see cref="RouteEntry"/>,
/// <see cref="NeighbourEntry"/> or <see cref="FdbEntry"/>. Each knows how to encode its own request.
/// </summary>
public abstract record KernelEntry
{
    private protected KernelEntry()
    {
    }

    /// <summary>Writes one request message for <paramref name="operation"/> with an ack requested.</summary>
    internal abstract void Encode(ref NetlinkWriter writer, ChangeOperation operation, uint sequence);

    /// <summary>The request in words, e.g. "replace route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink".</summary>
    internal abstract string Describe(ChangeOperation operation, Func<int, string> deviceName);

    internal static ushort RequestFlags(ChangeOperation operation) => operation switch
    {
        ChangeOperation.Add => Nl.Request | Nl.Ack | Nl.Create | Nl.Excl,
        ChangeOperation.Replace => Nl.Request | Nl.Ack | Nl.Create | Nl.Replace,
        ChangeOperation.Append => Nl.Request | Nl.Ack | Nl.Create | Nl.Append,
        _ => Nl.Request | Nl.Ack,
    };

    internal static string Verb(ChangeOperation operation) => operation switch
    {
        ChangeOperation.Add => "add",
        ChangeOperation.Replace => "replace",
        ChangeOperation.Append => "append",
        _ => "delete",
    };

    internal static byte Family(System.Net.IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? AddressFamilies.Inet6 : AddressFamilies.Inet;
}

/// <summary>One item of a batch.</summary>
public sealed record NetlinkChange(ChangeOperation Operation, KernelEntry Entry);
