using System.Diagnostics;

namespace Overlay.TestKit;

/// <summary>Waits for a condition by polling, so tests wait exactly as long as needed instead of sleeping.</summary>
public static class Poll
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Polls every 20 ms until the condition holds (true) or the timeout passes (false).</summary>
    public static bool Until(Func<bool> condition, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }
            Thread.Sleep(20);
        }
        return true;
    }

    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
        return true;
    }
}
