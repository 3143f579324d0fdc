namespace Overlay.Core.Dns;

/// <summary>
/// A service's key in the zone: its name and namespace, the strings its <see cref="Services.ServiceSpec"/> holds (no
/// key string of its own: 10,000 of them would cost half a megabyte). Its comparer also compares it with the text
/// <c>&lt;svc&gt;.&lt;ns&gt;</c> cut from a query's name, without making a string of it.
/// </summary>
internal readonly record struct ServiceName(string Name, string Namespace)
{
    /// <summary>The longest <c>&lt;svc&gt;.&lt;ns&gt;</c>: two labels and a dot.</summary>
    private const int MaxLength = (2 * Text.DnsNames.MaxLabelLength) + 1;

    public sealed class Comparer : IEqualityComparer<ServiceName>, IAlternateEqualityComparer<ReadOnlySpan<char>, ServiceName>
    {
        public static readonly Comparer Instance = new();

        public bool Equals(ServiceName x, ServiceName y) =>
            string.Equals(x.Name, y.Name, StringComparison.Ordinal) && string.Equals(x.Namespace, y.Namespace, StringComparison.Ordinal);

        /// <summary>The hash of the text <c>&lt;svc&gt;.&lt;ns&gt;</c>, so that a key and its text hash alike.</summary>
        public int GetHashCode(ServiceName key)
        {
            int length = key.Name.Length + 1 + key.Namespace.Length;
            if (length > MaxLength)
            {
                return string.GetHashCode(key.Name + "." + key.Namespace, StringComparison.Ordinal);
            }

            Span<char> text = stackalloc char[MaxLength];
            key.Name.CopyTo(text);
            text[key.Name.Length] = '.';
            key.Namespace.CopyTo(text[(key.Name.Length + 1)..]);
            return string.GetHashCode(text[..length], StringComparison.Ordinal);
        }

        public bool Equals(ReadOnlySpan<char> alternate, ServiceName other) =>
            alternate.Length == other.Name.Length + 1 + other.Namespace.Length
            && alternate.StartsWith(other.Name, StringComparison.Ordinal)
            && alternate[other.Name.Length] == '.'
            && alternate[(other.Name.Length + 1)..].SequenceEqual(other.Namespace);

        public int GetHashCode(ReadOnlySpan<char> alternate) => string.GetHashCode(alternate, StringComparison.Ordinal);

        /// <summary>Not used by the zone (it adds only with whole keys); splits at the first dot.</summary>
        public ServiceName Create(ReadOnlySpan<char> alternate)
        {
            int dot = alternate.IndexOf('.');
            return dot < 0 ? new ServiceName(alternate.ToString(), "") : new ServiceName(alternate[..dot].ToString(), alternate[(dot + 1)..].ToString());
        }
    }
}
