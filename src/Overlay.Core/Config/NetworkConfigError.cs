namespace Overlay.Core.Config;

/// <summary>One thing wrong with a network config: the field, and a message naming the value and what would be valid.</summary>
public sealed record NetworkConfigError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>A network config that cannot be used; <see cref="Errors"/> lists every problem found.</summary>
public sealed class InvalidNetworkConfigException : Exception
{
    public InvalidNetworkConfigException(IReadOnlyList<NetworkConfigError> errors)
        : base("invalid network config: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    public InvalidNetworkConfigException()
        : this([])
    {
    }

    public InvalidNetworkConfigException(string message)
        : this([new NetworkConfigError("config", message)])
    {
    }

    public InvalidNetworkConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new NetworkConfigError("config", message)];
    }

    public IReadOnlyList<NetworkConfigError> Errors { get; }
}
