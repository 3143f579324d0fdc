using Overlay.Core.Services;

namespace Overlay.Cli.Output;

/// <summary>How services are shown: table rows and JSON objects. Pure: no etcd.</summary>
internal static class ServiceView
{
    public const string None = LeaseView.None;

    /// <summary>Sorted by namespace, then name.</summary>
    public static IReadOnlyList<ServiceSpec> Sorted(IEnumerable<ServiceSpec> services) =>
        services.OrderBy(s => s.Namespace, StringComparer.Ordinal).ThenBy(s => s.Name, StringComparer.Ordinal).ToList();

    /// <summary>
    /// kubectl-like columns: [NAMESPACE] NAME CLUSTER-IP PORTS SELECTOR; wide adds CLUSTER-IPV6 and ENDPOINTS
    /// (the endpoints given by hand). Ports are written as <c>service create</c> takes them.
    /// </summary>
    public static void WriteTable(TextWriter writer, IEnumerable<ServiceSpec> services, bool withNamespace, bool wide)
    {
        string[] columns = ["NAME", "CLUSTER-IP", "PORTS", "SELECTOR"];
        if (withNamespace)
        {
            columns = ["NAMESPACE", .. columns];
        }

        if (wide)
        {
            columns = [.. columns, "CLUSTER-IPV6", "ENDPOINTS"];
        }

        var table = new TableWriter(columns);
        foreach (ServiceSpec service in Sorted(services))
        {
            string[] cells = [service.Name, ClusterIP(service), Ports(service), Selector(service)];
            if (withNamespace)
            {
                cells = [service.Namespace, .. cells];
            }

            if (wide)
            {
                cells = [.. cells, service.ClusterIPv6?.ToString() ?? None, Endpoints(service)];
            }

            table.Add(cells);
        }

        table.WriteTo(writer);
    }

    public static string ClusterIP(ServiceSpec service) => service.ClusterIP?.ToString() ?? ServiceCodec.Headless;

    public static string Ports(ServiceSpec service) => string.Join(",", service.Ports.Select(ServicePortSpec.Format));

    public static string Selector(ServiceSpec service) =>
        service.Selector is { } selector ? string.Join(",", selector.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) : None;

    public static string Endpoints(ServiceSpec service) =>
        service.Endpoints is { } endpoints ? string.Join(",", endpoints.Select(EndpointSpec.Format)) : None;

    public static ServiceOutputJson ToJson(ServiceSpec service, string prefix) => new(
        service.Namespace,
        service.Name,
        RegistryKeys.Service(prefix, service.Namespace, service.Name),
        ClusterIP(service),
        service.ClusterIPv6?.ToString(),
        service.IsHeadless,
        service.Ports.Select(p => new ServicePortJson(p.Name, p.Port, p.TargetPort, ServicePortSpec.ProtocolName(p.Protocol))).ToList(),
        service.Selector is { } selector ? new SortedDictionary<string, string>(selector.ToDictionary(), StringComparer.Ordinal) : null,
        service.Endpoints?.Select(e => new ServiceEndpointJson(e.Address.ToString(), e.Port)).ToList());
}
