using Overlay.Cni.Tests.Plugin;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Fuzzing;

/// <summary>
/// The plugin under mutated stdin, CNI_ARGS, container ids and subnet.env: in process for many inputs, and the
/// built binary as a runtime runs it for a few, so that what reaches the runtime (exit code, stdout, stderr) is
/// checked as it really is. Always exit 0, or exit 1 with CNI error JSON and a documented code; never a stack trace.
/// </summary>
public class CniFuzzTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("ovt-cni-fuzz-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private static void AssertClean(FuzzReport report, long minimumEach)
    {
        TestContext.Out.WriteLine(report);
        Assert.That(report.Findings, Is.Empty, report.ToString());
        Assert.That(report.Accepted, Is.GreaterThan(minimumEach), "inputs that pass are reached");
        Assert.That(report.Rejected, Is.GreaterThan(minimumEach), "inputs that are refused are reached");
    }

    [Test]
    public void Mutated_invocations_in_process_end_in_a_result_or_a_documented_CNI_error()
    {
        var target = new CniFuzzTarget(_folder);

        AssertClean(FuzzCampaign.Run(target.Target, seed: 1410, iterations: 600), minimumEach: 20);
    }

    [Test]
    public void Mutated_invocations_of_the_built_plugin_print_CNI_error_JSON_and_no_stack_trace()
    {
        var target = new CniFuzzTarget(_folder);
        var mutator = new InputMutator(new Random(1411));
        int errors = 0;
        for (int i = 0; i < 10; i++)
        {
            CniFuzzInput input = target.Next(mutator);
            File.WriteAllText(Path.Combine(_folder, "subnet.env"), input.SubnetEnv);
            // An environment variable cannot hold a NUL; the runtime could not pass one.
            CniOutcome outcome = CniInvocation.Run(CniInvocation.Overlay, input.Command.Replace('\0', ' '), input.Config, input.ContainerId.Replace('\0', ' '),
                podNetns: "/run/netns/ovt-fuzz-none", cniPath: Path.Combine(_folder, "cni-path"), cniArgs: input.Args.Replace('\0', ' '));

            Assert.That(() => CniFuzzTarget.Judge(outcome.ExitCode, outcome.StdOut, outcome.StdErr), Throws.Nothing, $"{input}\n{outcome}");
            errors += outcome.ExitCode == 1 ? 1 : 0;
        }

        Assert.That(errors, Is.GreaterThan(3));
    }

    [Test]
    public void Mutated_delegate_results_give_the_pod_addresses_or_none() =>
        AssertClean(FuzzCampaign.Run(CniFuzzTarget.DelegateResults, seed: 1412, iterations: 15_000), minimumEach: 100);

    [Test]
    public void Mutated_CNI_ARGS_give_a_pod_none_or_an_invalid_environment_error() =>
        AssertClean(FuzzCampaign.Run(CniFuzzTarget.CniArgs, seed: 1413, iterations: 20_000), minimumEach: 100);
}
