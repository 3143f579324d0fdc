using Overlay.Leases.Etcd;
using Overlay.Leases.Store;
using Overlay.TestKit;

namespace Overlay.Leases.Tests;

/// <summary>One etcd for the fixture; each test gets its own prefix (and session, store) so tests stay independent.</summary>
public abstract class EtcdFixture : EtcdPerFixture
{
    protected string Prefix { get; private set; } = "";

    protected EtcdSession Session { get; private set; } = null!;

    protected LeaseStore Store { get; private set; } = null!;

    private readonly List<IAsyncDisposable> disposables = [];

    [SetUp]
    public void OpenSession()
    {
        Prefix = LeaseTesting.UniquePrefix();
        Session = new EtcdSession(LeaseTesting.Options(Etcd, Prefix));
        Store = new LeaseStore(Session);
    }

    [TearDown]
    public async Task CloseSessions()
    {
        await Session.DisposeAsync();
        foreach (IAsyncDisposable disposable in disposables)
        {
            await disposable.DisposeAsync();
        }

        disposables.Clear();
    }

    /// <summary>A second connection, as another node (or this node after a restart) would have.</summary>
    protected EtcdSession NewSession(EtcdOptions? options = null)
    {
        var session = new EtcdSession(options ?? LeaseTesting.Options(Etcd, Prefix));
        disposables.Add(session);
        return session;
    }

    protected Task PutConfigAsync(string json = LeaseTesting.SixtyFourSubnets) => Store.PutConfigJsonAsync(json, CancellationToken.None);

    protected string SubnetsPrefix => Overlay.Core.Leases.SubnetKey.SubnetsPrefix(Prefix);
}
