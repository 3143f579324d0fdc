using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Overlay.Leases.Etcd;

/// <summary>
/// The TLS files read and checked before any connection: the CA bundle and the client certificate with its key.
/// Each problem is one sentence naming where the file came from (<c>flag --etcd-cafile</c>, a variable), the file,
/// what is wrong with it and what to give instead; <see cref="EtcdFlags"/> reports them as usage errors.
/// </summary>
public sealed class EtcdTlsMaterial
{
    private EtcdTlsMaterial(X509Certificate2Collection? authorities, X509Certificate2? clientCertificate, IReadOnlyList<string> problems)
    {
        Authorities = authorities;
        ClientCertificate = clientCertificate;
        Problems = problems;
    }

    /// <summary>The CA certificates of <c>--etcd-cafile</c>, or null for the system's trust store.</summary>
    public X509Certificate2Collection? Authorities { get; }

    /// <summary>The client certificate with its private key, or null when none is configured.</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary>Everything wrong with the files; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>
    /// Reads the files of <paramref name="options"/>. <paramref name="sourceOf"/> names where a flag's value came
    /// from (default <c>flag --NAME</c>). A file that does not exist is reported as such (as <see cref="EtcdFlags"/> does).
    /// </summary>
    public static EtcdTlsMaterial Read(EtcdOptions options, Func<EtcdFlag, string>? sourceOf = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        sourceOf ??= flag => $"flag --{flag.Name}";
        var problems = new List<string>();

        X509Certificate2Collection? authorities = null;
        if (options.CaFile is { } caFile && ReadText(EtcdFlags.CaFile, caFile) is { } caText)
        {
            authorities = [];
            try
            {
                authorities.ImportFromPem(caText);
                if (authorities.Count == 0)
                {
                    problems.Add($"{sourceOf(EtcdFlags.CaFile)}: '{caFile}' holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); {GiveCa}");
                }
            }
            catch (CryptographicException e)
            {
                problems.Add($"{sourceOf(EtcdFlags.CaFile)}: '{caFile}' holds a certificate that cannot be read ({e.Message.TrimEnd('.')}); {GiveCa}");
            }

        }

        X509Certificate2? client = null;
        if (options.CertFile is { } certFile && options.KeyFile is { } keyFile)
        {
            string? certText = ReadText(EtcdFlags.CertFile, certFile);
            string? keyText = ReadText(EtcdFlags.KeyFile, keyFile);
            string? certProblem = certText is null ? null : CertificateProblem(certText);
            string? keyProblem = keyText is null ? null : KeyProblem(keyText);
            if (certProblem is not null)
            {
                problems.Add($"{sourceOf(EtcdFlags.CertFile)}: '{certFile}' {certProblem}; give the client certificate in PEM form (-----BEGIN CERTIFICATE-----)");
            }

            if (keyProblem is not null)
            {
                problems.Add($"{sourceOf(EtcdFlags.KeyFile)}: '{keyFile}' {keyProblem}");
            }

            if (certText is not null && keyText is not null && certProblem is null && keyProblem is null)
            {
                try
                {
                    client = X509Certificate2.CreateFromPem(certText, keyText);
                }
                catch (Exception e) when (e is CryptographicException or ArgumentException)
                {
                    problems.Add($"{sourceOf(EtcdFlags.KeyFile)}: the key in '{keyFile}' does not belong to the certificate in '{certFile}' ({sourceOf(EtcdFlags.CertFile)}): {FirstSentence(e.Message)}; give the key the certificate was issued for");
                }
            }
        }

        return new EtcdTlsMaterial(authorities, client, problems);

        string? ReadText(EtcdFlag flag, string path)
        {
            try
            {
                return File.ReadAllText(path);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                problems.Add($"{sourceOf(flag)}: file '{path}' does not exist; give the path of a PEM file");
            }
            catch (UnauthorizedAccessException)
            {
                problems.Add($"{sourceOf(flag)}: cannot read '{path}' (permission denied); let the user the program runs as read it (e.g. chgrp the file to its group and chmod g+r)");
            }
            catch (IOException e)
            {
                problems.Add($"{sourceOf(flag)}: cannot read '{path}' ({e.Message}); give the path of a PEM file");
            }

            return null;
        }
    }

    private const string GiveCa = "give the certificate of the CA that signed etcd's server certificates, in PEM form (-----BEGIN CERTIFICATE-----)";

    /// <summary>What is wrong with a client certificate file's text, or null.</summary>
    private static string? CertificateProblem(string text)
    {
        if (!HasPemBlock(text, label => label == "CERTIFICATE"))
        {
            return "holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)";
        }

        try
        {
            using X509Certificate2 _ = X509Certificate2.CreateFromPem(text);
            return null;
        }
        catch (CryptographicException e)
        {
            return $"holds a certificate that cannot be read ({e.Message.TrimEnd('.')})";
        }
    }

    /// <summary>What is wrong with a key file's text (the whole sentence's end, with the fix), or null.</summary>
    private static string? KeyProblem(string text)
    {
        if (HasPemBlock(text, label => label == "ENCRYPTED PRIVATE KEY"))
        {
            return "holds an encrypted private key; give the key unencrypted (openssl pkey -in KEY -out KEY.pem), readable only by the program's user";
        }

        if (!HasPemBlock(text, label => label.EndsWith("PRIVATE KEY", StringComparison.Ordinal)))
        {
            return "holds no PEM private key (no -----BEGIN PRIVATE KEY----- block); give the client certificate's private key in PEM form";
        }

        return null;
    }

    /// <summary>"The provided key does not match ... certificate." of "... certificate. (Parameter 'privateKey')".</summary>
    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end < 0 ? message : message[..end]).TrimEnd('.');
    }

    private static bool HasPemBlock(string text, Func<string, bool> label)
    {
        ReadOnlySpan<char> rest = text;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            if (label(rest[fields.Label].ToString()))
            {
                return true;
            }

            rest = rest[fields.Location.End..];
        }

        return false;
    }
}
