using System.Text.Json;
using Overlay.Core.Processes;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Packaging;

/// <summary>
/// The Debian package scripts/package-deb.sh builds, installed with dpkg on this machine (its programs answer from
/// the installed paths, and a purge leaves nothing of it behind) and in a container under a real systemd (its
/// maintainer scripts start, restart and stop overlayd). Built once per run; under scripts/test.sh it packages the
/// native overlayd and overlayctl test.sh published, so only the CNI plugin is published here.
/// </summary>
[NonParallelizable]
public class DebianPackageTests
{
    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(20);

    private string _work = "";
    private string _deb = "";
    private string _version = "";

    [OneTimeSetUp]
    public async Task Build_the_package()
    {
        Root.Require();
        foreach (string tool in new[] { "dpkg-deb", "dpkg-shlibdeps", "clang" })
        {
            if (!File.Exists("/usr/bin/" + tool))
            {
                Requirement.Unmet($"{tool} is not installed (scripts/install-deps.sh installs it)");
            }
        }

        if (Dpkg("-s", "overlay").Succeeded)
        {
            Requirement.Unmet("a package named overlay is installed on this machine; the test would replace and purge it");
        }

        _work = Directory.CreateTempSubdirectory("ovt-deb-").FullName;
        string script = Path.Combine(RepositoryRoot(), "scripts", "package-deb.sh");
        CommandResult built = await Shell.RunAsync("bash", [script, _work], BuildLimit);
        Assert.That(built.ExitCode, Is.Zero, $"{built.StdOut}\n{built.StdErr}");
        TestContext.Progress.WriteLine(built.StdOut);

        string[] debs = Directory.GetFiles(_work, "*.deb");
        Assert.That(debs, Has.Length.EqualTo(1), "one package in OUTDIR");
        _deb = debs[0];
        _version = Shell.Run("dpkg-deb", "--field", _deb, "Version").EnsureSuccess().StdOut.Trim();
    }

