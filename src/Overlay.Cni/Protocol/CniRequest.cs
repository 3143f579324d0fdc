namespace Overlay.Cni.Protocol;

public enum CniCommand
{
    Add,
    Del,
    Check,
    Version,
}

/// <summary>What the runtime passes in CNI_* environment variables.</summary>
public sealed record CniRequest(CniCommand Command, string ContainerId, string? NetNs, string IfName, string? Args, IReadOnlyList<string> Path)
{
    /// <summary>
    /// Reads and checks the CNI_* variables the command needs. CNI_NETNS may be empty for DEL (the namespace
    /// can be gone already); VERSION needs nothing but CNI_COMMAND.
    /// </summary>
    public static CniRequest FromEnvironment(Func<string, string?> variable)
    {
        string? commandText = variable("CNI_COMMAND");
        CniCommand command = commandText switch
        {
            "ADD" => CniCommand.Add,
            "DEL" => CniCommand.Del,
            "CHECK" => CniCommand.Check,
            "VERSION" => CniCommand.Version,
            null or "" => throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_COMMAND is not set"),
            _ => throw new CniException(CniErrorCode.InvalidEnvironment, $"unknown CNI_COMMAND '{commandText}' (expected ADD, DEL, CHECK or VERSION)"),
        };
        if (command == CniCommand.Version)
        {
            return new CniRequest(command, "", null, "", null, []);
        }

        string containerId = Required(variable, "CNI_CONTAINERID");
        if (!IsValidContainerId(containerId))
        {
            // The id names a file in dataDir, so it must not climb out of it.
            throw new CniException(CniErrorCode.InvalidEnvironment,
                $"CNI_CONTAINERID '{containerId}' is invalid: it must start with a letter or digit and hold only letters, digits, '_', '.' and '-'");
        }

        string? netns = variable("CNI_NETNS");
        if (command != CniCommand.Del && string.IsNullOrEmpty(netns))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_NETNS is not set");
        }

        string ifName = Required(variable, "CNI_IFNAME");
        string[] path = Required(variable, "CNI_PATH").Split(':', StringSplitOptions.RemoveEmptyEntries);
        return new CniRequest(command, containerId, string.IsNullOrEmpty(netns) ? null : netns, ifName, variable("CNI_ARGS"), path);
    }

    internal static bool IsValidContainerId(string id) =>
        id.Length > 0 && char.IsAsciiLetterOrDigit(id[0]) && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    private static string Required(Func<string, string?> variable, string name)
    {
        string? value = variable(name);
        return string.IsNullOrEmpty(value) ? throw new CniException(CniErrorCode.InvalidEnvironment, $"{name} is not set") : value;
    }
}
