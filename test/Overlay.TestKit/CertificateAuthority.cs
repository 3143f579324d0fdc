using System.Globalization;

namespace Overlay.TestKit;

/// <summary>A certificate and its private key, as PEM files.</summary>
public sealed record CertificateFiles(string CertFile, string KeyFile);

/// <summary>
/// A throw-away certificate authority made with openssl, for TLS tests that need more than <see cref="TestCertificates"/>'
/// one good set: server certificates for chosen names only, client certificates valid at chosen times (an expired one),
/// and bad material (a file that is not PEM, a key of another certificate, a path that does not exist). P-256 keys
/// keep creation fast (about 50 ms a certificate). Files live in a temporary folder removed on dispose.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private int issued;

    private CertificateAuthority(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>The CA's certificate: what <c>--etcd-cafile</c> or etcd's <c>--trusted-ca-file</c> takes.</summary>
    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string CaKeyFile => Path.Combine(Directory, "ca-key.pem");

    /// <summary>A new CA (another one is unrelated to it: nothing it signs is trusted by the first).</summary>
    public static CertificateAuthority Create(string commonName = "overlay-test-ca")
    {
        if (!(Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Any(folder => File.Exists(Path.Combine(folder, "openssl"))))
        {
            Requirement.Unmet("needs openssl to make certificates (Debian: apt-get install openssl; scripts/install-deps.sh installs it)");
        }

        var authority = new CertificateAuthority(System.IO.Directory.CreateTempSubdirectory($"ovt-pki-{Environment.ProcessId}-").FullName);
        try
        {
            OpenSsl("req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", authority.CaKeyFile, "-out", authority.CaFile, "-days", "7", "-subj", $"/CN={commonName}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
            return authority;
        }
        catch
        {
            authority.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A server certificate for exactly these subject alternative names ("IP:192.0.2.1", "DNS:etcd.example.test"),
    /// also good for client authentication (etcd's gateway dials itself with it).
    /// </summary>
    public CertificateFiles IssueServer(string name, params string[] subjectAltNames) =>
        Issue(name, $"subjectAltName={string.Join(',', subjectAltNames)}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n");

    /// <summary>A client certificate valid from now for a week.</summary>
    public CertificateFiles IssueClient(string name) =>
        Issue(name, "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");

    /// <summary>A client certificate valid only between two past times (two days ago to one day ago unless given).</summary>
    public CertificateFiles IssueExpiredClient(string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return Issue(name, "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n", notBefore ?? now.AddDays(-2), notAfter ?? now.AddDays(-1));
    }

    /// <summary>Writes a file of this authority's folder (for bad material: not PEM, a certificate's text as a key...).</summary>
    public string WriteFile(string name, string content)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A path in this authority's folder where no file is.</summary>
    public string MissingFile(string name) => Path.Combine(Directory, "missing", name);

    /// <summary>
    /// <paramref name="certificate"/> with <paramref name="otherKey"/>'s key: a key that does not belong to the certificate.
    /// </summary>
    public static CertificateFiles WithKeyOf(CertificateFiles certificate, CertificateFiles otherKey) => certificate with { KeyFile = otherKey.KeyFile };

    /// <summary>
    /// Signs a new P-256 key's request. Without dates, <c>openssl x509 -req</c> (valid from now for 7 days); with dates,
    /// <c>openssl ca</c>, the one openssl 3.0 command that takes a start and end (x509's -not_before came in 3.4).
    /// </summary>
    private CertificateFiles Issue(string name, string extensions, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        int number = Interlocked.Increment(ref issued);
        string stem = Path.Combine(Directory, $"{number.ToString(CultureInfo.InvariantCulture)}-{name}");
        var files = new CertificateFiles(stem + ".pem", stem + "-key.pem");
        string csr = stem + ".csr";
        string extFile = stem + ".ext";
        File.WriteAllText(extFile, extensions);
        OpenSsl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", files.KeyFile, "-out", csr, "-subj", $"/CN={name}");
        if (notBefore is null && notAfter is null)
        {
            OpenSsl("x509", "-req", "-in", csr, "-CA", CaFile, "-CAkey", CaKeyFile, "-CAcreateserial",
                "-out", files.CertFile, "-days", "7", "-extfile", extFile);
            return files;
        }

        // openssl ca keeps a database and a serial; one per certificate keeps issuers independent.
        string database = stem + ".db";
        System.IO.Directory.CreateDirectory(database);
        File.WriteAllText(Path.Combine(database, "index"), "");
        File.WriteAllText(Path.Combine(database, "serial"), $"{Random.Shared.Next(0x1000, 0xFFFF):X4}\n");
        string config = stem + ".cnf";
        File.WriteAllText(config, $"""
            [ca]
            default_ca = issuing
            [issuing]
            database = {database}/index
            serial = {database}/serial
            new_certs_dir = {database}
            default_md = sha256
            policy = any
            unique_subject = no
            [any]
            commonName = supplied

            """);
        OpenSsl("ca", "-batch", "-notext", "-config", config, "-cert", CaFile, "-keyfile", CaKeyFile, "-in", csr, "-out", files.CertFile,
            "-startdate", OpenSslTime(notBefore ?? DateTimeOffset.UtcNow), "-enddate", OpenSslTime(notAfter ?? DateTimeOffset.UtcNow.AddDays(7)),
            "-extfile", extFile);
        return files;
    }

    private static string OpenSslTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMddHHmmss'Z'", CultureInfo.InvariantCulture);

    private static void OpenSsl(params string[] args) => Shell.Run("openssl", args).EnsureSuccess();

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already deleted.
        }
    }
}
