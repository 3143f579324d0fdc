using System.CommandLine;

namespace Overlay.Cli.Commands;

/// <summary>
/// <c>overlayctl completion bash|zsh</c>: a script for the shell that asks overlayctl itself what may come
/// next, through System.CommandLine's <c>[suggest:POSITION]</c> directive, so the completions always match
/// the installed overlayctl's commands, flags and flag values.
/// </summary>
internal static class Completion
{
    // Bash hands the function the whole line and the cursor; with no suggestion, -o default completes file names.
    public const string Bash = """
        # bash completion for overlayctl (System.CommandLine's [suggest] directive).
        # Load it with: source <(overlayctl completion bash)
        _overlayctl_complete() {
            local IFS=$'\n'
            COMPREPLY=($("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null))
        }
        complete -o default -F _overlayctl_complete overlayctl

        """;

    // Zsh's completion widgets see the line in BUFFER and the cursor in CURSOR; with no suggestion, file names.
    public const string Zsh = """
        #compdef overlayctl
        # zsh completion for overlayctl (System.CommandLine's [suggest] directive).
        # Load it with: source <(overlayctl completion zsh)   (after compinit)
        _overlayctl() {
            local -a suggestions
            suggestions=(${(f)"$(${words[1]} "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)"})
            if (( ${#suggestions} )); then
                compadd -- "${suggestions[@]}"
            else
                _files
            fi
        }
        if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then
            _overlayctl "$@"
        else
            compdef _overlayctl overlayctl
        fi

        """;

    private static readonly Argument<string> Shell = CreateShell();

    public static System.CommandLine.Command Command() =>
        CommandLine.Leaf("completion", "print a shell completion script for bash or zsh (see docs/cli.md)",
            "source <(overlayctl completion bash)", PrintAsync, Shell);

    private static Task<int> PrintAsync(CliContext c, CancellationToken ct)
    {
        c.Out.Write(c.Parse.GetValue(Shell) == "zsh" ? Zsh : Bash);
        return Task.FromResult(OverlayCtl.Done);
    }

    private static Argument<string> CreateShell()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        return shell;
    }
}
