using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Win32.SafeHandles;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// A gRPC etcd client in the benchmark process whose TCP sockets are created inside another network namespace (the
/// cluster's switch, where etcd listens on 192.0.2.1): the connect callback makes each socket on a short-lived
/// thread that has entered the namespace, and a socket stays in the namespace it was created in. So puts cost a
/// gRPC round trip, not an `ip netns exec etcdctl` process.
/// </summary>
internal sealed partial class NamespacedEtcd : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    private readonly GrpcChannel _channel;
    private readonly KV.KVClient _kv;
    private readonly Lease.LeaseClient _leases;

    public NamespacedEtcd(string endpoint, string namespacePath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                Socket socket = CreateSocketIn(namespacePath);
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            EnableMultipleHttp2Connections = true,
        };
        _channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        _kv = new KV.KVClient(_channel);
        _leases = new Lease.LeaseClient(_channel);
    }

    public async Task<long> GrantAsync(TimeSpan ttl) =>
        (await _leases.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)ttl.TotalSeconds })).ID;

    public async Task PutAsync(string key, string value, long lease) =>
        await _kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Lease = lease });

    public async Task DeleteAsync(string key) =>
        await _kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) });

    /// <summary>Puts every pair, 100 per transaction (etcd's default limit is 128 operations), 4 transactions in flight.</summary>
    public async Task PutAllAsync(IReadOnlyList<KeyValuePair<string, string>> pairs, long lease)
    {
        const int PerTxn = 100;
        using var gate = new SemaphoreSlim(4);
        var pending = new List<Task>();
        for (int start = 0; start < pairs.Count; start += PerTxn)
        {
            var txn = new TxnRequest();
            for (int i = start; i < Math.Min(start + PerTxn, pairs.Count); i++)
            {
                txn.Success.Add(new RequestOp
                {
                    RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(pairs[i].Key), Value = ByteString.CopyFromUtf8(pairs[i].Value), Lease = lease },
                });
            }

            await gate.WaitAsync();
            pending.Add(Send(txn));
        }

        await Task.WhenAll(pending);

        async Task Send(TxnRequest txn)
        {
            try
            {
                await _kv.TxnAsync(txn);
            }
            finally
            {
                gate.Release();
            }
        }
    }

    public async Task<long> CountAsync(string prefix)
    {
        ByteString key = ByteString.CopyFromUtf8(prefix);
        byte[] end = key.ToByteArray();
        end[^1]++;
        RangeResponse response = await _kv.RangeAsync(new RangeRequest { Key = key, RangeEnd = ByteString.CopyFrom(end), CountOnly = true });
        return response.Count;
    }

    public void Dispose() => _channel.Dispose();

    private static Socket CreateSocketIn(string namespacePath)
    {
        Socket? socket = null;
        Exception? failure = null;
        // A fresh thread enters the namespace, makes the socket and ends: no pool thread is ever moved.
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFileHandle target = File.OpenHandle(namespacePath);
                if (SetNs((int)target.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new IOException(string.Create(CultureInfo.InvariantCulture, $"setns({namespacePath}) failed: errno {Marshal.GetLastPInvokeError()}"));
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "etcd socket in netns",
        };
        thread.Start();
        thread.Join();
        return failure is null ? socket! : throw new IOException("could not create a socket in " + namespacePath, failure);
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
