using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Services;

namespace Overlay.Cli.Output;

/// <summary>One endpoint of a service port: where a connection may go, and the pod behind it when a selector chose it.</summary>
internal sealed record EndpointRow(IPAddress Address, int Port, PodRecord? Pod);

/// <summary>A port of a service with its endpoints of every family the service has a ClusterIP in.</summary>
internal sealed record PortEndpointRows(ServicePort Port, IReadOnlyList<EndpointRow> Endpoints, IReadOnlyList<IPAddress> RefusingClusterIPs);

/// <summary>
/// What <c>overlayctl service endpoints</c> shows: the endpoints every overlayd computes
/// (<see cref="EndpointSelection.Endpoints"/>), IPv4 always and IPv6 when the service has an IPv6 ClusterIP,
/// with the selected pod and its node beside each address. Pure: no etcd.
/// </summary>
internal static class ServiceEndpointsView
{
    public static IReadOnlyList<PortEndpointRows> Rows(ServiceSpec service, IReadOnlyList<PodRecord> pods)
    {
        var families = new List<(AddressFamily Family, IPAddress? ClusterIP)> { (AddressFamily.InterNetwork, service.ClusterIP) };
        if (service.ClusterIPv6 is { } v6)
        {
            families.Add((AddressFamily.InterNetworkV6, v6));
        }

        // The pod behind each selected address; explicit endpoints have none.
        var owners = new Dictionary<IPAddress, PodRecord>();
        if (service.Selector is not null)
        {
            foreach (PodRecord pod in EndpointSelection.SelectPods(service, pods))
            {
                foreach (IPAddress address in pod.Addresses)
                {
                    owners.TryAdd(address, pod);
                }
            }
        }

        var perFamily = families.Select(f => (f.ClusterIP, Ports: EndpointSelection.Endpoints(service, pods, f.Family))).ToList();
        var rows = new List<PortEndpointRows>(service.Ports.Count);
        for (int i = 0; i < service.Ports.Count; i++)
        {
            var endpoints = new List<EndpointRow>();
            var refusing = new List<IPAddress>();
            foreach ((IPAddress? clusterIP, IReadOnlyList<PortEndpoints> ports) in perFamily)
            {
                IReadOnlyList<(IPAddress Address, int Port)> list = ports[i].Endpoints;
                endpoints.AddRange(list.Select(e => new EndpointRow(e.Address, e.Port, owners.GetValueOrDefault(e.Address))));
                if (list.Count == 0 && clusterIP is not null)
                {
                    refusing.Add(clusterIP);
                }
            }

            rows.Add(new PortEndpointRows(service.Ports[i], endpoints, refusing));
        }

        return rows;
    }

    /// <summary>PORT (name:port/proto) TARGET ENDPOINT POD NODE; a port without endpoints gets one line of <c>&lt;none&gt;</c>.</summary>
    public static void WriteTable(TextWriter writer, IReadOnlyList<PortEndpointRows> rows)
    {
        var table = new TableWriter(["PORT", "TARGET", "ENDPOINT", "POD", "NODE"]);
        foreach (PortEndpointRows row in rows)
        {
            string port = PortName(row.Port);
            string target = row.Port.TargetPort.ToString(CultureInfo.InvariantCulture);
            if (row.Endpoints.Count == 0)
            {
                table.Add([port, target, ServiceView.None, ServiceView.None, ServiceView.None]);
            }

            foreach (EndpointRow endpoint in row.Endpoints)
            {
                table.Add([port, target, Address(endpoint.Address, endpoint.Port), endpoint.Pod?.FullName ?? ServiceView.None, endpoint.Pod?.Node ?? ServiceView.None]);
            }
        }

        table.WriteTo(writer);
    }

    /// <summary>One sentence per port and ClusterIP without endpoints: what a client gets there.</summary>
    public static IEnumerable<string> Refusals(IReadOnlyList<PortEndpointRows> rows) =>
        rows.SelectMany(r => r.RefusingClusterIPs.Select(ip =>
            $"{PortName(r.Port)} has no endpoints: connections to {Address(ip, r.Port.Port)} are refused"));

    public static ServiceEndpointsJson ToJson(ServiceSpec service, IReadOnlyList<PortEndpointRows> rows, string prefix, IReadOnlyList<SkippedJson> skipped) => new(
        service.Namespace,
        service.Name,
        RegistryKeys.Service(prefix, service.Namespace, service.Name),
        ServiceView.ClusterIP(service),
        service.ClusterIPv6?.ToString(),
        rows.Select(r => new PortEndpointsJson(
            r.Port.Name,
            r.Port.Port,
            r.Port.TargetPort,
            ServicePortSpec.ProtocolName(r.Port.Protocol),
            r.Endpoints.Select(e => new EndpointJson(e.Address.ToString(), e.Port, e.Pod?.FullName, e.Pod?.Node)).ToList())).ToList(),
        skipped);

    /// <summary>The service side of a port: <c>http:80/tcp</c>, <c>53/udp</c> (the target has its own column).</summary>
    public static string PortName(ServicePort port) =>
        $"{(port.Name is null ? "" : port.Name + ":")}{port.Port.ToString(CultureInfo.InvariantCulture)}/{ServicePortSpec.ProtocolName(port.Protocol).ToLowerInvariant()}";

    private static string Address(IPAddress address, int port) =>
        address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"[{address}]:{port.ToString(CultureInfo.InvariantCulture)}"
            : $"{address}:{port.ToString(CultureInfo.InvariantCulture)}";
}