    [OneTimeTearDown]
    public void Remove_the_build()
    {
        if (_work.Length > 0)
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [Test]
    public void The_package_is_named_after_the_version_overlayd_prints_and_holds_each_part_where_Debian_looks()
    {
        string[] contents = Contents();
        string control = Shell.Run("dpkg-deb", "--info", _deb).EnsureSuccess().StdOut;

        Assert.That(Path.GetFileName(_deb), Is.EqualTo($"overlay_{_version}_amd64.deb"));
        Assert.That(_version, Does.Match(@"^\d+\.\d+\.\d+"));
        Assert.That(contents, Is.SupersetOf(new[]
        {
            "/usr/sbin/overlayd", "/usr/bin/overlayctl", "/usr/lib/cni/overlay",
            "/lib/systemd/system/overlayd.service", "/usr/lib/modules-load.d/overlayd.conf", "/etc/default/overlayd",
            "/usr/share/man/man8/overlayd.8.gz", "/usr/share/man/man1/overlayctl.1.gz",
            "/usr/share/doc/overlay/copyright", "/usr/share/doc/overlay/changelog.gz", "/usr/share/doc/overlay/operations.md.gz",
            "/usr/share/bash-completion/completions/overlayctl",
        }));
        Assert.That(control, Does.Contain("Package: overlay").And.Contain("Architecture: amd64").And.Match(@"Depends: libc6 \(>= [0-9.]+\)"));
        Assert.That(Shell.Run("dpkg-deb", "--info", _deb, "conffiles").EnsureSuccess().StdOut.Trim(), Is.EqualTo("/etc/default/overlayd"));
    }

    [Test]
    public async Task Installed_programs_answer_from_their_installed_paths_and_a_purge_leaves_nothing_behind()
    {
        string[] contents = Contents();
        HashSet<string> existedBefore = [.. contents.Where(Exists)];
        string? policy = null;
        try
        {
            policy = KeepServicesStopped();
            Dpkg("-i", _deb).EnsureSuccess();

            CommandResult overlayd = Shell.Run("/usr/sbin/overlayd", "--version");
            CommandResult overlayctl = Shell.Run("/usr/bin/overlayctl", "version");
            ChildProcessResult cni = await ChildProcess.RunAsync(
                "/usr/lib/cni/overlay", [], standardInput: """{"cniVersion":"1.0.0"}""",
                environment: new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, timeout: Shell.DefaultTimeout);

            Assert.That(overlayd.ExitCode, Is.Zero, overlayd.StdErr);
            Assert.That(overlayd.StdOut.Trim(), Is.EqualTo(_version));
            Assert.That(overlayctl.StdOut.Trim(), Is.EqualTo($"overlayctl {_version}"), overlayctl.StdErr);
            Assert.That(cni.ExitCode, Is.Zero, cni.StandardError);
            using (JsonDocument answer = JsonDocument.Parse(cni.StandardOutput))
            {
                Assert.That(answer.RootElement.GetProperty("supportedVersions").EnumerateArray().Select(v => v.GetString()), Does.Contain("1.0.0"));
            }

            Assert.That(Shell.Run("/usr/bin/overlayctl", "pod", "run", "--help").StdOut, Does.Contain("/usr/lib/cni"),
                "overlayctl pod run looks for the plugin where the package puts it");
            Assert.That(DocumentationOfTheUnit(), Is.Not.Empty.And.All.Matches<string>(File.Exists),
                "the unit's Documentation= names files the package installed");
            Assert.That(MadeByPostinst(), Does.Contain("/etc/systemd/system/multi-user.target.wants/overlayd.service"),
                "postinst enables overlayd.service, as Debian enables a packaged service");
            Assert.That(Dpkg("--purge", "overlay").ExitCode, Is.Zero);

            Assert.That(contents.Where(p => !existedBefore.Contains(p)).Where(Exists), Is.Empty, "files and folders of the package left after purge");
            Assert.That(MadeByPostinst(), Is.Empty, "what postinst made, left after purge");
            Assert.That(Dpkg("-s", "overlay").Succeeded, Is.False, "dpkg forgot the package");
        }
        finally
        {
            // Whatever failed above: the machine keeps no overlay package for the tests after this one.
            if (Dpkg("-s", "overlay").Succeeded)
            {
                _ = Dpkg("--purge", "overlay");
            }

            if (policy is not null)
            {
                File.Delete(policy);
            }
        }
    }

    [Test]
    public async Task Under_systemd_install_starts_overlayd_without_waiting_for_etcd_upgrade_keeps_the_settings_and_restarts_it_and_purge_forgets_it()
    {
        await SystemdContainer.EnsureRootAsync();
        await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Path.Combine(_work, "unused-overlayd"),
            Nodes = 1,
            StartDaemons = false,
        });
        await using SystemdContainer container = await SystemdContainer.BootAsync(new SystemdContainerOptions { Network = cluster.Nodes[0].Ns });
        try
        {
            File.Copy(_deb, container.HostPath("/tmp/overlay.deb"));

            // Nothing configured yet: overlayd waits for the default etcd, and dpkg must not wait for it (Exec gives up after 60 s).
            CommandResult installed = container.Exec("dpkg", "-i", "/tmp/overlay.deb");
            Assert.That(installed.ExitCode, Is.Zero, $"{installed.StdOut}\n{installed.StdErr}");
            Assert.That(container.Systemctl("is-enabled", "overlayd").StdOut.Trim(), Is.EqualTo("enabled"));
            Assert.That(Poll.Until(() => container.State("overlayd").ActiveState is "activating" or "active", TimeSpan.FromSeconds(30)), Is.True,
                $"postinst started overlayd: {container.State("overlayd")}");

            // The packaged unit, binary and environment file run a node once etcd is named.
            string settings = container.ReadFile("/etc/default/overlayd")!;
            container.WriteFile("/etc/default/overlayd", settings + $"FLANNELD_ETCD_ENDPOINTS={cluster.Etcd.Endpoint}\n");
            container.Systemctl("restart", "--no-block", "overlayd").EnsureSuccess();
            Assert.That(Poll.Until(() => container.State("overlayd") is { ActiveState: "active", SubState: "running" }, TimeSpan.FromSeconds(60)), Is.True,
                $"overlayd ready under systemd: {container.State("overlayd")}");
            Assert.That(cluster.LeasesInEtcd(), Has.Count.EqualTo(1), "the node took its lease");

            // An upgrade (here the same version again) keeps the edited settings and restarts overlayd, without waiting.
            int before = container.State("overlayd").MainPid;
            CommandResult upgraded = container.Exec("dpkg", "-i", "/tmp/overlay.deb");
            Assert.That(upgraded.ExitCode, Is.Zero, $"{upgraded.StdOut}\n{upgraded.StdErr}");
            Assert.That(container.ReadFile("/etc/default/overlayd"), Does.EndWith($"FLANNELD_ETCD_ENDPOINTS={cluster.Etcd.Endpoint}\n"), "the conffile as edited");
            Assert.That(Poll.Until(() => container.State("overlayd") is { ActiveState: "active", MainPid: var pid } && pid != before, TimeSpan.FromSeconds(60)), Is.True,
                $"overlayd restarted and ready again: {container.State("overlayd")} (main pid before {before})");

            CommandResult purged = container.Exec("dpkg", "--purge", "overlay");
            Assert.That(purged.ExitCode, Is.Zero, $"{purged.StdOut}\n{purged.StdErr}");
            Assert.That(container.State("overlayd").ActiveState, Is.EqualTo("inactive"), "prerm stopped it");
            Assert.That(container.Exec("test", "-e", "/etc/systemd/system/multi-user.target.wants/overlayd.service").ExitCode, Is.Not.Zero, "the enablement is gone");
            Assert.That(container.Exec("test", "-e", "/etc/default/overlayd").ExitCode, Is.Not.Zero, "the conffile is gone");
            Assert.That(container.Systemctl("cat", "overlayd").ExitCode, Is.Not.Zero, "systemd no longer knows the unit");
        }
        finally
        {
            container.AttachLogsIfFailed("overlayd");
        }
    }

    /// <summary>Every path the package holds, as an absolute path (dpkg-deb lists them as ./usr/...).</summary>
    private string[] Contents() =>
        [.. Shell.Run("dpkg-deb", "--contents", _deb).EnsureSuccess().StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line[(line.IndexOf(" ./", StringComparison.Ordinal) + 2)..].Split(" -> ")[0].TrimEnd('/'))
            .Where(path => path.Length > 0)];

    private static bool Exists(string path) => File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;

    /// <summary>The enablement symlinks and deb-systemd-helper's records of them.</summary>
    private static string[] MadeByPostinst() =>
        [.. new[] { "/etc/systemd/system", "/var/lib/systemd/deb-systemd-helper-enabled", "/var/lib/systemd/deb-systemd-helper-masked" }
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
            .Where(path => Path.GetFileName(path).Contains("overlayd", StringComparison.Ordinal))];

    /// <summary>The files the installed unit's Documentation= names (man: pages as their installed files).</summary>
    private static string[] DocumentationOfTheUnit() =>
        [.. File.ReadAllLines("/lib/systemd/system/overlayd.service")
            .Where(line => line.StartsWith("Documentation=", StringComparison.Ordinal))
            .SelectMany(line => line["Documentation=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(uri => uri.StartsWith("file://", StringComparison.Ordinal)
                ? uri["file://".Length..]
                : uri.StartsWith("man:", StringComparison.Ordinal) && uri.EndsWith(')')
                    ? $"/usr/share/man/man{uri[^2]}/{uri[4..uri.IndexOf('(', StringComparison.Ordinal)]}.{uri[^2]}.gz"
                    : uri)];

    /// <summary>
    /// Where systemd runs, postinst would start overlayd: a policy-rc.d that refuses (exit 101) keeps the machine's
    /// network as it is. Returns the file to delete afterwards, or null when none was needed or one is there already.
    /// </summary>
    private static string? KeepServicesStopped()
    {
        const string policy = "/usr/sbin/policy-rc.d";
        if (!Directory.Exists("/run/systemd/system") || File.Exists(policy))
        {
            return null;
        }

        File.WriteAllText(policy, "#!/bin/sh\n# written by Overlay's DebianPackageTests while it installs the package\nexit 101\n");
        File.SetUnixFileMode(policy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return policy;
    }

    /// <summary>dpkg, waiting while another process (apt-get in another test run) holds its lock.</summary>
    private static CommandResult Dpkg(params string[] args)
    {
        CommandResult result = Shell.Run("dpkg", args);
        for (int attempt = 0; attempt < 60 && result.ExitCode != 0 && result.StdErr.Contains("lock", StringComparison.Ordinal); attempt++)
        {
            Thread.Sleep(TimeSpan.FromSeconds(2));
            result = Shell.Run("dpkg", args);
        }

        return result;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? folder = new(TestContext.CurrentContext.TestDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "scripts", "package-deb.sh")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no scripts/package-deb.sh above {TestContext.CurrentContext.TestDirectory}");
    }
}
