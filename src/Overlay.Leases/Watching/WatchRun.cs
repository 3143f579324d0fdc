using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Overlay.Leases.Etcd;

namespace Overlay.Leases.Watching;

/// <summary>
/// What every watch of a prefix shares: list, then watch from the list's revision + 1 on one stream; a broken stream
/// is reopened at the last seen revision + 1, a compaction makes it list again, and every failure waits with a capped
/// backoff before it tries again. A new stream gets one call timeout for etcd's first answer: a create request sent
/// while etcd was coming back up can be lost, and the stream would then wait forever. The reader says how to list,
/// how to read a response into its own kind of update, and what to log.
/// </summary>
internal abstract class WatchRun<TUpdate> : IAsyncDisposable
    where TUpdate : class
{
    private readonly EtcdSession session;
    private readonly string prefix;
    private readonly Backoff backoff;
    private AsyncDuplexStreamingCall<WatchRequest, WatchResponse>? call;
    private CancellationTokenSource? callCancellation;
    private bool relist;
    private bool answered;

    protected WatchRun(EtcdSession session, string prefix)
    {
        this.session = session;
        this.prefix = prefix;
        backoff = Backoff.ForLoops(session.Time);
    }

    /// <summary>The revision the stream resumes at: the list's or the last event's, + 1.</summary>
    protected long NextRevision { get; set; }

    /// <summary>Nothing is known yet: the first call lists.</summary>
    protected abstract bool NeedsList { get; }

    /// <summary>Lists everything under the prefix; sets <see cref="NextRevision"/>.</summary>
    protected abstract Task<TUpdate> ListAsync(CancellationToken ct);

    /// <summary>Reads one response with events; sets <see cref="NextRevision"/>; null when nothing the reader keeps changed.</summary>
    protected abstract TUpdate? Apply(WatchResponse response);

    protected virtual void OnOpened(long revision)
    {
    }

    protected virtual void OnStreamEnded(long revision)
    {
    }

    protected virtual void OnCompacted(long revision, long compactRevision)
    {
    }

    protected virtual void OnCanceled(long revision, string reason)
    {
    }

    protected abstract void OnFailed(long revision, string error, TimeSpan delay);

    /// <summary>The next update, or null once <paramref name="ct"/> is cancelled.</summary>
    public async Task<TUpdate?> NextAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (NeedsList || relist)
                {
                    TUpdate listed = await ListAsync(ct).ConfigureAwait(false);
                    relist = false;
                    return listed;
                }

                if (call is null)
                {
                    await OpenAsync(ct).ConfigureAwait(false);
                    answered = false;
                }

                using var firstAnswer = answered ? null : CancellationTokenSource.CreateLinkedTokenSource(ct);
                firstAnswer?.CancelAfter(session.Options.CallTimeout);
                if (!await call!.ResponseStream.MoveNext(firstAnswer?.Token ?? ct).ConfigureAwait(false))
                {
                    OnStreamEnded(NextRevision);
                    Close();
                    await backoff.DelayAsync(ct).ConfigureAwait(false);
                    continue;
                }

                WatchResponse response = call.ResponseStream.Current;
                answered = true;
                backoff.Reset();
                if (response.CompactRevision > 0)
                {
                    OnCompacted(NextRevision, response.CompactRevision);
                    Close();
                    relist = true;
                    continue;
                }

                if (response.Canceled)
                {
                    OnCanceled(NextRevision, response.CancelReason);
                    Close();
                    await backoff.DelayAsync(ct).ConfigureAwait(false);
                    continue;
                }

                if (response.Events.Count > 0 && Apply(response) is { } update)
                {
                    return update;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Whatever broke (etcd down, connection reset, permissions), the watch carries on from where it was.
                Close();
                session.CountFailure();
                TimeSpan delay = backoff.Next();
                OnFailed(NextRevision, session.Describe(e), delay);
                try
                {
                    await Task.Delay(delay, session.Time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        return null;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    private async Task OpenAsync(CancellationToken ct)
    {
        callCancellation = CancellationTokenSource.CreateLinkedTokenSource(ct);
        call = session.Watches.Watch(cancellationToken: callCancellation.Token);
        var create = new WatchCreateRequest
        {
            Key = ByteString.CopyFromUtf8(prefix),
            RangeEnd = EtcdSession.RangeEnd(prefix),
            StartRevision = NextRevision,
        };
        await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create }, ct).ConfigureAwait(false);
        OnOpened(NextRevision);
    }

    private void Close()
    {
        if (callCancellation is not null)
        {
            callCancellation.Cancel();
            callCancellation.Dispose();
            callCancellation = null;
        }

        call?.Dispose();
        call = null;
    }
}
