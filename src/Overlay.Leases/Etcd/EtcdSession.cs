using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using Overlay.Core.Leases;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Overlay.Leases.Etcd;

/// <summary>
/// One gRPC connection to etcd (balanced over every endpoint, TLS and authentication as configured) and the
/// Polly pipeline every unary call goes through: a timeout per attempt, and retries with exponential backoff
/// and jitter on transient failures (<see cref="EtcdErrors.IsTransient"/>). A call that still fails after its
/// retries throws; the long-running loops (<see cref="LeaseWatcher"/>, <see cref="LeaseKeeper"/>,
/// <see cref="LeaseStore.WaitForConfigAsync"/>) catch that and try again for as long as they run.
/// </summary>
public sealed class EtcdSession : IAsyncDisposable
{
    /// <summary>Attempts after the first for one call; past this the caller's own loop takes over.</summary>
    internal const int CallRetries = 4;

    /// <summary>The longest wait between two attempts of one call: a node waiting for etcd tries at least every second.</summary>
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Attempts in a row that got no answer within the call timeout before the connection is replaced by a new one.
    /// A refused or reset connection fails at once; only a channel whose calls hang (a connection made while etcd was
    /// starting and never served, a subchannel stuck connecting) keeps timing out, and a new channel does not inherit it.
    /// </summary>
    internal const int TimeoutsBeforeNewConnection = 2;

    private readonly ResiliencePipeline pipeline;
    private readonly Lock renewal = new();
    private EtcdClient client;
    private dotnet_etcd.interfaces.IConnection connection;
    private int disposed;
    private long failedCalls;
    private int timeoutsInARow;
    private long connectionsReplaced;

