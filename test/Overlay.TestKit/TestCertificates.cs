namespace Overlay.TestKit;

/// <summary>
/// A throw-away PKI made with openssl: a CA, a server certificate (usable by etcd, whose gateway also dials itself
/// with it, hence clientAuth too) and a client certificate with CN "overlay-client". P-256 keys keep creation fast.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }
    public string CaFile => System.IO.Path.Combine(Directory, "ca.pem");
    public string CaKeyFile => System.IO.Path.Combine(Directory, "ca-key.pem");
    public string ServerCertFile => System.IO.Path.Combine(Directory, "server.pem");
    public string ServerKeyFile => System.IO.Path.Combine(Directory, "server-key.pem");
    public string ClientCertFile => System.IO.Path.Combine(Directory, "client.pem");
    public string ClientKeyFile => System.IO.Path.Combine(Directory, "client-key.pem");

    public static TestCertificates Create(params string[] serverIps)
    {
        var certificates = new TestCertificates(System.IO.Directory.CreateTempSubdirectory($"ovt-pki-{Environment.ProcessId}-").FullName);
        try
        {
            certificates.Generate(serverIps);
            return certificates;
        }
        catch
        {
            certificates.Dispose();
            throw;
        }
    }

    private void Generate(string[] serverIps)
    {
        OpenSsl("req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", CaKeyFile, "-out", CaFile, "-days", "7", "-subj", "/CN=overlay-test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign");

        List<string> sans = ["IP:127.0.0.1", "DNS:localhost", .. serverIps.Where(ip => ip != "127.0.0.1").Select(ip => $"IP:{ip}")];
        Issue("server", "overlay-etcd-server", ServerCertFile, ServerKeyFile,
            $"subjectAltName={string.Join(',', sans)}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n");
        Issue("client", "overlay-client", ClientCertFile, ClientKeyFile,
            "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
    }

    private void Issue(string role, string commonName, string certFile, string keyFile, string extensions)
    {
        var csr = System.IO.Path.Combine(Directory, $"{role}.csr");
        var extFile = System.IO.Path.Combine(Directory, $"{role}.ext");
        File.WriteAllText(extFile, extensions);
        OpenSsl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", keyFile, "-out", csr, "-subj", $"/CN={commonName}");
        OpenSsl("x509", "-req", "-in", csr, "-CA", CaFile, "-CAkey", CaKeyFile, "-CAcreateserial",
            "-out", certFile, "-days", "7", "-extfile", extFile);
    }

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
