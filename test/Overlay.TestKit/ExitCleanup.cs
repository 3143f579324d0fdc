using System.Collections.Concurrent;

namespace Overlay.TestKit;

/// <summary>
/// Best-effort cleanup of fixtures a test forgot (or never got the chance) to dispose when the test host exits
/// or is interrupted with Ctrl+C. A SIGKILLed host runs nothing; the sweepers in NetworkLab/EtcdServer cover that.
/// </summary>
internal static class ExitCleanup
{
    private static readonly ConcurrentDictionary<object, Action> Pending = new(ReferenceEqualityComparer.Instance);
    private static int hooked;

    public static void Register(object owner, Action cleanup)
    {
        if (Interlocked.Exchange(ref hooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => RunAll();
            Console.CancelKeyPress += (_, _) => RunAll();
        }
        Pending[owner] = cleanup;
    }

    public static void Unregister(object owner) => Pending.TryRemove(owner, out _);

    private static void RunAll()
    {
        foreach (var owner in Pending.Keys.ToArray())
        {
            if (Pending.TryRemove(owner, out var cleanup))
            {
                try
                {
                    cleanup();
                }
                catch (Exception)
                {
                    // The process is going away; one failed cleanup must not stop the others.
                }
            }
        }
    }
}

/// <summary>Liveness checks by pid, used to tell leftovers of dead test processes from those of running ones.</summary>
public static class ProcessState
{
    /// <summary>True when the pid exists and is not a zombie (the container's init may never reap orphans).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Format: "pid (comm) S ..."; comm may contain spaces or parentheses, so search from the last ')'.
            var state = stat[(stat.LastIndexOf(')') + 2)..].TrimStart();
            return state.Length > 0 && state[0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Sends SIGKILL to the pid; a pid that is already gone is fine.</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (ArgumentException)
        {
            // No such process.
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited meanwhile.
        }
    }

    /// <summary>Polls until every pid is dead or the timeout passes; returns whether they all died.</summary>
    public static bool WaitUntilDead(IEnumerable<int> pids, TimeSpan timeout)
    {
        var remaining = pids.ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            remaining.RemoveAll(pid => !IsAlive(pid));
            if (remaining.Count == 0)
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            Thread.Sleep(20);
        }
    }
}
