using Overlay.Cni.Delegation;

namespace Overlay.Cni.Tests.Delegation;

public class DelegateStoreTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("ovt-cni-store-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void A_saved_config_is_loaded_back_and_gone_after_removal()
    {
        var store = new DelegateStore(Path.Combine(_folder, "flannel"));

        store.Save("c1", """{"type":"bridge"}""");
        string? loaded = store.Load("c1");
        store.Remove("c1");

        Assert.That(loaded, Is.EqualTo("""{"type":"bridge"}"""));
        Assert.That(store.Load("c1"), Is.Null);
    }

    [Test]
    public void The_file_is_named_after_the_container_like_flannels_and_only_the_owner_reads_it()
    {
        var store = new DelegateStore(Path.Combine(_folder, "flannel"));

        store.Save("c2", "{}");

        string path = Path.Combine(_folder, "flannel", "c2");
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(Directory.GetFiles(Path.Combine(_folder, "flannel")), Is.EqualTo(new[] { path }), "no temp file is left behind");
    }

    [Test]
    public void A_container_never_added_has_no_config_even_without_a_data_dir()
    {
        Assert.That(new DelegateStore(Path.Combine(_folder, "absent")).Load("c3"), Is.Null);
    }

    [Test]
    public void Saving_again_replaces_the_config()
    {
        var store = new DelegateStore(_folder);

        store.Save("c4", "{\"a\":1}");
        store.Save("c4", "{\"a\":2}");

        Assert.That(store.Load("c4"), Is.EqualTo("{\"a\":2}"));
    }
}
