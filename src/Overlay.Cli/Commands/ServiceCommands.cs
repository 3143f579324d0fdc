using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Overlay.Cli.Output;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Services;
using Overlay.Leases.Services;

namespace Overlay.Cli.Commands;

/// <summary><c>overlayctl service ...</c>: create, list, get, endpoints, rm, on the registry in etcd (docs/services.md).</summary>
internal static class ServiceCommands
{
    public static readonly Option<string> Namespace = new("--namespace", "-n")
    {
        HelpName = "NS",
        Description = "the service's namespace (default default)",
    };

    public static readonly Option<bool> AllNamespaces = new("--all-namespaces", "-A") { Description = "list the services of every namespace" };

    public static readonly Option<string[]> Port = Repeatable("port", "[NAME:]PORT[:TARGET][/tcp|udp]", "a port of the service, e.g. 80, 80:8080, http:80:8080/tcp, dns:53/udp (repeatable)");

    public static readonly Option<string[]> Selector = Repeatable("selector", "KEY=VALUE", "a label the service's pods carry, e.g. app=web (repeatable, or comma-separated)");

    public static readonly Option<string[]> Endpoint = Repeatable("endpoint", "IP[:PORT]", "an endpoint given by hand instead of a selector, e.g. 198.18.1.5:8080 (repeatable)");

    public static readonly Option<string> ClusterIP = new("--cluster-ip")
    {
        HelpName = "IP|None",
        Description = "the ClusterIP to take from the service network, or None for a headless service (default: one picked at random)",
    };

    public static Command Group() =>
        CommandLine.Group("service", "services under <prefix>/services/ and their ClusterIPs", ["services", "svc"],
            CommandLine.Leaf("create", "create a service with a ClusterIP from the service network, and print the ClusterIP",
                "overlayctl service create web --port http:80:8080/tcp --selector app=web", CreateAsync,
                Name(), Namespace, Port, Selector, Endpoint, ClusterIP, CommandLine.Output("service create", "table", "json")),
            CommandLine.Leaf("list", "list the services of a namespace (or every one), sorted by namespace and name",
                "overlayctl service list -A -o wide", ListAsync,
                Namespace, AllNamespaces, CommandLine.Output("service list", "table", "wide", "json")),
            CommandLine.Leaf("get", "show one service", "overlayctl service get web -n shop -o json", GetAsync,
                Name(), Namespace, CommandLine.Output("service get", "table", "wide", "json")),
            CommandLine.Leaf("endpoints", "show where a service's ports lead, as every overlayd computes it: the pods its selector matches, or its endpoints given by hand",
                "overlayctl service endpoints web -n shop", EndpointsAsync,
                Name(), Namespace, CommandLine.Output("service endpoints", "table", "json")),
            CommandLine.Leaf("rm", "remove a service and release its ClusterIP (asks unless --yes)", "overlayctl service rm web --yes", RemoveAsync,
                Name(), Namespace, CommandLine.Flags.Yes));

