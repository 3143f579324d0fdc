using Overlay.Core.Text;

namespace Overlay.Core.Tests.Text;

public class FlagValuesTests
{
    [TestCase("24h", 24 * 60)]
    [TestCase("90m", 90)]
    [TestCase("1h30m", 90)]
    [TestCase("30s", 0.5)]
    [TestCase("500ms", 500.0 / 60000)]
    public void Go_durations_are_read(string text, double minutes)
    {
        Assert.That(FlagValues.TryParseGoDuration(text, out TimeSpan value, out _), Is.True);
        Assert.That(value, Is.EqualTo(TimeSpan.FromMinutes(minutes)));
    }

    [TestCase("", "is empty")]
    [TestCase("h", "is not a duration")]
    [TestCase("24", "unknown unit")]
    [TestCase("1d", "unknown unit")]
    [TestCase("-5m", "is not a duration")]
    public void A_bad_duration_says_what_is_wrong(string text, string problem)
    {
        Assert.That(FlagValues.TryParseGoDuration(text, out _, out string why), Is.False);
        Assert.That(why, Does.Contain(problem));
    }

    [TestCase("true", true)]
    [TestCase("T", true)]
    [TestCase("1", true)]
    [TestCase("False", false)]
    [TestCase("0", false)]
    public void Booleans_are_read_as_go_reads_them(string text, bool expected)
    {
        Assert.That(FlagValues.TryParseBoolean(text, out bool value), Is.True);
        Assert.That(value, Is.EqualTo(expected));
    }

    [Test]
    public void Yes_is_not_a_boolean()
    {
        Assert.That(FlagValues.TryParseBoolean("yes", out _), Is.False);
    }
}
