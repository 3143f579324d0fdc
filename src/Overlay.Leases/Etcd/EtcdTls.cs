using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Overlay.Leases.Etcd;

/// <summary>
/// TLS material for the etcd connection: the CA that signed the servers (when not the system's trust), and
/// the client certificate. Server certificates are checked against the CA and against the endpoint host names.
/// </summary>
internal sealed class EtcdTls
{
    private readonly X509Certificate2Collection? authorities;
    private readonly X509Certificate2? clientCertificate;
    private readonly string[] hosts;

    private EtcdTls(X509Certificate2Collection? authorities, X509Certificate2? clientCertificate, string[] hosts)
    {
        this.authorities = authorities;
        this.clientCertificate = clientCertificate;
        this.hosts = hosts;
    }

    public static EtcdTls Load(EtcdOptions options, IEnumerable<string> endpoints)
    {
        X509Certificate2Collection? authorities = null;
        if (options.CaFile is { } caFile)
        {
            authorities = [];
            authorities.ImportFromPemFile(caFile);
            if (authorities.Count == 0)
            {
                throw new ArgumentException($"etcd CA file {caFile} holds no certificate");
            }
        }

        X509Certificate2? client = null;
        if (options.CertFile is { } certFile && options.KeyFile is { } keyFile)
        {
            client = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }

        string[] hosts = endpoints
            .Select(e => Uri.TryCreate(e.Contains("://", StringComparison.Ordinal) ? e : "https://" + e, UriKind.Absolute, out Uri? uri) ? uri.IdnHost : null)
            .OfType<string>()
            .ToArray();
        return new EtcdTls(authorities, client, hosts);
    }

    public void Configure(SslClientAuthenticationOptions ssl)
    {
        if (clientCertificate is not null)
        {
            ssl.ClientCertificates = [clientCertificate];
        }

        ssl.RemoteCertificateValidationCallback = Validate;
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }

        // The balancer dials the endpoints by address, so the name the TLS layer checked may not be the
        // endpoint's: accept a certificate valid for any configured endpoint host instead.
        using var server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        bool nameOk = (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
            || hosts.Any(h => server.MatchesHostname(h.Trim('[', ']')));
        if (!nameOk || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        if (authorities is null)
        {
            return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (X509ChainElement element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(server);
    }
}
