using System.Collections;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>An ordered list of changes, applied by <see cref="NetlinkHandle.Apply"/> in as few send calls as possible.</summary>
public sealed class NetlinkBatch : IReadOnlyList<NetlinkChange>
{
    private readonly List<NetlinkChange> _changes = [];

    public int Count => _changes.Count;

    public NetlinkChange this[int index] => _changes[index];

    public NetlinkBatch Add(KernelEntry entry) => With(ChangeOperation.Add, entry);

    public NetlinkBatch Replace(KernelEntry entry) => With(ChangeOperation.Replace, entry);

    public NetlinkBatch Append(FdbEntry entry) => With(ChangeOperation.Append, entry);

    public NetlinkBatch Delete(KernelEntry entry) => With(ChangeOperation.Delete, entry);

    public NetlinkBatch With(ChangeOperation operation, KernelEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _changes.Add(new NetlinkChange(operation, entry));
        return this;
    }

    public IEnumerator<NetlinkChange> GetEnumerator() => _changes.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The outcome of one batch item: <see cref="Error"/> is null when the kernel acknowledged it.</summary>
public sealed record BatchItemResult(NetlinkChange Change, NetlinkException? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>Per-item results of a batch, in the batch's order.</summary>
public sealed class BatchResult : IReadOnlyList<BatchItemResult>
{
    private readonly BatchItemResult[] _items;

    internal BatchResult(BatchItemResult[] items) => _items = items;

    public int Count => _items.Length;

    public BatchItemResult this[int index] => _items[index];

    public IEnumerable<BatchItemResult> Failures => _items.Where(static r => !r.Succeeded);

    public bool AllSucceeded => _items.All(static r => r.Succeeded);

    /// <summary>Throws the first failure (with the number of others in an AggregateException when several failed).</summary>
    public void ThrowIfAnyFailed()
    {
        NetlinkException[] errors = _items.Where(static r => r.Error is not null).Select(static r => r.Error!).ToArray();
        if (errors.Length == 1) throw errors[0];
        if (errors.Length > 1) throw new AggregateException($"{errors.Length} of {_items.Length} netlink changes failed; first: {errors[0].Message}", errors);
    }

    public IEnumerator<BatchItemResult> GetEnumerator() => ((IEnumerable<BatchItemResult>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

public sealed partial class NetlinkHandle
{
    // Each message is acked; acks are queued on our receive buffer while the kernel works through one send, so a
    // send holds no more messages than the buffer can take acks for (a small skb costs about 1 KiB of rcvbuf).
    private const int MaxMessagesPerSend = 512;
    private const int MaxMessageLength = 512;

    /// <summary>
    /// Applies every change, in order, and reports a result per item: one failure neither hides nor stops the others.
    /// Throws only when the socket itself fails.
    /// </summary>
    public BatchResult Apply(IReadOnlyList<NetlinkChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var errors = new (int Errno, string? Message)[changes.Count];
        lock (_sync)
        {
            EnsureOpen();
            int next = 0;
            while (next < changes.Count)
            {
                var writer = new NetlinkWriter(_request);
                int first = next;
                uint firstSequence = unchecked(_sequence + 1);
                while (next < changes.Count && next - first < MaxMessagesPerSend && writer.Remaining >= MaxMessageLength)
                {
                    NetlinkChange change = changes[next];
                    change.Entry.Encode(ref writer, change.Operation, NextSequence());
                    next++;
                }
                int sent = Send(writer.Written);
                if (sent != 0) NetlinkException.Throw($"send a batch of {next - first} netlink requests", sent);
                int received = CollectAcks(firstSequence, errors.AsSpan(first, next - first));
                if (received != 0) NetlinkException.Throw($"receive acks for a batch of {next - first} netlink requests", received);
            }
            return new BatchResult(BuildResults(changes, errors));
        }
    }

    /// <summary>Applies a single change and throws <see cref="NetlinkException"/> if the kernel refuses it.</summary>
    public void Apply(ChangeOperation operation, KernelEntry entry)
    {
        BatchResult result = Apply([new NetlinkChange(operation, entry)]);
        if (result[0].Error is { } error) throw error;
    }

    private int CollectAcks(uint firstSequence, Span<(int Errno, string? Message)> errors)
    {
        var acked = new bool[errors.Length];
        int pending = errors.Length;
        while (pending > 0)
        {
            int error = _socket.Receive(_response, false, out int length);
            if (error != 0) return error;
            var reader = new MessageReader(_response.AsSpan(0, length));
            while (reader.TryRead(out NetlinkMessage message))
            {
                uint index = unchecked(message.Sequence - firstSequence);
                if (message.Type != Nl.Error || index >= (uint)errors.Length || acked[index]) continue;
                acked[index] = true;
                pending--;
                int code = ParseErrorMessage(message, out string? kernelMessage);
                errors[(int)index] = (code, kernelMessage);
            }
        }
        return 0;
    }

    private BatchItemResult[] BuildResults(IReadOnlyList<NetlinkChange> changes, (int Errno, string? Message)[] errors)
    {
        var results = new BatchItemResult[changes.Count];
        Dictionary<int, string>? names = null;
        string DeviceName(int index)
        {
            if (names is null)
            {
                try
                {
                    names = ListLinksLocked().ToDictionary(static l => l.Index, static l => l.Name);
                }
                catch (NetlinkException)
                {
                    names = [];
                }
            }
            return names.TryGetValue(index, out string? name) ? name : "if" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        for (int i = 0; i < results.Length; i++)
        {
            NetlinkChange change = changes[i];
            (int code, string? message) = errors[i];
            NetlinkException? exception = code == 0
                ? null
                : new NetlinkException(change.Entry.Describe(change.Operation, DeviceName), code, message);
            results[i] = new BatchItemResult(change, exception);
        }
        return results;
    }
}