    public EtcdSession(EtcdOptions options, ILogger<EtcdSession>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CallTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"the etcd call timeout must be positive, not {options.CallTimeout}", nameof(options));
        }

        Options = options;
        Logger = logger ?? NullLogger<EtcdSession>.Instance;
        Time = time ?? TimeProvider.System;
        Prefix = options.Prefix.TrimEnd('/');
        SubnetsPrefix = SubnetKey.SubnetsPrefix(Prefix);
        ConfigKey = Prefix + "/config";
        client = EtcdClientFactory.Create(options);
        connection = client.GetConnection();
        pipeline = CreatePipeline(options, Logger, Time, CountFailure, this);
    }

    public EtcdOptions Options { get; }

    /// <summary>Failed etcd attempts so far (each retried): calls through the pipeline and broken watch streams.</summary>
    public long FailedCalls => Interlocked.Read(ref failedCalls);

    internal void CountFailure() => Interlocked.Increment(ref failedCalls);

    /// <summary>The key prefix without a trailing slash, e.g. <c>/coreos.com/network</c>.</summary>
    public string Prefix { get; }

    /// <summary>The folder of the lease keys, with a trailing slash: <c>&lt;prefix&gt;/subnets/</c>.</summary>
    public string SubnetsPrefix { get; }

    public string ConfigKey { get; }

    internal ILogger Logger { get; }

    internal TimeProvider Time { get; }

    /// <summary>The current connection: every call and every (re)opened watch takes it anew, so a replaced one is left behind.</summary>
    internal dotnet_etcd.interfaces.IConnection Connection => Volatile.Read(ref connection);

    /// <summary>How often the connection was replaced because its calls kept timing out.</summary>
    public long ConnectionsReplaced => Interlocked.Read(ref connectionsReplaced);

    internal KV.KVClient Kv => Connection.KVClient;

    internal Etcdserverpb.Lease.LeaseClient Leases => Connection.LeaseClient;

    internal Watch.WatchClient Watches => Connection.WatchClient;

    /// <summary>Runs one unary call through the pipeline; <paramref name="operation"/> names it in retry logs.</summary>
    internal async Task<T> CallAsync<T>(string operation, Func<CallOptions, Task<T>> call, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var context = ResilienceContextPool.Shared.Get(operation, ct);
        try
        {
            T result = await pipeline.ExecuteAsync(
                static async (context, state) =>
                {
                    // The deadline is a backstop; the pipeline's timeout cancels the attempt first.
                    var callOptions = new CallOptions(
                        deadline: state.Time.GetUtcNow().UtcDateTime + state.Timeout + TimeSpan.FromSeconds(1),
                        cancellationToken: context.CancellationToken);
                    return await state.Call(callOptions).ConfigureAwait(false);
                },
                context,
                (Call: call, Timeout: Options.CallTimeout, Time)).ConfigureAwait(false);
            Volatile.Write(ref timeoutsInARow, 0);
            return result;
        }
        catch (Polly.Timeout.TimeoutRejectedException)
        {
            NoteTimeout();
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Whether etcd answers now: one linearizable read (the config key's count, which needs a quorum, as etcdctl
    /// endpoint health does), one attempt within the call timeout. Null when it answered, else what went wrong.
    /// </summary>
    public async Task<string?> ProbeAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.CallTimeout);
        var request = new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(ConfigKey), CountOnly = true };
        try
        {
            await Kv.RangeAsync(request, new CallOptions(deadline: Time.GetUtcNow().UtcDateTime + Options.CallTimeout + TimeSpan.FromSeconds(1), cancellationToken: timeout.Token)).ResponseAsync.ConfigureAwait(false);
            Volatile.Write(ref timeoutsInARow, 0);
            return null;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            CountFailure();
            if (timeout.IsCancellationRequested)
            {
                NoteTimeout();
                return $"no answer within {Options.CallTimeout.TotalSeconds:0.#} s";
            }

            return Describe(e);
        }
    }

    /// <summary>One line for a failed call (<see cref="EtcdErrors.Describe(Exception?, bool)"/>), knowing whether the endpoints are TLS.</summary>
    public string Describe(Exception? exception) => EtcdErrors.Describe(exception, Options.OverTls);

    /// <summary>An attempt got no answer in time; after <see cref="TimeoutsBeforeNewConnection"/> in a row the connection is replaced.</summary>
    private void NoteTimeout()
    {
        if (Interlocked.Increment(ref timeoutsInARow) < TimeoutsBeforeNewConnection || Volatile.Read(ref disposed) != 0)
        {
            return;
        }

        EtcdClient old;
        lock (renewal)
        {
            if (Volatile.Read(ref timeoutsInARow) < TimeoutsBeforeNewConnection)
            {
                return; // another caller renewed it meanwhile
            }

            old = client;
            client = EtcdClientFactory.Create(Options);
            Volatile.Write(ref connection, client.GetConnection());
            Volatile.Write(ref timeoutsInARow, 0);
            Interlocked.Increment(ref connectionsReplaced);
        }

        Logger.ConnectionReplaced(TimeoutsBeforeNewConnection, string.Join(",", Options.Endpoints));

        // Calls still on the old channel end by their own timeout first; disposing it at once would fail them with
        // ObjectDisposedException, which no loop takes for a transient failure.
        _ = Task.Delay(Options.CallTimeout * 2, Time).ContinueWith(_ => old.Dispose(), TaskScheduler.Default);
    }

    /// <summary>Keys per page of <see cref="ListAsync"/>: thousands of values in one response would near gRPC's 4 MiB message limit.</summary>
    internal const int DefaultPageSize = 1000;

    /// <summary>
    /// Every key under <paramref name="prefix"/>, read in pages of <paramref name="pageSize"/> at the revision of the first
    /// page (one snapshot), and that revision. When the revision is compacted between two pages, it lists again at
    /// the newest revision (twice at most).
    /// </summary>
    internal async Task<(List<KeyValue> Entries, long Revision)> ListAsync(string prefix, int pageSize, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await ListPagesAsync(prefix, pageSize, ct).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.OutOfRange && attempt < 3)
            {
                Logger.ListRestarted(prefix, e.Status.Detail);
            }
        }
    }

    private async Task<(List<KeyValue> Entries, long Revision)> ListPagesAsync(string prefix, int pageSize, CancellationToken ct)
    {
        var entries = new List<KeyValue>();
        Google.Protobuf.ByteString from = Google.Protobuf.ByteString.CopyFromUtf8(prefix);
        Google.Protobuf.ByteString rangeEnd = RangeEnd(prefix);
        long revision = 0;
        while (true)
        {
            var request = new RangeRequest { Key = from, RangeEnd = rangeEnd, Limit = pageSize, Revision = revision };
            RangeResponse page = await CallAsync("list " + prefix, o => Kv.RangeAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            if (revision == 0)
            {
                revision = page.Header.Revision;
            }

            entries.AddRange(page.Kvs);
            if (!page.More || page.Kvs.Count == 0)
            {
                return (entries, revision);
            }

            // The next page starts right after the last key of this one.
            from = Google.Protobuf.ByteString.CopyFrom([.. page.Kvs[^1].Key.ToByteArray(), 0]);
        }
    }

    /// <summary>The end of the key range that holds every key starting with <paramref name="prefix"/>.</summary>
    internal static Google.Protobuf.ByteString RangeEnd(string prefix) => EtcdClient.GetRangeEnd(Google.Protobuf.ByteString.CopyFromUtf8(prefix));

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            lock (renewal)
            {
                client.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    private static ResiliencePipeline CreatePipeline(EtcdOptions options, ILogger logger, TimeProvider time, Action onFailure, EtcdSession session) =>
        new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && EtcdErrors.IsTransient(e, args.Context.CancellationToken)),
                MaxRetryAttempts = CallRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = MaxRetryDelay,
                OnRetry = args =>
                {
                    onFailure();
                    if (args.Outcome.Exception is TimeoutRejectedException)
                    {
                        session.NoteTimeout();
                    }

                    if (logger.IsEnabled(LogLevel.Debug))
                    {
                        logger.EtcdCallRetrying(args.Context.OperationKey ?? "call", args.AttemptNumber + 1, args.RetryDelay, session.Describe(args.Outcome.Exception));
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(options.CallTimeout)
            .Build();
}

/// <summary>The log lines of the etcd session; event ids 2000-2099 (the lease manager has 2000-2999).</summary>
internal static partial class EtcdSessionLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "etcd {Operation} failed ({Error}); retry {Attempt} in {Delay}")]
    public static partial void EtcdCallRetrying(this ILogger logger, string operation, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "etcd gave no answer to {Count} attempts in a row; opening a new connection to {Endpoints}")]
    public static partial void ConnectionReplaced(this ILogger logger, int count, string endpoints);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "listing {Prefix} again: its revision was compacted between two pages ({Detail})")]
    public static partial void ListRestarted(this ILogger logger, string prefix, string detail);
}
