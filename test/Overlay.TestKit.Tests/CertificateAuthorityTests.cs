using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;

namespace Overlay.TestKit.Tests;

/// <summary>The certificate authority fixture makes what it says, checked by openssl and .NET, not by itself.</summary>
public sealed class CertificateAuthorityTests
{
    [Test]
    public void It_issues_server_certificates_for_exactly_the_given_names_and_expired_clients_with_past_dates()
    {
        using CertificateAuthority authority = CertificateAuthority.Create();
        using CertificateAuthority stranger = CertificateAuthority.Create("stranger-ca");

        CertificateFiles server = authority.IssueServer("etcd", "IP:203.0.113.9", "DNS:etcd.example.test");
        CertificateFiles expired = authority.IssueExpiredClient("old");
        CertificateFiles foreign = stranger.IssueClient("overlay-client");

        string names = Shell.Run("openssl", "x509", "-in", server.CertFile, "-noout", "-ext", "subjectAltName").EnsureSuccess().StdOut;
        Assert.That(names.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)[1], Is.EqualTo("IP Address:203.0.113.9, DNS:etcd.example.test"));
        Shell.Run("openssl", "verify", "-CAfile", authority.CaFile, server.CertFile).EnsureSuccess();

        using X509Certificate2 old = X509Certificate2.CreateFromPemFile(expired.CertFile, expired.KeyFile);
        Assert.That(old.NotAfter.ToUniversalTime(), Is.LessThan(DateTime.UtcNow.AddHours(-23)));
        Assert.That(old.NotBefore.ToUniversalTime(), Is.LessThan(old.NotAfter.ToUniversalTime()));
        Assert.That(Shell.Run("openssl", "verify", "-CAfile", authority.CaFile, expired.CertFile).StdErr, Does.Contain("certificate has expired"));
        Assert.That(Shell.Run("openssl", "verify", "-CAfile", authority.CaFile, "-no_check_time", expired.CertFile).ExitCode, Is.Zero, "signed by the CA, only out of date");

        Assert.That(Shell.Run("openssl", "verify", "-CAfile", authority.CaFile, foreign.CertFile).ExitCode, Is.Not.Zero, "the other CA's certificate is not trusted");
        Assert.That(File.Exists(authority.MissingFile("key.pem")), Is.False);
        Assert.That(File.ReadAllText(authority.WriteFile("ca.pem", "not PEM\n")), Is.EqualTo("not PEM\n"));
    }

    [Test]
    public void Disposing_it_deletes_its_files()
    {
        CertificateAuthority authority = CertificateAuthority.Create();
        CertificateFiles client = authority.IssueClient("overlay-client");

        authority.Dispose();

        Assert.That(File.Exists(client.CertFile) || Directory.Exists(authority.Directory), Is.False);
    }
}
