using NUnit.Framework.Internal;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

public class RequirementTests
{
    [Test]
    public void An_unmet_requirement_skips_the_test_with_its_reason_on_a_developers_machine()
    {
        IgnoreException skipped;
        using (new TestExecutionContext.IsolatedContext())
        {
            skipped = Assert.Throws<IgnoreException>(() => Requirement.Unmet("needs a thing", inCi: false));
        }

        Assert.That(skipped.Message, Is.EqualTo("needs a thing"));
    }

    [Test]
    public void Under_CI_an_unmet_requirement_fails_the_test_instead()
    {
        AssertionException failed;
        using (new TestExecutionContext.IsolatedContext())
        {
            failed = Assert.Throws<AssertionException>(() => Requirement.Unmet("needs a thing", inCi: true));
        }

        Assert.That(failed.Message, Does.StartWith("needs a thing").And.Contain("CI=true"));
    }
}
