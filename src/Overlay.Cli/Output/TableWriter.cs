namespace Overlay.Cli.Output;

/// <summary>
/// kubectl-style columns: an upper-case header, each column padded to its widest cell, three spaces between
/// columns, no trailing spaces. An empty table prints nothing (callers say so on stderr, as kubectl does).
/// </summary>
internal sealed class TableWriter
{
    private const string Gap = "   ";
    private readonly string[] headers;
    private readonly List<string[]> rows = [];

    public TableWriter(params string[] headers)
    {
        this.headers = headers;
    }

    public int RowCount => rows.Count;

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"a row of {cells.Length} cells in a table of {headers.Length} columns", nameof(cells));
        }

        rows.Add(cells);
    }

    public void WriteTo(TextWriter writer)
    {
        if (rows.Count == 0)
        {
            return;
        }

        int[] widths = new int[headers.Length];
        foreach (string[] row in rows.Prepend(headers))
        {
            for (int i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (string[] row in rows.Prepend(headers))
        {
            var line = new System.Text.StringBuilder();
            for (int i = 0; i < row.Length; i++)
            {
                line.Append(row[i]);
                if (i < row.Length - 1)
                {
                    line.Append(' ', widths[i] - row[i].Length).Append(Gap);
                }
            }

            writer.Write(line.ToString().TrimEnd());
            writer.Write('\n');
        }
    }
}
