using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Overlay.TestKit;

/// <summary>One network namespace of a <see cref="NetworkLab"/>; deleted with the lab.</summary>
public sealed class NetNs
{
    private readonly NetworkLab lab;

    internal NetNs(NetworkLab lab, string name)
    {
        this.lab = lab;
        Name = name;
    }

    public string Name { get; }

    public string Path => $"/run/netns/{Name}";

    public override string ToString() => Name;

    public CommandResult Exec(params string[] argv) => Shell.Run("ip", ["netns", "exec", Name, .. argv]);

    public CommandResult ExecChecked(params string[] argv) => Exec(argv).EnsureSuccess();

    /// <summary>
    /// Starts a background process inside the namespace. Its stdout and stderr are collected and readable through
    /// <c>process.Output</c> (see <see cref="ProcessOutput"/>). The lab kills it on Dispose.
    /// </summary>
    public Process Start(string file, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        // `ip netns exec` execs the program in place, so the returned process is the program itself.
        var process = Shell.StartRedirected("ip", ["netns", "exec", Name, file, .. args], env);
        ProcessOutput.Capture(process);
        lab.Track(process);
        return process;
    }

    /// <summary>
    /// /etc/netns/NAME: `ip netns exec NAME` bind-mounts each file in it over the file of the same name in /etc, so a
    /// process started in the namespace reads its own resolv.conf (or hosts). The lab deletes the folder with the namespace.
    /// </summary>
    public string EtcFolder => EtcFolderOf(Name);

    /// <summary>
    /// Sets the resolv.conf that processes started in this namespace with `ip netns exec` (<see cref="Exec"/>,
    /// <see cref="Start"/>, <see cref="OverlayCluster"/>'s overlayd) read instead of the host's.
    /// </summary>
    public void SetResolvConf(string text)
    {
        Directory.CreateDirectory(EtcFolder);
        File.WriteAllText(System.IO.Path.Combine(EtcFolder, "resolv.conf"), text);
    }

    internal static string EtcFolderOf(string name) => $"/etc/netns/{name}";

    public JsonElement IpJson(params string[] args) => ParseJson(Shell.Run("ip", ["-n", Name, "-j", .. args]).EnsureSuccess());

    public JsonElement BridgeJson(params string[] args) => ParseJson(Exec(["bridge", "-j", .. args]).EnsureSuccess());

    /// <summary>Adds an address; IPv6 addresses skip duplicate address detection so they are usable at once.</summary>
    public void AddAddress(string device, string cidr)
    {
        if (cidr.Contains(':', StringComparison.Ordinal))
        {
            ExecIp("addr", "add", cidr, "dev", device, "nodad");
        }
        else
        {
            ExecIp("addr", "add", cidr, "dev", device);
        }
    }

    public void SetUp(string device) => ExecIp("link", "set", device, "up");

    public bool Ping(string address, int count = 1, double timeoutSeconds = 1) =>
        Exec("ping", "-n", "-q", "-c", count.ToString(CultureInfo.InvariantCulture),
            "-W", timeoutSeconds.ToString(CultureInfo.InvariantCulture), address).ExitCode == 0;

    internal CommandResult ExecIp(params string[] args) => Shell.Run("ip", ["-n", Name, .. args]).EnsureSuccess();

    private static JsonElement ParseJson(CommandResult result)
    {
        // Some `ip -j` listings print nothing at all instead of "[]" when there is nothing to list.
        var text = string.IsNullOrWhiteSpace(result.StdOut) ? "[]" : result.StdOut;
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

/// <summary>The captured stdout+stderr of processes started with <see cref="NetNs.Start"/>.</summary>
public static class ProcessOutput
{
    private static readonly ConditionalWeakTable<Process, StringBuilder> Buffers = [];
    private static readonly ConditionalWeakTable<Process, Task> Pumps = [];

    extension(Process process)
    {
        /// <summary>Everything the process printed so far, stdout and stderr interleaved line by line.</summary>
        public string Output => Of(process);
    }

    public static string Of(Process process)
    {
        if (!Buffers.TryGetValue(process, out var buffer))
        {
            throw new InvalidOperationException("the process was not started with NetNs.Start, so its output is not captured");
        }
        lock (buffer)
        {
            return buffer.ToString();
        }
    }

    internal static void Capture(Process process)
    {
        var buffer = new StringBuilder();
        Buffers.Add(process, buffer);
        Pumps.Add(process, Task.WhenAll(Pump(process.StandardOutput, buffer), Pump(process.StandardError, buffer)));
    }

    /// <summary>
    /// After the process exited: waits (up to <paramref name="timeout"/>) until both pipes were read to their end, so
    /// that <see cref="Of"/> holds everything it wrote. <see cref="Process.WaitForExit()"/> does not wait for these readers.
    /// </summary>
    public static bool WaitForEnd(Process process, TimeSpan timeout) =>
        !Pumps.TryGetValue(process, out Task? pumps) || pumps.Wait(timeout);

    /// <summary>Appends every line of the reader to the buffer until end of stream (or the process is gone).</summary>
    internal static async Task Pump(StreamReader reader, StringBuilder buffer)
    {
        try
        {
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                lock (buffer)
                {
                    buffer.Append(line).Append('\n');
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The process object was disposed while reading.
        }
        catch (IOException)
        {
            // The pipe broke when the process was killed.
        }
    }
}
