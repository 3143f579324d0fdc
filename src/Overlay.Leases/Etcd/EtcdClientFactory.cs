using dotnet_etcd;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;

namespace Overlay.Leases.Etcd;

/// <summary>
/// Builds the etcd client for <see cref="EtcdOptions"/>: one gRPC channel balanced over every endpoint, TLS and
/// user as configured, and reconnects that never wait long, so a node that started before etcd connects soon
/// after etcd answers, however long etcd was away.
/// </summary>
internal static class EtcdClientFactory
{
    /// <summary>
    /// The longest gRPC waits between two attempts to connect to an endpoint that refused. Half a second: a call
    /// retried while the channel waits to reconnect fails at once, so this wait and the call's retry delay add up.
    /// </summary>
    public static readonly TimeSpan MaxReconnectBackoff = TimeSpan.FromMilliseconds(500);

    public static readonly TimeSpan InitialReconnectBackoff = TimeSpan.FromMilliseconds(200);

    /// <summary>The client for <paramref name="options"/>; throws <see cref="ArgumentException"/> with the problem when <see cref="EtcdFlags.Check"/> finds one.</summary>
    public static EtcdClient Create(EtcdOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (EtcdFlags.Check(options) is [string problem, ..])
        {
            throw new ArgumentException(problem, nameof(options));
        }

        string[] endpoints = options.Endpoints.Select(e => e.Trim()).ToArray();
        string connection = string.Join(",", endpoints);
        void Configure(GrpcChannelOptions channel) => ConfigureChannel(channel, options);

        EtcdClient client = endpoints.Any(EtcdFlags.IsHttps)
            ? new EtcdClient(connection, EtcdTls.Load(options, endpoints).Configure, configureChannelOptions: Configure)
            : new EtcdClient(connection, configureChannelOptions: Configure);

        if (!string.IsNullOrEmpty(options.Username))
        {
            client.SetCredentials(options.Username, options.Password!);
        }

        return client;
    }

    /// <summary>Applied to the channel options dotnet-etcd prepares, before the channel is built.</summary>
    internal static void ConfigureChannel(GrpcChannelOptions channel, EtcdOptions options)
    {
        // The library's default gRPC retry policy would multiply Polly's attempts; Polly owns retries.
        channel.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
        channel.InitialReconnectBackoff = InitialReconnectBackoff;
        channel.MaxReconnectBackoff = MaxReconnectBackoff;
        if (channel.HttpHandler is SocketsHttpHandler sockets)
        {
            // One connection attempt gets the call timeout. A shorter one (2 s) coincided with a lease watch that never
            // resumed after an etcd outage in 2 of 5 runs; grpc-dotnet's Subchannel may race when its reconnect loop
            // ends on this timeout and goes idle.
            sockets.ConnectTimeout = options.CallTimeout;
            sockets.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
            sockets.KeepAlivePingTimeout = TimeSpan.FromSeconds(10);
        }
    }
}
