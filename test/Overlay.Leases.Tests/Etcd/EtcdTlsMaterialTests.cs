using Overlay.Leases.Etcd;
using Overlay.TestKit;

namespace Overlay.Leases.Tests.Etcd;

/// <summary>The TLS files are read and checked before any connection; each problem names the file, what is wrong and the fix.</summary>
public sealed class EtcdTlsMaterialTests
{
    private CertificateAuthority authority = null!;
    private CertificateFiles client = null!;
    private CertificateFiles other = null!;

    [OneTimeSetUp]
    public void MakeCertificates()
    {
        authority = CertificateAuthority.Create();
        client = authority.IssueClient("overlay-client");
        other = authority.IssueClient("someone-else");
    }

    [OneTimeTearDown]
    public void DeleteCertificates() => authority.Dispose();

    private EtcdOptions Options(string? ca = null, string? cert = null, string? key = null) =>
        new() { Endpoints = ["https://192.0.2.1:2379"], CaFile = ca ?? authority.CaFile, CertFile = cert ?? client.CertFile, KeyFile = key ?? client.KeyFile };

    [Test]
    public void Good_files_give_the_CA_and_the_client_certificate_with_its_key()
    {
        EtcdTlsMaterial material = EtcdTlsMaterial.Read(Options());

        Assert.That(material.Problems, Is.Empty);
        Assert.That(material.Authorities!.Single().Subject, Is.EqualTo("CN=overlay-test-ca"));
        Assert.That(material.ClientCertificate!.HasPrivateKey, Is.True);
        Assert.That(material.ClientCertificate.Subject, Is.EqualTo("CN=overlay-client"));
    }

    [Test]
    public void A_CA_file_that_is_not_PEM_is_named_with_the_fix()
    {
        string garbage = authority.WriteFile("garbage.pem", "this is not a certificate\n");

        Assert.That(EtcdTlsMaterial.Read(Options(ca: garbage)).Problems, Is.EqualTo(new[]
        {
            $"flag --etcd-cafile: '{garbage}' holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); give the certificate of the CA that signed etcd's server certificates, in PEM form (-----BEGIN CERTIFICATE-----)",
        }));
    }

    [Test]
    public void A_key_given_as_the_CA_is_not_a_certificate()
    {
        Assert.That(EtcdTlsMaterial.Read(Options(ca: authority.CaKeyFile)).Problems.Single(), Does.StartWith($"flag --etcd-cafile: '{authority.CaKeyFile}' holds no PEM certificate"));
    }

    [Test]
    public void A_certificate_given_as_the_key_is_no_private_key()
    {
        Assert.That(EtcdTlsMaterial.Read(Options(key: client.CertFile)).Problems, Is.EqualTo(new[]
        {
            $"flag --etcd-keyfile: '{client.CertFile}' holds no PEM private key (no -----BEGIN PRIVATE KEY----- block); give the client certificate's private key in PEM form",
        }));
    }

    [Test]
    public void A_key_given_as_the_certificate_is_no_certificate()
    {
        Assert.That(EtcdTlsMaterial.Read(Options(cert: client.KeyFile)).Problems.Single(), Does.StartWith($"flag --etcd-certfile: '{client.KeyFile}' holds no PEM certificate"));
    }

    [Test]
    public void The_key_of_another_certificate_does_not_belong_to_it()
    {
        Assert.That(EtcdTlsMaterial.Read(Options(key: other.KeyFile)).Problems, Is.EqualTo(new[]
        {
            $"flag --etcd-keyfile: the key in '{other.KeyFile}' does not belong to the certificate in '{client.CertFile}' (flag --etcd-certfile): "
                + "The provided key does not match the public key for this certificate; give the key the certificate was issued for",
        }));
    }

    [Test]
    public void A_missing_file_is_named_by_where_it_came_from()
    {
        string missing = authority.MissingFile("client-key.pem");

        IReadOnlyList<string> problems = EtcdTlsMaterial.Read(Options(key: missing), flag => $"environment variable FLANNELD_{flag.Name.ToUpperInvariant().Replace('-', '_')}").Problems;

        Assert.That(problems, Is.EqualTo(new[] { $"environment variable FLANNELD_ETCD_KEYFILE: file '{missing}' does not exist; give the path of a PEM file" }));
    }

    [Test]
    public void An_expired_client_certificate_is_not_a_problem_of_the_files()
    {
        // Its dates are checked at each connection (etcd may not ask for it; a renewed file needs a restart): see EtcdTls.
        CertificateFiles expired = authority.IssueExpiredClient("expired");

        EtcdTlsMaterial material = EtcdTlsMaterial.Read(Options(cert: expired.CertFile, key: expired.KeyFile));

        Assert.That(material.Problems, Is.Empty);
        Assert.That(material.ClientCertificate!.NotAfter, Is.LessThan(DateTime.Now));
    }
}
