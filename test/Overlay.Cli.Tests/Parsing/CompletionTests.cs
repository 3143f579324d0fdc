using Overlay.TestKit;

namespace Overlay.Cli.Tests.Parsing;

/// <summary>
/// <c>overlayctl completion bash|zsh</c>: the scripts are valid, and bash, running the script against the built
/// overlayctl, completes commands, verbs and flag values through the library's [suggest] directive.
/// </summary>
public sealed class CompletionTests
{
    private string folder = "";

    [OneTimeSetUp]
    public void PutOverlayctlOnAPath()
    {
        // The script runs whatever 'overlayctl' the line starts with; here a wrapper around the built one.
        folder = Directory.CreateTempSubdirectory("ovt-completion-").FullName;
        string dll = Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} is missing");
        string wrapper = Path.Combine(folder, "overlayctl");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec dotnet '{dll}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [OneTimeTearDown]
    public void RemoveTheWrapper() => Directory.Delete(folder, recursive: true);

    private async Task<string> ScriptAsync(string shell)
    {
        CliResult result = await Cli.RunAsync("completion", shell);
        Assert.That((result.ExitCode, result.Err), Is.EqualTo((0, "")));
        string path = Path.Combine(folder, $"completion.{shell}");
        await File.WriteAllTextAsync(path, result.Out);
        return path;
    }

    [Test]
    public async Task The_bash_script_is_valid_bash()
    {
        string script = await ScriptAsync("bash");

        CommandResult check = await Shell.RunAsync("bash", ["-n", script]);

        Assert.That(check.ExitCode, Is.Zero, check.StdErr);
        Assert.That(await File.ReadAllTextAsync(script), Does.Contain("complete -o default -F _overlayctl_complete overlayctl"));
    }

    [Test]
    public async Task The_zsh_script_is_valid_zsh()
    {
        string script = await ScriptAsync("zsh");
        if (Shell.Run("sh", "-c", "command -v zsh").ExitCode != 0)
        {
            Requirement.Unmet("zsh is not installed (apt-get install zsh; scripts/install-deps.sh does)");
        }

        CommandResult check = await Shell.RunAsync("zsh", ["-n", script]);

        Assert.That(check.ExitCode, Is.Zero, check.StdErr);
    }

    /// <summary>What bash offers for <paramref name="line"/> with the cursor at its end, through the script.</summary>
    private async Task<string[]> CompleteAsync(string line)
    {
        string script = await ScriptAsync("bash");
        string words = string.Join(" ", line.Split(' ').Select(w => $"'{w}'"));
        string program = $"""
            PATH='{folder}':"$PATH"
            source '{script}'
            COMP_LINE='{line}'
            COMP_POINT=${"{#COMP_LINE}"}
            COMP_WORDS=({words})
            COMP_CWORD=$((${"{#COMP_WORDS[@]}"} - 1))
            _overlayctl_complete overlayctl "${"{COMP_WORDS[COMP_CWORD]}"}" "${"{COMP_WORDS[COMP_CWORD-1]}"}"
            printf '%s\n' "${"{COMPREPLY[@]}"}"
            """;
        CommandResult result = await Shell.RunAsync("bash", ["-c", program]);
        Assert.That(result.ExitCode, Is.Zero, result.StdErr);
        return result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Test]
    public async Task Bash_completes_a_command_from_its_first_letters()
    {
        Assert.That(await CompleteAsync("overlayctl lea"), Is.EqualTo(new[] { "lease", "leases" }));
    }

    [Test]
    public async Task Bash_completes_a_verb_and_a_flag_of_that_verb()
    {
        Assert.That(await CompleteAsync("overlayctl leases g"), Is.EqualTo(new[] { "gc", "get" }));
        Assert.That(await CompleteAsync("overlayctl leases gc --ap"), Is.EqualTo(new[] { "--apply" }));
    }

    [Test]
    public async Task Bash_completes_the_output_formats_of_the_command()
    {
        Assert.That(await CompleteAsync("overlayctl leases list -o "), Is.EqualTo(new[] { "json", "table", "wide" }));
        Assert.That(await CompleteAsync("overlayctl config get -o "), Is.EqualTo(new[] { "json", "raw" }));
    }
}
