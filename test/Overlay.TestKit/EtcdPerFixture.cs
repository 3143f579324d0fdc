using NUnit.Framework;

namespace Overlay.TestKit;

/// <summary>
/// A base for test fixtures that share one real etcd: started before the fixture's first test, stopped and
/// its data deleted after the last; its log is attached to every failing test's output.
/// </summary>
public abstract class EtcdPerFixture
{
    protected EtcdServer Etcd { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartEtcd() => Etcd = await EtcdServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        if (Etcd is not null)
        {
            await Etcd.DisposeAsync();
        }
    }

    [TearDown]
    public void AttachEtcdLogIfFailed() => Etcd?.AttachLogIfFailed();
}
