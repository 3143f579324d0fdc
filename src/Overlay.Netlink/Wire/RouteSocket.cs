using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Overlay.Netlink.Wire;

/// <summary>Owns a netlink socket's file descriptor; nothing else closes it.</summary>
internal sealed class NetlinkSocketHandle : SafeHandle
{
    public NetlinkSocketHandle() : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    public NetlinkSocketHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle == new IntPtr(-1);

    protected override bool ReleaseHandle() => close((int)handle) == 0;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SockaddrNl
{
    public ushort Family;
    public ushort Pad;
    public uint PortId;
    public uint Groups;
}

/// <summary>struct timeval on LP64 (time_t and suseconds_t are longs).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timeval
{
    public nint Seconds;
    public nint Microseconds;
}

/// <summary>
/// A blocking netlink socket, NETLINK_ROUTE unless created for another protocol (NETLINK_NETFILTER for conntrack).
/// Calls return 0 or a positive errno; callers turn errors into exceptions where they know what was being done.
/// </summary>
internal sealed unsafe class RouteSocket : IDisposable
{
    public const int DefaultReceiveBuffer = 8 * 1024 * 1024;
    private const int SendBuffer = 4 * 1024 * 1024;

    private readonly NetlinkSocketHandle _handle;

    private RouteSocket(NetlinkSocketHandle handle) => _handle = handle;

    public bool IsClosed => _handle.IsClosed;

    /// <summary>Creates the socket in the calling thread's network namespace.</summary>
    public static int TryCreate(uint groups, int receiveBuffer, int receiveTimeoutMs, out RouteSocket? socket, int protocol = Nl.NetlinkRoute)
    {
        socket = null;
        int fd = LibC.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        if (fd < 0) return errno;
        var handle = new NetlinkSocketHandle(fd);
        int error = Configure(fd, groups, receiveBuffer, receiveTimeoutMs);
        if (error != 0)
        {
            handle.Dispose();
            return error;
        }
        socket = new RouteSocket(handle);
        return 0;
    }

    private static int Configure(int fd, uint groups, int receiveBuffer, int receiveTimeoutMs)
    {
        // The FORCE variants pass rmem_max/wmem_max as root; fall back to the capped ones otherwise.
        if (SetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, receiveBuffer) != 0) SetInt(fd, SOL_SOCKET, SO_RCVBUF, receiveBuffer);
        if (SetInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, SendBuffer) != 0) SetInt(fd, SOL_SOCKET, SO_SNDBUF, SendBuffer);
        // Extended ack brings the kernel's error text; capped acks keep error replies small.
        SetInt(fd, Nl.SolNetlink, Nl.ExtAck, 1);
        SetInt(fd, Nl.SolNetlink, Nl.CapAck, 1);
        if (receiveTimeoutMs > 0)
        {
            var timeout = new Timeval { Seconds = receiveTimeoutMs / 1000, Microseconds = receiveTimeoutMs % 1000 * 1000 };
            if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, (uint)sizeof(Timeval)) != 0) return errno;
        }
        var address = new SockaddrNl { Family = (ushort)AF_NETLINK, Groups = groups };
        if (bind(fd, (sockaddr*)&address, (uint)sizeof(SockaddrNl)) != 0) return errno;
        return 0;
    }

    private static int SetInt(int fd, int level, int name, int value) =>
        setsockopt(fd, level, name, &value, sizeof(int)) == 0 ? 0 : errno;

    public int Send(ReadOnlySpan<byte> datagram)
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int fd = (int)_handle.DangerousGetHandle();
            var kernel = new SockaddrNl { Family = (ushort)AF_NETLINK };
            fixed (byte* data = datagram)
            {
                while (true)
                {
                    long sent = sendto(fd, data, datagram.Length, 0, (sockaddr*)&kernel, (uint)sizeof(SockaddrNl));
                    if (sent >= 0) return sent == datagram.Length ? 0 : Errno.EMSGSIZE;
                    int error = errno;
                    if (error != Errno.EINTR) return error;
                }
            }
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    /// <summary>Receives one datagram; a datagram larger than the buffer is reported as EMSGSIZE.</summary>
    public int Receive(Span<byte> buffer, bool dontWait, out int length)
    {
        length = 0;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int fd = (int)_handle.DangerousGetHandle();
            fixed (byte* data = buffer)
            {
                var vector = new iovec { iov_base = data, iov_len = buffer.Length };
                SockaddrNl from = default;
                var header = new msghdr { msg_name = &from, msg_namelen = (uint)sizeof(SockaddrNl), msg_iov = &vector, msg_iovlen = 1 };
                while (true)
                {
                    header.msg_namelen = (uint)sizeof(SockaddrNl);
                    long received = recvmsg(fd, &header, dontWait ? MSG_DONTWAIT : 0);
                    if (received >= 0)
                    {
                        // Only the kernel (port 0) speaks for itself; skip anything a privileged process sent us.
                        if (from.PortId != 0) continue;
                        if ((header.msg_flags & MSG_TRUNC) != 0) return Errno.EMSGSIZE;
                        length = (int)received;
                        return 0;
                    }
                    int error = errno;
                    if (error != Errno.EINTR) return error;
                }
            }
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    /// <summary>Waits until a datagram is ready; false on timeout.</summary>
    public bool WaitReadable(int timeoutMs)
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var fds = new pollfd { fd = (int)_handle.DangerousGetHandle(), events = POLLIN };
            int ready = poll(&fds, 1, timeoutMs);
            return ready > 0;
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    public void Dispose() => _handle.Dispose();
}
