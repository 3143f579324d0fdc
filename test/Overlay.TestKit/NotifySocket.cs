using System.Net.Sockets;
using System.Text;

namespace Overlay.TestKit;

/// <summary>
/// systemd's end of sd_notify for a test: a datagram socket at <see cref="Path"/> (give it to overlayd as
/// NOTIFY_SOCKET) that keeps every message (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1) in order.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly List<string> _messages = [];

    public NotifySocket(string name)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ovt-notify-{name}-{Environment.ProcessId}.sock");
        File.Delete(Path);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
    }

    public string Path { get; }

    /// <summary>What was received so far (by <see cref="WaitForAsync"/>), in order.</summary>
    public IReadOnlyList<string> Messages => _messages;

    /// <summary>The STATUS= lines received so far, without the "STATUS=".</summary>
    public IEnumerable<string> Statuses => _messages.Where(m => m.StartsWith("STATUS=", StringComparison.Ordinal)).Select(m => m["STATUS=".Length..]);

    /// <summary>The first message, already received or arriving within <paramref name="timeout"/>, that matches; null when none came.</summary>
    public async Task<string?> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
    {
        if (_messages.FirstOrDefault(match) is { } seen)
        {
            return seen;
        }

        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int length = await _socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                string message = Encoding.UTF8.GetString(buffer, 0, length);
                _messages.Add(message);
                if (match(message))
                {
                    return message;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits for a STATUS= line that contains <paramref name="text"/>; returns the line without "STATUS=", or null.</summary>
    public async Task<string?> WaitForStatusAsync(string text, TimeSpan timeout) =>
        (await WaitForAsync(m => m.StartsWith("STATUS=", StringComparison.Ordinal) && m.Contains(text, StringComparison.Ordinal), timeout).ConfigureAwait(false))?["STATUS=".Length..];

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }
}