    public static async Task<int> CreateAsync(CliContext c, CancellationToken ct)
    {
        (string ns, string name) = Identify(c);
        IReadOnlyList<string> portTexts = c.Values(Port);
        if (portTexts.Count == 0)
        {
            throw Usage(c, "'service create' needs at least one --port, e.g. --port 80 or --port http:80:8080/tcp");
        }

        var ports = new List<ServicePort>();
        foreach (string text in portTexts)
        {
            ports.Add(ServicePortSpec.TryParse(text, out ServicePort? port, out string error) ? port : throw Usage(c, $"flag --port: {error}"));
        }

        IReadOnlyList<string> selectorTexts = c.Values(Selector);
        IReadOnlyList<string> endpointTexts = c.Values(Endpoint);
        if ((selectorTexts.Count > 0) == (endpointTexts.Count > 0))
        {
            throw Usage(c, selectorTexts.Count > 0
                ? "give either --selector or --endpoint, not both: a service's endpoints are the pods its selector matches, or the ones given by hand"
                : "'service create' needs --selector KEY=VALUE (the labels of its pods, e.g. app=web) or --endpoint IP[:PORT] (endpoints given by hand)");
        }

        IReadOnlyDictionary<string, string>? selector = null;
        if (selectorTexts.Count > 0 && !SelectorSpec.TryParse(selectorTexts, out selector, out string selectorError))
        {
            throw Usage(c, $"flag --selector: {selectorError}");
        }

        List<ServiceEndpoint>? endpoints = null;
        if (endpointTexts.Count > 0)
        {
            endpoints = [];
            foreach (string text in endpointTexts)
            {
                endpoints.Add(EndpointSpec.TryParse(text, out ServiceEndpoint? endpoint, out string error) ? endpoint : throw Usage(c, $"flag --endpoint: {error}"));
            }
        }

        ClusterIPChoice choice = Choice(c);
        var spec = new ServiceSpec { Namespace = ns, Name = name, Ports = ports, Selector = selector, Endpoints = endpoints };
        if (ServiceValidation.Problems(spec) is { Count: > 0 } problems)
        {
            throw Usage(c, string.Join("; ", problems));
        }

        NetworkConfig config = await ConfigCommands.StoredConfigAsync(c, "a service's ClusterIP comes from its ServiceNetwork", ct);
        if (config.ServiceNetwork is null && choice.Kind != ClusterIPKind.Headless)
        {
            throw new CommandFailedException(
                $"the network config at {c.Store.Session.ConfigKey} has no ServiceNetwork, so there is no range to take a ClusterIP from; "
                + "add one (e.g. \"ServiceNetwork\": \"198.19.0.0/16\", apart from the pod network and the nodes' networks) with 'overlayctl config set FILE' (see docs/configuration.md)");
        }

        ServiceSpec created;
        try
        {
            created = await c.Services.CreateAsync(config, spec, choice, ct);
        }
        catch (ServiceRegistryException e)
        {
            throw new CommandFailedException(e.Message, e);
        }

        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(ServiceView.ToJson(created, c.Prefix)));
        }
        else
        {
            c.Out.Write(ServiceView.ClusterIP(created) + "\n");
            if (created.ClusterIPv6 is { } v6)
            {
                c.Out.Write(v6 + "\n");
            }
        }

        return 0;
    }

    public static async Task<int> ListAsync(CliContext c, CancellationToken ct)
    {
        bool all = c.Flag(AllNamespaces);
        string? given = c.Flag(Namespace);
        if (all && given is not null)
        {
            throw Usage(c, "give --namespace or --all-namespaces, not both");
        }

        string? ns = all ? null : CheckNamespace(c, given ?? ServiceSpec.DefaultNamespace);
        ServiceListing listing = await c.Services.ListAsync(ns, ct);
        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(new ServiceListJson(
                ServiceView.Sorted(listing.Services).Select(s => ServiceView.ToJson(s, c.Prefix)).ToList(),
                LeaseView.Skipped(listing.Skipped))));
            return 0;
        }

        foreach (var entry in listing.Skipped)
        {
            c.Warn($"skipped {entry.Key}: {entry.Reason}");
        }

        if (listing.Services.Count == 0)
        {
            c.Err.Write(ns is null ? $"No services under {c.Services.ServicesPrefix}\n" : $"No services in namespace {ns}\n");
            return 0;
        }

        ServiceView.WriteTable(c.Out, listing.Services, withNamespace: all, wide: c.Output == "wide");
        return 0;
    }

    public static async Task<int> GetAsync(CliContext c, CancellationToken ct)
    {
        (string ns, string name) = Identify(c);
        ServiceSpec service;
        try
        {
            service = await c.Services.GetAsync(ns, name, ct) ?? throw Missing(c, ns, name);
        }
        catch (ServiceRegistryException e)
        {
            throw new CommandFailedException(e.Message, e);
        }

        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(ServiceView.ToJson(service, c.Prefix)));
        }
        else
        {
            ServiceView.WriteTable(c.Out, [service], withNamespace: false, wide: c.Output == "wide");
        }

        return 0;
    }

    public static async Task<int> EndpointsAsync(CliContext c, CancellationToken ct)
    {
        (string ns, string name) = Identify(c);
        ServiceSpec service;
        try
        {
            service = await c.Services.GetAsync(ns, name, ct) ?? throw Missing(c, ns, name);
        }
        catch (ServiceRegistryException e)
        {
            throw new CommandFailedException(e.Message, e);
        }

        // Explicit endpoints need no pods; a selector is matched against every pod in etcd, as overlayd does.
        var pods = new List<PodRecord>();
        var skipped = new List<SkippedJson>();
        if (service.Selector is not null)
        {
            using var registry = new PodRegistry(c.Store.Session, ListingOnlyTtl);
            foreach (PodEntry entry in await registry.ListAsync(ct))
            {
                if (entry.Pod is { } pod)
                {
                    pods.Add(pod);
                }
                else
                {
                    skipped.Add(new SkippedJson(entry.Key, entry.Problem ?? "not a pod"));
                }
            }
        }

        IReadOnlyList<PortEndpointRows> rows = ServiceEndpointsView.Rows(service, pods);
        if (c.Output == "json")
        {
            c.Out.Write(Json.Document(ServiceEndpointsView.ToJson(service, rows, c.Prefix, skipped)));
            return 0;
        }

        foreach (SkippedJson entry in skipped)
        {
            c.Warn($"skipped {entry.Key}: {entry.Reason}");
        }

        ServiceEndpointsView.WriteTable(c.Out, rows);
        foreach (string refusal in ServiceEndpointsView.Refusals(rows))
        {
            c.Err.Write(refusal + "\n");
        }

        return 0;
    }

    public static async Task<int> RemoveAsync(CliContext c, CancellationToken ct)
    {
        (string ns, string name) = Identify(c);
        string fullName = $"{ns}/{name}";
        ServiceSpec? service = null;
        try
        {
            service = await c.Services.GetAsync(ns, name, ct) ?? throw Missing(c, ns, name);
        }
        catch (ServiceRegistryException e)
        {
            c.Warn($"{e.Message}; removing it anyway");
        }

        string held = service is null ? "" : service.IsHeadless ? " (headless)" : $" (ClusterIP {Addresses(service)})";
        if (!c.Flag(CommandLine.Flags.Yes))
        {
            c.Err.Write($"Remove service {fullName}{held}? [y/N] ");
            await c.Err.FlushAsync(ct);
            string? answer = await c.In.ReadLineAsync(ct);
            if (answer is null)
            {
                c.Err.Write("\n");
                throw new CommandFailedException($"not removing {fullName}: no answer on stdin (not interactive?); pass --yes to remove without asking");
            }

            if (answer.Trim().ToLowerInvariant() is not ("y" or "yes"))
            {
                throw new CommandFailedException($"not removing {fullName}: not confirmed");
            }
        }

        try
        {
            ServiceSpec? removed = await c.Services.DeleteAsync(ns, name, ct);
            string released = removed is null || removed.IsHeadless ? "" : $"; ClusterIP {Addresses(removed)} released";
            c.Out.Write($"removed service {fullName}{released}\n");
        }
        catch (ServiceRegistryException e)
        {
            throw new CommandFailedException(e.Message, e);
        }

        return 0;
    }

    // A registry used only to list never puts a pod, so its lease TTL is never used.
    private static readonly TimeSpan ListingOnlyTtl = TimeSpan.FromSeconds(30);

    private static string Addresses(ServiceSpec service) =>
        service.ClusterIPv6 is { } v6 ? $"{service.ClusterIP} and {v6}" : $"{service.ClusterIP}";

    private static (string Namespace, string Name) Identify(CliContext c)
    {
        string name = c.Arguments[0];
        if (ServiceValidation.NameProblem(name) is { } problem)
        {
            throw Usage(c, problem);
        }

        return (CheckNamespace(c, c.Flag(Namespace) ?? ServiceSpec.DefaultNamespace), name);
    }

    private static string CheckNamespace(CliContext c, string ns) =>
        ServiceValidation.NamespaceProblem(ns) is { } problem ? throw Usage(c, $"flag --namespace: {problem}") : ns;

    private static ClusterIPChoice Choice(CliContext c)
    {
        string? text = c.Flag(ClusterIP);
        if (text is null)
        {
            return ClusterIPChoice.Auto;
        }

        if (text.Equals(ServiceCodec.Headless, StringComparison.OrdinalIgnoreCase))
        {
            return ClusterIPChoice.Headless;
        }

        return IPAddressMath.TryParseAddress(text, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetwork
            ? ClusterIPChoice.Requested(address)
            : throw Usage(c, $"flag --cluster-ip: '{text}' is not an IPv4 address; give one from the service network (e.g. 198.19.0.23), or None for a headless service");
    }

    private static CommandFailedException Missing(CliContext c, string ns, string name) =>
        new($"there is no service {ns}/{name} under {c.Services.ServicesPrefix}; 'overlayctl service list -A' shows what there is");

    private static UsageException Usage(CliContext c, string message) => new(message) { CommandPath = c.CommandPath };

    private static Option<string[]> Repeatable(string name, string valueName, string description) => new("--" + name)
    {
        HelpName = valueName,
        Description = description,
        Arity = ArgumentArity.OneOrMore,
    };

    private static Argument<string> Name() => new("NAME") { Description = "the service's name, a DNS label starting with a letter" };
}
