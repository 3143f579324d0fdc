using Overlay.Core.Text;

namespace Overlay.Core.Tests.Text;

public class RoffTests
{
    [TestCase("--etcd-endpoints", @"\-\-etcd\-endpoints")]
    [TestCase(@"C:\path", @"C:\epath")]
    [TestCase(".starts with a dot", @"\&.starts with a dot")]
    [TestCase("'quoted", @"\&'quoted")]
    [TestCase("first\n.second", "first\n\\&.second")]
    [TestCase("a.b 'c'", "a.b 'c'")]
    public void Escaping_keeps_hyphens_backslashes_and_leading_dots_as_typed(string text, string roff)
    {
        Assert.That(Roff.Escape(text), Is.EqualTo(roff));
    }

    [Test]
    public void A_title_carries_no_date_so_the_same_build_gives_the_same_page()
    {
        Assert.That(Roff.Title("overlayd", 8, "0.1.0", "System Administration"),
            Does.StartWith(".TH OVERLAYD 8 \"\" \"overlay 0.1.0\" \"System Administration\"\n"));
    }
}
