using System.CommandLine;
using System.CommandLine.Parsing;
using Overlay.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Services;
using Overlay.Leases.Store;

namespace Overlay.Cli.Commands;

/// <summary>An operation that failed for a reason the admin can act on: exit status 1 and the message.</summary>
public sealed class CommandFailedException : Exception
{
    public CommandFailedException(string message)
        : base(message)
    {
    }

    public CommandFailedException()
    {
    }

    public CommandFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>What a command runs with: its streams, the time, the parsed command line, and (on first use) etcd.</summary>
internal sealed class CliContext : IAsyncDisposable
{
    private readonly Func<Connection> resolveConnection;
    private Connection? connection;
    private EtcdSession? session;
    private LeaseStore? store;
    private ServiceRegistry? services;

    public CliContext(ParseResult parse, TextReader input, TextWriter output, TextWriter error, TimeProvider time, Func<Connection> resolveConnection)
    {
        Parse = parse;
        In = input;
        Out = output;
        Err = error;
        Time = time;
        this.resolveConnection = resolveConnection;
    }

    public ParseResult Parse { get; }

    /// <summary>The command's words, e.g. <c>leases get</c>.</summary>
    public string CommandPath => CommandLine.PathOf(Parse.CommandResult.Command);

    public TextReader In { get; }

    public TextWriter Out { get; }

    public TextWriter Err { get; }

    public TimeProvider Time { get; }

    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>The chosen output format, or the command's default (its first).</summary>
    public string Output =>
        Parse.CommandResult.Command.Options.FirstOrDefault(o => o.Name == "--output") is Option<string> output
            ? Parse.GetValue(output) ?? "table"
            : "table";

    /// <summary>The command's arguments as given, in order.</summary>
    public IReadOnlyList<string> Arguments =>
        Parse.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens).Select(t => t.Value).ToList();

    /// <summary>A flag's value; null (or false) when not given.</summary>
    public T? Flag<T>(Option<T> option) => Parse.GetValue(option);

    /// <summary>Every value of a repeatable flag, in the order given.</summary>
    public IReadOnlyList<string> Values(Option<string[]> option) => Parse.GetValue(option) ?? [];

    public Connection Connection => connection ??= resolveConnection();

    /// <summary>
    /// The lease store over a session opened on first use. The session's retries wait in real time; the
    /// store computes expirations with <see cref="Time"/>, so tests can pin "now".
    /// </summary>
    public LeaseStore Store
    {
        get
        {
            if (store is null)
            {
                session = new EtcdSession(Connection.Options);
                store = new LeaseStore(session, time: Time);
            }

            return store;
        }
    }

    /// <summary>The service registry, over the same session as <see cref="Store"/>.</summary>
    public ServiceRegistry Services => services ??= new ServiceRegistry(Store.Session);

    public string Prefix => Connection.Options.Prefix.TrimEnd('/');

    public TimeSpan RenewMargin => Flag(CommandLine.Flags.RenewMargin) is { } margin
        ? CommandLine.ParseDuration("renew-margin", margin, TimeSpan.FromSeconds(1))
        : TimeSpan.FromMinutes(60);

    public void Warn(string message) => Err.Write($"warning: {message}\n");

    public async ValueTask DisposeAsync()
    {
        if (session is not null)
        {
            await session.DisposeAsync();
        }
    }
}
