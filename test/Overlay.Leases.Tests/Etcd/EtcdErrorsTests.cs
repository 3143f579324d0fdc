using Overlay.Leases.Etcd;

namespace Overlay.Leases.Tests.Etcd;

public sealed class EtcdErrorsTests
{
    [Test]
    public void Lease_refusals_are_io_failures_that_are_never_retried_as_transient()
    {
        LeaseException[] refusals =
        [
            new OutOfSubnetsException(),
            new LeaseLostException("lost"),
            new NetworkConfigMissingException(),
            new SubnetHeldException("held"),
        ];

        Assert.That(refusals, Is.All.InstanceOf<IOException>());
        Assert.That(refusals.Select(e => EtcdErrors.IsTransient(e)), Is.All.False);
    }
}
