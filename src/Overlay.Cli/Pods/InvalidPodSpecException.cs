namespace Overlay.Cli.Pods;

/// <summary>A pod's DNS or hosts settings break a rule; the message names the rule and the offending value.</summary>
public sealed class InvalidPodSpecException : Exception
{
    public InvalidPodSpecException(string message)
        : base(message)
    {
    }

    public InvalidPodSpecException()
    {
    }

    public InvalidPodSpecException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
