namespace Overlay.Leases.Etcd;

/// <summary>
/// Capped exponential backoff with jitter for the loops that never give up on etcd: each failure doubles the
/// wait up to <c>max</c>; a success resets it. A loop that has not succeeded yet is starting, and waits at most
/// <c>maxUntilFirstSuccess</c>: after a power cut nodes boot before etcd, and each must be ready within about a
/// second of etcd answering, however long etcd was away.
/// </summary>
internal sealed class Backoff(TimeProvider time, TimeSpan initial, TimeSpan max, TimeSpan? maxUntilFirstSuccess = null)
{
    /// <summary>The longest wait between two attempts of a loop that has not succeeded yet.</summary>
    public static readonly TimeSpan StartingCap = TimeSpan.FromSeconds(1);

    private int failures;
    private bool succeeded;

    /// <summary>
    /// 250 ms doubling to 5 s; at most <see cref="StartingCap"/> until the first <see cref="Reset"/> unless the
    /// loop has <paramref name="started"/> already (its first success was someone else's, e.g. a renewal loop
    /// after the acquisition).
    /// </summary>
    public static Backoff ForLoops(TimeProvider time, bool started = false) =>
        new(time, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5), started ? null : StartingCap);

    /// <summary>The longest <see cref="Next"/> can return now.</summary>
    public TimeSpan Cap => !succeeded && maxUntilFirstSuccess is { } starting && starting < max ? starting : max;

    public TimeSpan Next()
    {
        double factor = Math.Pow(2, Math.Min(failures, 20));
        failures++;
        double capped = Math.Min(initial.TotalMilliseconds * factor, Cap.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    /// <summary>After a success: the next failure waits <c>initial</c> again, and the loop has started.</summary>
    public void Reset()
    {
        failures = 0;
        succeeded = true;
    }

    public Task DelayAsync(CancellationToken ct) => Task.Delay(Next(), time, ct);
}
