using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Overlay.Netlink;

namespace Overlay.TestKit;

/// <summary>
/// A small TCP and UDP server inside a network namespace (a pod): it answers each TCP connection and each UDP
/// datagram with "<c>name client-address</c>", so a test sees which backend answered and which source address
/// reached it. A TCP connection then echoes every line until the client closes it (for long-lived connections).
/// The sockets are made on a thread switched into the namespace, and stay in it.
/// </summary>
public sealed class EchoServer : IAsyncDisposable
{
    private readonly Socket _tcp;
    private readonly Socket _udp;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly ConcurrentQueue<string> _clients = new();

    private EchoServer(string name, Socket tcp, Socket udp)
    {
        Name = name;
        _tcp = tcp;
        _udp = udp;
        _loops.Add(Task.Run(AcceptLoopAsync));
        _loops.Add(Task.Run(UdpLoopAsync));
    }

    public string Name { get; }

    /// <summary>The source address of every connection and datagram, in arrival order.</summary>
    public IReadOnlyList<string> Clients => [.. _clients];

    public static EchoServer Start(string ns, string name, int port) =>
        NamedNetworkNamespace.Run(ns, () =>
        {
            var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Any, port));
            tcp.Listen(128);
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Any, port));
            return new EchoServer(name, tcp, udp);
        });

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _tcp.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            string peer = ((IPEndPoint)client.RemoteEndPoint!).Address.ToString();
            _clients.Enqueue(peer);
            try
            {
                await using var stream = new NetworkStream(client);
                using var reader = new StreamReader(stream, Encoding.ASCII);
                await using var writer = new StreamWriter(stream, Encoding.ASCII) { AutoFlush = true, NewLine = "\n" };
                await writer.WriteLineAsync($"{Name} {peer}");
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    await writer.WriteLineAsync(line);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task UdpLoopAsync()
    {
        byte[] buffer = new byte[1500];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                SocketReceiveFromResult received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                string peer = ((IPEndPoint)received.RemoteEndPoint).Address.ToString();
                _clients.Enqueue(peer);
                await _udp.SendToAsync(Encoding.ASCII.GetBytes($"{Name} {peer}"), SocketFlags.None, received.RemoteEndPoint, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _tcp.Dispose();
        _udp.Dispose();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }

        _stop.Dispose();
    }
}

/// <summary>The outcome of one request through a socket made in a namespace.</summary>
public readonly record struct EchoReply(string? Text, SocketError Error)
{
    public bool Answered => Text is not null;

    /// <summary>The backend's name: the first word of the answer.</summary>
    public string? Backend => Text?.Split(' ')[0];

    /// <summary>The client address the backend saw: the second word.</summary>
    public string? SeenClient => Text?.Split(' ').ElementAtOrDefault(1);

    public override string ToString() => Text ?? Error.ToString();
}

/// <summary>Clients whose sockets are made inside a namespace (a pod, a node), for <see cref="EchoServer"/>s.</summary>
public static class EchoClient
{
    /// <summary>Connects to <paramref name="address"/>:<paramref name="port"/> from inside <paramref name="ns"/> and reads the greeting; a refusal or a time-out is an error value, not an exception.</summary>
    public static async Task<EchoReply> AskTcpAsync(string ns, string address, int port, TimeSpan? timeout = null)
    {
        using Socket socket = NamedNetworkNamespace.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(3));
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(address), port, deadline.Token);
            await using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            string? line = await reader.ReadLineAsync(deadline.Token);
            return new EchoReply(line, line is null ? SocketError.ConnectionReset : SocketError.Success);
        }
        catch (SocketException e)
        {
            return new EchoReply(null, e.SocketErrorCode);
        }
        catch (OperationCanceledException)
        {
            return new EchoReply(null, SocketError.TimedOut);
        }
    }

    /// <summary>Sends one datagram from inside <paramref name="ns"/> and waits for the answer.</summary>
    public static async Task<EchoReply> AskUdpAsync(string ns, string address, int port, TimeSpan? timeout = null)
    {
        using Socket socket = NamedNetworkNamespace.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(3));
        byte[] buffer = new byte[1500];
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(address), port, deadline.Token);
            await socket.SendAsync("hello"u8.ToArray(), SocketFlags.None, deadline.Token);
            int length = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            return new EchoReply(Encoding.ASCII.GetString(buffer, 0, length), SocketError.Success);
        }
        catch (SocketException e)
        {
            return new EchoReply(null, e.SocketErrorCode);
        }
        catch (OperationCanceledException)
        {
            return new EchoReply(null, SocketError.TimedOut);
        }
    }

    /// <summary>A TCP connection made from inside <paramref name="ns"/> that stays open: each line sent comes back.</summary>
    public static async Task<EchoConnection> OpenAsync(string ns, string address, int port, TimeSpan? timeout = null)
    {
        Socket socket = NamedNetworkNamespace.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(3));
        await socket.ConnectAsync(IPAddress.Parse(address), port, deadline.Token);
        var connection = new EchoConnection(socket);
        connection.Greeting = await connection.Reader.ReadLineAsync(deadline.Token);
        return connection;
    }
}

/// <summary>An open connection to an <see cref="EchoServer"/>.</summary>
public sealed class EchoConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    internal EchoConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket);
        Reader = new StreamReader(_stream, Encoding.ASCII);
    }

    internal StreamReader Reader { get; }

    public string? Greeting { get; internal set; }

    /// <summary>Sends a line and reads it back; null when the connection broke or did not answer in time.</summary>
    public async Task<string?> EchoAsync(string line, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(3));
        try
        {
            await _stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), deadline.Token);
            return await Reader.ReadLineAsync(deadline.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        Reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
    }
}
