namespace Overlay.Daemon.Health;

/// <summary>
/// Whether etcd is reachable, from the probes' outcomes: unreachable once <see cref="FailuresToUnreachable"/> probes in a
/// row failed (one failure can be one frozen member of several, picked by the balancer), reachable again at the first
/// answer. Pure: the probing and the clock are the caller's.
/// </summary>
public sealed class EtcdReachability
{
    public const int FailuresToUnreachable = 2;

    private int _failuresInARow;

    /// <summary>True until <see cref="FailuresToUnreachable"/> probes in a row failed.</summary>
    public bool IsReachable { get; private set; } = true;

    /// <summary>When the first of the failures in a row happened; null while reachable.</summary>
    public DateTimeOffset? UnreachableSince { get; private set; }

    /// <summary>The last probe's problem while unreachable.</summary>
    public string? Problem { get; private set; }

    private DateTimeOffset? _firstFailure;

    /// <summary>Takes one probe's outcome (null: it answered); returns true when <see cref="IsReachable"/> changed.</summary>
    public bool Observe(string? problem, DateTimeOffset now)
    {
        bool was = IsReachable;
        if (problem is null)
        {
            _failuresInARow = 0;
            _firstFailure = null;
            IsReachable = true;
            UnreachableSince = null;
            Problem = null;
        }
        else
        {
            _failuresInARow++;
            _firstFailure ??= now;
            if (_failuresInARow >= FailuresToUnreachable)
            {
                IsReachable = false;
                UnreachableSince = _firstFailure;
                Problem = problem;
            }
        }

        return was != IsReachable;
    }
}
