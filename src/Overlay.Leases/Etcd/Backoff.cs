namespace Overlay.Leases.Etcd;

/// <summary>
/// Capped exponential backoff with jitter for the loops that never give up on etcd: each failure doubles the
/// wait up to <c>max</c>; a success resets it.
/// </summary>
internal sealed class Backoff(TimeProvider time, TimeSpan initial, TimeSpan max)
{
    private int failures;

    public static Backoff ForLoops(TimeProvider time) => new(time, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));

    public TimeSpan Next()
    {
        double factor = Math.Pow(2, Math.Min(failures, 20));
        failures++;
        double capped = Math.Min(initial.TotalMilliseconds * factor, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    public void Reset() => failures = 0;

    public Task DelayAsync(CancellationToken ct) => Task.Delay(Next(), time, ct);
}
