using System.Net;

namespace Overlay.Core.Allocation;

/// <summary>Who is asking for a subnet: the owner id stored beside the lease, and the node's public addresses.</summary>
public sealed record NodeIdentity(string OwnerId, IPAddress PublicIP, IPAddress? PublicIPv6 = null);
