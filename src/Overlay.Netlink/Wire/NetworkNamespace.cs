using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Overlay.Netlink.Wire;

/// <summary>
/// Runs a short action with the calling thread inside another network namespace. The action runs on a dedicated
/// thread so no pool thread is ever left in the wrong namespace; sockets created there stay bound to it.
/// </summary>
internal static unsafe class NetworkNamespace
{
    public static string ResolvePath(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        return nameOrPath.Contains('/') ? nameOrPath : "/run/netns/" + nameOrPath;
    }

    /// <summary>Returns 0 and the action's result, or the errno of opening or entering the namespace.</summary>
    public static int Run<T>(string path, Func<T> action, out T? result)
    {
        T? value = default;
        int error = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                error = RunHere(path, action, out value);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "netns switch",
        };
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException("Running in network namespace " + path + " failed.", failure);
        result = value;
        return error;
    }

    private static int RunHere<T>(string path, Func<T> action, out T? result)
    {
        result = default;
        // thread-self is this task's own namespace link (/proc/self/task/<tid>/ns/net).
        int original = Open("/proc/thread-self/ns/net");
        if (original < 0) return errno;
        try
        {
            int target = Open(path);
            if (target < 0) return errno;
            try
            {
                if (setns(target, CLONE_NEWNET) != 0) return errno;
            }
            finally
            {
                _ = close(target);
            }
            try
            {
                result = action();
            }
            finally
            {
                // If switching back failed the thread ends anyway; it is never reused.
                _ = setns(original, CLONE_NEWNET);
            }
            return 0;
        }
        finally
        {
            _ = close(original);
        }
    }

    private static int Open(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            return open(p, O_RDONLY | O_CLOEXEC, 0);
        }
    }
}
