namespace Overlay.Leases;

/// <summary>How to reach etcd: flannel's <c>--etcd-*</c> flags.</summary>
public sealed record EtcdOptions
{
    /// <summary>Every endpoint of the cluster; calls are balanced over them and fail over between them.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = ["http://127.0.0.1:2379"];

    public string Prefix { get; init; } = "/coreos.com/network";

    /// <summary>Every endpoint is dialled over TLS (https://): some of etcd's refusals then arrive without a TLS error under them.</summary>
    public bool OverTls => Endpoints.Count > 0 && Endpoints.All(e => e.StartsWith("https://", StringComparison.OrdinalIgnoreCase));

    /// <summary>PEM file of the CA that signed the servers' certificates; with it, endpoints are dialled over TLS.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate (with <see cref="KeyFile"/>) for servers that require client certificates.</summary>
    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>Time allowed for one attempt of one call; a slower attempt is abandoned and retried.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>How long a lease lives and when it is renewed.</summary>
public sealed record LeaseOptions
{
    /// <summary>Time to live of the etcd lease a subnet is attached to (flannel: 24 h, fixed).</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Renew this long before the lease expires (flannel's <c>--subnet-lease-renew-margin</c>).</summary>
    public TimeSpan RenewMargin { get; init; } = TimeSpan.FromMinutes(60);

    internal void Validate()
    {
        if (Ttl < TimeSpan.FromSeconds(10))
        {
            throw new ArgumentException($"lease TTL {Ttl} is too short: use at least 10 s (flannel uses 24 h)");
        }

        if (RenewMargin <= TimeSpan.Zero || RenewMargin >= Ttl)
        {
            throw new ArgumentException($"renew margin {RenewMargin} must be positive and shorter than the lease TTL {Ttl}");
        }
    }
}
