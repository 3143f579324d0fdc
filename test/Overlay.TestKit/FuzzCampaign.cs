using System.Diagnostics;

namespace Overlay.TestKit;

/// <summary>What a fuzz target's check made of one input: taken as valid, or refused the documented way.</summary>
public enum FuzzVerdict
{
    Accepted,
    Rejected,
}

/// <summary>
/// One parser under fuzzing: <see cref="Next"/> makes an input from the seeded random source (mutated seeds,
/// grammar-generated values); <see cref="Check"/> feeds it to the parser and returns the verdict, and throws for any
/// broken property (an undocumented exception, a round trip that differs). <see cref="Show"/> prints an input so that
/// a finding can be pasted into a regression test.
/// </summary>
public sealed record FuzzTarget<T>(string Name, Func<InputMutator, T> Next, Func<T, FuzzVerdict> Check, Func<T, string> Show);

/// <summary>An input that broke a property, with what was thrown.</summary>
public sealed record FuzzFinding(string Input, Exception Error)
{
    public override string ToString() => $"{Error.GetType().Name}: {Error.Message}\n  input: {Input}";
}

/// <summary>The counts of one run.</summary>
public sealed record FuzzReport(string Target, long Iterations, long Accepted, long Rejected, TimeSpan Elapsed, IReadOnlyList<FuzzFinding> Findings, long FindingCount)
{
    public double PerSecond => Elapsed.TotalSeconds > 0 ? Iterations / Elapsed.TotalSeconds : 0;

    public override string ToString() =>
        $"{Target}: {Iterations} inputs in {Elapsed.TotalSeconds:F1} s ({PerSecond:F0}/s), {Accepted} accepted, {Rejected} rejected, {FindingCount} findings"
        + string.Concat(Findings.Select(f => "\n" + f));
}

/// <summary>
/// Runs a <see cref="FuzzTarget{T}"/> for a fixed number of inputs (tests: fixed seed, bounded time) or for a
/// duration (the benchmark's long mode). Findings are collected, not thrown, so one run reports them all; the first
/// few distinct ones (by exception type and message) keep their input.
/// </summary>
public static class FuzzCampaign
{
    private const int KeptFindings = 20;

    public static FuzzReport Run<T>(FuzzTarget<T> target, int seed, long iterations) => Run(target, seed, iterations, TimeSpan.MaxValue);

    public static FuzzReport RunFor<T>(FuzzTarget<T> target, int seed, TimeSpan duration) => Run(target, seed, long.MaxValue, duration);

    private static FuzzReport Run<T>(FuzzTarget<T> target, int seed, long iterations, TimeSpan duration)
    {
        var mutator = new InputMutator(new Random(seed));
        var findings = new List<FuzzFinding>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long accepted = 0, rejected = 0, findingCount = 0, done = 0;
        var clock = Stopwatch.StartNew();
        for (; done < iterations; done++)
        {
            if ((done & 0xff) == 0 && clock.Elapsed >= duration)
            {
                break;
            }

            T input = target.Next(mutator);
            try
            {
                if (target.Check(input) == FuzzVerdict.Accepted)
                {
                    accepted++;
                }
                else
                {
                    rejected++;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                findingCount++;
                if (findings.Count < KeptFindings && seen.Add($"{e.GetType().FullName}: {e.Message}"))
                {
                    findings.Add(new FuzzFinding(target.Show(input), e));
                }
            }
        }

        return new FuzzReport(target.Name, done, accepted, rejected, clock.Elapsed, findings, findingCount);
    }
}

/// <summary>A broken property other than an exception of the parser: a round trip that changed the value, a wrong verdict.</summary>
public sealed class FuzzPropertyException(string message) : Exception(message);
