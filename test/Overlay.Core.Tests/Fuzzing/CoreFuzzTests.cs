using Overlay.TestKit;

namespace Overlay.Core.Tests.Fuzzing;

/// <summary>
/// Every Core parser of another party's input, fed seeded mutations and grammar-generated values for a fixed
/// count (a few seconds each): nothing throws but the documented refusal, and what is accepted round-trips. Both
/// verdicts must be reached, so a generator that only ever makes garbage (or only the seeds) fails the test.
/// </summary>
public class CoreFuzzTests
{
    private static void AssertClean<T>(FuzzTarget<T> target, int seed, int iterations, double minimumAcceptedShare = 0.01)
    {
        FuzzReport report = FuzzCampaign.Run(target, seed, iterations);
        TestContext.Out.WriteLine(report);

        Assert.That(report.Findings, Is.Empty, report.ToString());
        Assert.That(report.Accepted, Is.GreaterThan((long)(iterations * minimumAcceptedShare)), "valid inputs are reached");
        Assert.That(report.Rejected, Is.GreaterThan(iterations / 100), "invalid inputs are reached");
    }

    [Test]
    public void Lease_keys_from_the_grammar_and_mutated_are_refused_with_a_reason_or_print_back_as_themselves() =>
        AssertClean(CoreFuzzTargets.SubnetKeys, seed: 1401, iterations: 30_000);

    [Test]
    public void Mutated_lease_values_are_refused_with_a_reason_or_read_back_equal() =>
        AssertClean(CoreFuzzTargets.LeaseValues, seed: 1402, iterations: 10_000);

    [Test]
    public void Mutated_network_configs_are_refused_with_errors_or_hold_their_invariants() =>
        AssertClean(CoreFuzzTargets.NetworkConfigs, seed: 1403, iterations: 8_000);

    [Test]
    public void Mutated_subnet_env_files_give_a_valid_previous_subnet_or_none() =>
        AssertClean(CoreFuzzTargets.SubnetEnvFiles, seed: 1404, iterations: 20_000);

    [Test]
    public void Mutated_pod_records_are_refused_with_a_reason_or_written_back_the_same() =>
        AssertClean(CoreFuzzTargets.PodRecords, seed: 1405, iterations: 8_000);

    [Test]
    public void Mutated_service_records_are_refused_with_a_reason_or_written_back_the_same() =>
        AssertClean(CoreFuzzTargets.ServiceRecords, seed: 1406, iterations: 8_000);
}
