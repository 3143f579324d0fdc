using System.Net.Sockets;
using Overlay.Core.Text;

namespace Overlay.Core.Services;

/// <summary>
/// What makes a <see cref="ServiceSpec"/> valid, wherever it comes from (the CLI's flags, a value read from
/// etcd): names, ports, and exactly one of selector and endpoints. Each problem names the part and the value.
/// </summary>
public static class ServiceValidation
{
    public const int MinPort = 1;
    public const int MaxPort = 65535;

    /// <summary>Null when <paramref name="namespace"/> is a namespace (an RFC 1123 label), else the message.</summary>
    public static string? NamespaceProblem(string @namespace) =>
        DnsNames.Rfc1123LabelProblem(@namespace) is { } why
            ? $"namespace '{@namespace}' is not valid: {why}; a namespace is 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit (e.g. default)"
            : null;

    /// <summary>Null when <paramref name="name"/> is a service name (an RFC 1035 label), else the message.</summary>
    public static string? NameProblem(string name) =>
        DnsNames.Rfc1035LabelProblem(name) is { } why
            ? $"service name '{name}' is not valid: {why}; a service name is 1 to 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit (e.g. web)"
            : null;

    /// <summary>Null when <paramref name="name"/> is a port name (an IANA service name), else the message.</summary>
    public static string? PortNameProblem(string name) =>
        DnsNames.PortNameProblem(name) is { } why
            ? $"port name '{name}' is not valid: {why}; a port name is 1 to 15 lower-case letters, digits and '-', with at least one letter (e.g. http)"
            : null;

    /// <summary>Every problem of <paramref name="spec"/>; empty when it is a valid service.</summary>
    public static IReadOnlyList<string> Problems(ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<string>();
        Add(problems, NamespaceProblem(spec.Namespace));
        Add(problems, NameProblem(spec.Name));
        if (spec.ClusterIP is { AddressFamily: not AddressFamily.InterNetwork } v4)
        {
            problems.Add($"clusterIP {v4} is not an IPv4 address");
        }

        if (spec.ClusterIPv6 is { AddressFamily: not AddressFamily.InterNetworkV6 } v6)
        {
            problems.Add($"clusterIPv6 {v6} is not an IPv6 address");
        }

        if (spec.ClusterIP is null && spec.ClusterIPv6 is not null)
        {
            problems.Add($"clusterIPv6 {spec.ClusterIPv6} is set on a service without an IPv4 clusterIP; a headless service has neither");
        }

        PortProblems(spec.Ports, problems);
        if (spec.Selector is null == spec.Endpoints is null)
        {
            problems.Add(spec.Selector is null
                ? "the service has neither a selector nor endpoints; give one of them"
                : "the service has both a selector and endpoints; give one of them");
        }

        if (spec.Selector is { } selector)
        {
            if (selector.Count == 0)
            {
                problems.Add("the selector is empty; give at least one label (app=web), or endpoints");
            }

            foreach ((string key, string value) in selector)
            {
                Add(problems, SelectorSpec.Problem(key, value));
            }
        }

        if (spec.Endpoints is { } endpoints)
        {
            if (endpoints.Count == 0)
            {
                problems.Add("the endpoint list is empty; give at least one endpoint, or a selector");
            }

            foreach (ServiceEndpoint endpoint in endpoints)
            {
                if (endpoint.Port is { } port && port is < MinPort or > MaxPort)
                {
                    problems.Add($"endpoint {EndpointSpec.Format(endpoint)}: port {port} is out of range {MinPort}..{MaxPort}");
                }

                if (endpoint.Port is not null && spec.Ports.Count > 1)
                {
                    problems.Add($"endpoint {EndpointSpec.Format(endpoint)} has a port, but the service has {spec.Ports.Count} ports; give endpoints without a port (each service port's target port is used)");
                }
            }

            foreach (var twice in endpoints.GroupBy(e => (e.Address, e.Port)).Where(g => g.Count() > 1))
            {
                problems.Add($"endpoint {EndpointSpec.Format(twice.First())} is given {twice.Count()} times");
            }
        }

        return problems;
    }

    private static void PortProblems(IReadOnlyList<ServicePort> ports, List<string> problems)
    {
        if (ports.Count == 0)
        {
            problems.Add("the service has no ports; give at least one (e.g. 80, or http:80:8080/tcp)");
            return;
        }

        foreach (ServicePort port in ports)
        {
            if (port.Port is < MinPort or > MaxPort)
            {
                problems.Add($"port {port.Port} is out of range {MinPort}..{MaxPort}");
            }

            if (port.TargetPort is < MinPort or > MaxPort)
            {
                problems.Add($"target port {port.TargetPort} (of port {port.Port}) is out of range {MinPort}..{MaxPort}");
            }

            if (port.Name is { } name)
            {
                Add(problems, PortNameProblem(name));
            }

            if (!Enum.IsDefined(port.Protocol))
            {
                problems.Add($"port {port.Port} has an unknown protocol ({(int)port.Protocol}); use TCP or UDP");
            }
        }

        foreach (var twice in ports.Where(p => p.Name is not null).GroupBy(p => p.Name).Where(g => g.Count() > 1))
        {
            problems.Add($"port name '{twice.Key}' is used by {twice.Count()} ports; port names must be unique");
        }

        foreach (var twice in ports.GroupBy(p => (p.Port, p.Protocol)).Where(g => g.Count() > 1))
        {
            problems.Add($"port {twice.Key.Port}/{ServicePortSpec.ProtocolName(twice.Key.Protocol)} is given {twice.Count()} times; each port and protocol may appear once");
        }
    }

    private static void Add(List<string> problems, string? problem)
    {
        if (problem is not null)
        {
            problems.Add(problem);
        }
    }
}
