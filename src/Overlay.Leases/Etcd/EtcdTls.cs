using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Overlay.Leases.Etcd;

/// <summary>
/// TLS material for the etcd connection: the CA that signed the servers (when not the system's trust), and
/// the client certificate. Server certificates are checked against the CA and against the endpoint host names.
/// A connection it refuses fails with an <see cref="EtcdTlsException"/> that says which certificate, why, and
/// which file or flag to fix; <see cref="EtcdErrors.Describe"/> finds it under gRPC's error.
/// </summary>
internal sealed class EtcdTls
{
    private readonly EtcdOptions options;
    private readonly X509Certificate2Collection? authorities;
    private readonly X509Certificate2? clientCertificate;
    private readonly string[] hosts;
    private readonly TimeProvider time;

    private EtcdTls(EtcdOptions options, EtcdTlsMaterial material, string[] hosts, TimeProvider time)
    {
        this.options = options;
        authorities = material.Authorities;
        clientCertificate = material.ClientCertificate;
        this.hosts = hosts;
        this.time = time;
    }

    /// <summary>Reads the files; throws <see cref="ArgumentException"/> with the first problem (see <see cref="EtcdTlsMaterial"/>).</summary>
    public static EtcdTls Load(EtcdOptions options, IEnumerable<string> endpoints, TimeProvider? time = null)
    {
        EtcdTlsMaterial material = EtcdTlsMaterial.Read(options);
        if (material.Problems is [string problem, ..])
        {
            throw new ArgumentException(problem);
        }

        string[] hosts = endpoints
            .Select(e => Uri.TryCreate(e.Contains("://", StringComparison.Ordinal) ? e : "https://" + e, UriKind.Absolute, out Uri? uri) ? uri.IdnHost : null)
            .OfType<string>()
            .ToArray();
        return new EtcdTls(options, material, hosts, time ?? TimeProvider.System);
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
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            throw new EtcdTlsException($"etcd sent no server certificate ({Hosts}); check that the endpoints are etcd's client URLs");
        }

        // The balancer dials the endpoints by address, so the name the TLS layer checked may not be the
        // endpoint's: accept a certificate valid for any configured endpoint host instead.
        using var server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        bool nameOk = (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
            || hosts.Any(h => server.MatchesHostname(h.Trim('[', ']')));
        if (!nameOk)
        {
            throw new EtcdTlsException(
                $"etcd's certificate ({Describe(server)}) is not valid for {Hosts}; reissue etcd's certificate with the endpoint's name or address "
                + "in its subject alternative names, or give an endpoint it names with --etcd-endpoints");
        }

        if (authorities is null)
        {
            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                throw new EtcdTlsException(
                    $"etcd's certificate ({Describe(server)}) is not trusted by this system's CAs ({ChainProblem(chain)}); "
                    + "give the CA that issued it with --etcd-cafile");
            }
        }
        else
        {
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

            if (!custom.Build(server))
            {
                throw new EtcdTlsException(custom.ChainStatus.Any(s => s.Status is X509ChainStatusFlags.NotTimeValid) && custom.ChainStatus.All(s => s.Status is X509ChainStatusFlags.NotTimeValid or X509ChainStatusFlags.NoError)
                    ? $"etcd's certificate ({Describe(server)}) is outside its validity ({Validity(server)}); renew etcd's certificate"
                    : $"etcd's certificate ({Describe(server)}) is not signed by the CA in '{options.CaFile}' ({ChainProblem(custom)}); "
                        + "give the CA that issued etcd's certificate with --etcd-cafile");
            }
        }

        // Checked here, once etcd has shown who it is and before this side sends its certificate: etcd would refuse
        // an expired one with a bare TLS alert, which names neither the certificate nor the file.
        if (clientCertificate is not null)
        {
            DateTimeOffset now = time.GetUtcNow();
            if (now > clientCertificate.NotAfter.ToUniversalTime() || now < clientCertificate.NotBefore.ToUniversalTime())
            {
                throw new EtcdTlsException(
                    $"the client certificate '{options.CertFile}' (--etcd-certfile) {(now > clientCertificate.NotAfter.ToUniversalTime() ? "expired" : "is not valid yet")}: "
                    + $"it is valid {Validity(clientCertificate)}; renew it and its key (--etcd-keyfile)");
            }
        }

        return true;
    }

    private string Hosts => string.Join(", ", hosts);

    private static string Describe(X509Certificate2 certificate)
    {
        string names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault() is { } san
            ? string.Join(", ", san.EnumerateDnsNames().Select(n => "DNS:" + n).Concat(san.EnumerateIPAddresses().Select(a => "IP:" + a)))
            : "no subject alternative names";
        return $"{certificate.Subject}, for {names}, issued by {certificate.Issuer}";
    }

    private static string Validity(X509Certificate2 certificate) =>
        string.Create(CultureInfo.InvariantCulture, $"from {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z to {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z");

    private static string ChainProblem(X509Chain? chain) =>
        chain is null || chain.ChainStatus.Length == 0
            ? "no chain"
            : string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Where(s => s.Length > 0).Distinct());
}

/// <summary>This side refused etcd's TLS connection; the message says which certificate, why, and what to fix.</summary>
public sealed class EtcdTlsException : AuthenticationException
{
    public EtcdTlsException(string message)
        : base(message)
    {
    }

    public EtcdTlsException()
    {
    }

    public EtcdTlsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
