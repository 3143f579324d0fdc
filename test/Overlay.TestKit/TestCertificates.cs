namespace Overlay.TestKit;

/// <summary>
/// A throw-away PKI made with openssl: a CA, a server certificate (usable by etcd, whose gateway also dials itself
/// with it, hence clientAuth too) and a client certificate with CN "overlay-client". P-256 keys keep creation fast.
/// <see cref="CertificateAuthority"/> makes them; <see cref="From"/> takes a set made there (a server certificate for
/// other names, say) for <see cref="EtcdServerOptions.Tls"/>.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly CertificateAuthority? owned;

    private TestCertificates(CertificateAuthority authority, CertificateFiles server, CertificateFiles client, CertificateAuthority? owned)
    {
        Directory = authority.Directory;
        CaFile = authority.CaFile;
        CaKeyFile = authority.CaKeyFile;
        ServerCertFile = server.CertFile;
        ServerKeyFile = server.KeyFile;
        ClientCertFile = client.CertFile;
        ClientKeyFile = client.KeyFile;
        this.owned = owned;
    }

    public string Directory { get; }
    public string CaFile { get; }
    public string CaKeyFile { get; }
    public string ServerCertFile { get; }
    public string ServerKeyFile { get; }
    public string ClientCertFile { get; }
    public string ClientKeyFile { get; }

    /// <summary>A new CA with a server certificate for 127.0.0.1, localhost and <paramref name="serverIps"/>, and a client certificate.</summary>
    public static TestCertificates Create(params string[] serverIps)
    {
        CertificateAuthority authority = CertificateAuthority.Create();
        try
        {
            List<string> sans = ["IP:127.0.0.1", "DNS:localhost", .. serverIps.Where(ip => ip != "127.0.0.1").Select(ip => $"IP:{ip}")];
            return new TestCertificates(authority, authority.IssueServer("overlay-etcd-server", [.. sans]), authority.IssueClient("overlay-client"), owned: authority);
        }
        catch
        {
            authority.Dispose();
            throw;
        }
    }

    /// <summary>A set from <paramref name="authority"/>'s files; the authority keeps them (disposing this deletes nothing).</summary>
    public static TestCertificates From(CertificateAuthority authority, CertificateFiles server, CertificateFiles client) =>
        new(authority, server, client, owned: null);

    public void Dispose() => owned?.Dispose();
}
