using System.Globalization;
using Overlay.TestKit;

namespace Overlay.Demo;

/// <summary>
/// What one demo run made, recorded in a state file (/run/overlay-demo/PID) as it makes it, so that
/// <c>--teardown</c> after a killed run removes exactly that: its namespaces (all named by its lab prefix,
/// <c>ovt&lt;pid&gt;x</c>, with whatever runs in them), their /etc/netns folders and its temp folders. Other
/// <c>ovt*</c> namespaces (test runs, other demos) are not touched. A run that ends normally removes its file.
/// </summary>
public sealed class DemoRun
{
    public const string StateFolder = "/run/overlay-demo";

    private const string NamespacesKey = "namespaces=";
    private const string FolderKey = "folder=";

    private readonly string _file;

    private DemoRun(string file) => _file = file;

    /// <summary>Starts this process's record: its namespace prefix, before any namespace exists.</summary>
    public static DemoRun Begin()
    {
        Directory.CreateDirectory(StateFolder);
        string file = Path.Combine(StateFolder, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        File.WriteAllText(file, NamespacesKey + NamespacePrefixOf(Environment.ProcessId) + "\n");
        return new DemoRun(file);
    }

    /// <summary>The prefix of every namespace a demo with this pid makes (NetworkLab's names: ovt&lt;pid&gt;x&lt;lab&gt;-&lt;role&gt;).</summary>
    public static string NamespacePrefixOf(int pid) => $"{NetworkLab.NamePrefix}{pid.ToString(CultureInfo.InvariantCulture)}x";

    public void AddFolder(string folder) => File.AppendAllText(_file, FolderKey + folder + "\n");

    /// <summary>The run ended and cleaned up after itself.</summary>
    public void End() => File.Delete(_file);

    /// <summary>
    /// Removes what every recorded run whose process is gone made; a run still going is left alone (end it with
    /// Enter or Ctrl+C in its terminal). Writes a line per thing removed; returns how many runs were torn down.
    /// </summary>
    public static int TearDown(TextWriter output)
    {
        string[] files = Directory.Exists(StateFolder) ? Directory.GetFiles(StateFolder) : [];
        int done = 0;
        foreach (string file in files)
        {
            if (!int.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            if (ProcessState.IsAlive(pid))
            {
                output.WriteLine($"demo {pid} still runs: press Enter or Ctrl+C in its terminal to end it; left alone");
                continue;
            }

            string[] lines = File.ReadAllLines(file);
            foreach (string prefix in Values(lines, NamespacesKey))
            {
                foreach (string name in NetworkLab.ListNamespaceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    foreach (string process in Shell.Run("ip", "netns", "pids", name).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        Shell.Run("kill", "-9", process);
                    }

                    Shell.Run("ip", "netns", "del", name);
                    output.WriteLine($"removed namespace {name}");
                }

                foreach (string folder in Directory.Exists("/etc/netns") ? Directory.GetDirectories("/etc/netns", prefix + "*") : [])
                {
                    Directory.Delete(folder, recursive: true);
                    output.WriteLine($"removed {folder}");
                }
            }

            foreach (string folder in Values(lines, FolderKey).Where(Directory.Exists))
            {
                Directory.Delete(folder, recursive: true);
                output.WriteLine($"removed {folder}");
            }

            File.Delete(file);
            done++;
        }

        if (done == 0)
        {
            output.WriteLine($"nothing to tear down: no record of an ended demo run in {StateFolder}");
        }

        return done;
    }

    private static IEnumerable<string> Values(string[] lines, string key) =>
        lines.Where(l => l.StartsWith(key, StringComparison.Ordinal) && l.Length > key.Length).Select(l => l[key.Length..]);
}
