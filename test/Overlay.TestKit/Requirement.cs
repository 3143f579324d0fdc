using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using NUnit.Framework;

namespace Overlay.TestKit;

/// <summary>
/// The one place a test gives up for want of something the machine lacks (root, etcd, a kernel feature, a
/// published binary). On a developer's machine the test is skipped with the reason; under <c>CI=true</c> it fails,
/// because CI runs as root with every requirement installed, and a suite that skips there could go green untested.
/// </summary>
public static class Requirement
{
    /// <summary>True when the environment variable CI is "true", as CI systems set it.</summary>
    public static bool InCi { get; } =
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips the test (or fixture, from a one-time set-up) with <paramref name="reason"/>; fails it under CI=true.</summary>
    [DoesNotReturn]
    public static void Unmet(string reason) => Unmet(reason, InCi);

    [DoesNotReturn]
    internal static void Unmet(string reason, bool inCi)
    {
        if (inCi)
        {
            Assert.Fail($"{reason}; CI=true, where every requirement must be met, so this fails instead of being skipped");
        }

        Assert.Ignore(reason);
        throw new UnreachableException();
    }
}
