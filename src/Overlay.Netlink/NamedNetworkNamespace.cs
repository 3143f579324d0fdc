using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Overlay.Netlink;

/// <summary>
/// Named network namespaces the way iproute2 keeps them: <c>/run/netns/NAME</c> is a bind mount of a
/// namespace's <c>ns/net</c> file, which keeps the namespace alive with no process in it, and which
/// <c>ip netns exec/list/delete</c> understand. Errors are <see cref="IOException"/>s naming the step and errno.
/// </summary>
public static unsafe partial class NamedNetworkNamespace
{
    public const string RunDirectory = "/run/netns";

    private const ulong MsBind = 4096;
    private const ulong MsRec = 16384;
    private const ulong MsShared = 1 << 20;
    private const int MntDetach = 2;

    private static readonly Lock RunDirectoryGate = new();

    public static string PathOf(string name)
    {
        CheckName(name);
        return RunDirectory + "/" + name;
    }

    public static bool Exists(string name) => File.Exists(PathOf(name));

    /// <summary>
    /// Creates a new, empty network namespace named <paramref name="name"/> (only lo, down), as
    /// <c>ip netns add</c> does. Fails with EEXIST when the name is taken. Returns its path.
    /// </summary>
    public static string Create(string name)
    {
        string path = PathOf(name);
        MakeRunDirectoryShared();

        int fd = Open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC);
        if (fd < 0) Throw($"create {path}", errno);
        _ = close(fd);

        // unshare(CLONE_NEWNET) moves only the calling thread; a dedicated thread does it and then ends, so no
        // pool thread is ever left in the new namespace.
        int error = 0;
        string step = "";
        var thread = new Thread(() =>
        {
            if (unshare(CLONE_NEWNET) != 0)
            {
                (error, step) = (errno, "unshare(CLONE_NEWNET)");
                return;
            }

            if (Mount("/proc/thread-self/ns/net", path, null, MsBind) != 0)
            {
                (error, step) = (Marshal.GetLastPInvokeError(), $"bind-mount /proc/thread-self/ns/net on {path}");
            }
        })
        {
            IsBackground = true,
            Name = "netns create",
        };
        thread.Start();
        thread.Join();
        if (error != 0)
        {
            _ = Unlink(path);
            Throw($"create network namespace {name}: {step}", error);
        }

        return path;
    }

    /// <summary>
    /// Unmounts and removes <c>/run/netns/NAME</c>, as <c>ip netns delete</c> does; the namespace goes away with
    /// its last user. Returns false when there was no such namespace.
    /// </summary>
    public static bool Delete(string name)
    {
        string path = PathOf(name);
        if (!File.Exists(path))
        {
            return false;
        }

        // EINVAL: not a mount point (a half-created namespace); the file is removed all the same.
        if (Umount2(path, MntDetach) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            if (error is not (Wire.Errno.EINVAL or Wire.Errno.ENOENT))
            {
                Throw($"delete network namespace {name}: umount {path}", error);
            }
        }

        if (Unlink(path) != 0)
        {
            int error = errno;
            if (error != Wire.Errno.ENOENT)
            {
                Throw($"delete network namespace {name}: unlink {path}", error);
            }
        }

        return true;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a dedicated thread switched into the namespace (a name or a path).
    /// A process started from inside the action inherits that thread's network namespace.
    /// </summary>
    public static T Run<T>(string nameOrPath, Func<T> action)
    {
        string path = Wire.NetworkNamespace.ResolvePath(nameOrPath);
        int error = Wire.NetworkNamespace.Run(path, action, out T? result);
        if (error != 0) Throw("enter network namespace " + path, error);
        return result!;
    }

    private static void MakeRunDirectoryShared()
    {
        lock (RunDirectoryGate)
        {
            Directory.CreateDirectory(RunDirectory);
            // As iproute2: make /run/netns a shared mount so that namespaces created or deleted here propagate to
            // other mount namespaces; if it is not a mount point yet (EINVAL), bind it onto itself once first.
            bool madeMountPoint = false;
            while (Mount("", RunDirectory, "none", MsShared | MsRec) != 0)
            {
                int error = Marshal.GetLastPInvokeError();
                if (error != Wire.Errno.EINVAL || madeMountPoint)
                {
                    Throw($"mount --make-shared {RunDirectory}", error);
                }

                if (Mount(RunDirectory, RunDirectory, "none", MsBind | MsRec) != 0)
                {
                    Throw($"mount --bind {RunDirectory} {RunDirectory}", Marshal.GetLastPInvokeError());
                }

                madeMountPoint = true;
            }
        }
    }

    private static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a namespace name (no '/', not '.' or '..')", nameof(name));
        }
    }

    private static void Throw(string operation, int error) =>
        throw new IOException($"{operation}: {Wire.Errno.Name(error)} ({Wire.Errno.Text(error)})");

    private static int Open(string path, int flags)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            return open(p, flags, 0);
        }
    }

    private static int Unlink(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            return unlink(p);
        }
    }

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Mount(string source, string target, string? fileSystemType, ulong flags, nint data = 0);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);
}
