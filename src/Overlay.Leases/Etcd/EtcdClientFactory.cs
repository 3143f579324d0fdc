using dotnet_etcd;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;

namespace Overlay.Leases;

/// <summary>
/// Builds the etcd client for <see cref="EtcdOptions"/>: one gRPC channel balanced over every endpoint, TLS and
/// user as configured.
/// </summary>
internal static class EtcdClientFactory
{
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
        channel.InitialReconnectBackoff = TimeSpan.FromMilliseconds(200);
        channel.MaxReconnectBackoff = TimeSpan.FromSeconds(2); // reconnect promptly once etcd is back
        if (channel.HttpHandler is SocketsHttpHandler sockets)
        {
            sockets.ConnectTimeout = options.CallTimeout;
            sockets.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
            sockets.KeepAlivePingTimeout = TimeSpan.FromSeconds(10);
        }
    }
}
