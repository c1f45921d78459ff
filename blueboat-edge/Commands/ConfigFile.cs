using System.Text.RegularExpressions;

namespace Blueboat.Edge.Commands;

/// <summary>
/// The service's configuration file: one setting per line, named like the long flag of `serve`
/// without its dashes (`listen = 127.0.0.1:3000`), a switch as its name alone
/// (`dangerously-disable-seccomp`), repeatable settings on repeated lines, `#` comments on lines of
/// their own. The values go through the same parser as the command line, so every flag can be set
/// here and nothing is parsed twice.
/// </summary>
public static partial class ConfigFile
{
    /// <summary>Where the packaged service keeps it (the unit passes it with --config).</summary>
    public const string DefaultPath = "/etc/blueboat-edge/blueboat-edge.conf";

    public sealed record Entry(string Key, string? Value, int Line);

    /// <summary>Reads and checks the syntax of <paramref name="path"/>; errors name the file and the line.</summary>
    public static List<Entry> Read(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--config: cannot read {path}: {e.Message}");
        }
        var entries = new List<Entry>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var eq = line.IndexOf('=');
            var key = (eq < 0 ? line : line[..eq]).Trim();
            var value = eq < 0 ? null : line[(eq + 1)..].Trim();
            if (!KeyPattern().IsMatch(key))
                throw new UsageException($"{path}:{i + 1}: \"{key}\" is not a setting name (the long flag without its dashes, e.g. listen)");
            if (value is { Length: 0 })
                throw new UsageException($"{path}:{i + 1}: {key} has no value after \"=\"");
            entries.Add(new Entry(key, value, i + 1));
        }
        return entries;
    }

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex KeyPattern();
}
