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

    /// <summary>A configuration file is a few KiB; anything past this is not one.</summary>
    private const int MaxBytes = 1024 * 1024;

    public sealed record Entry(string Key, string? Value, int Line);

    /// <summary>Reads and checks the syntax of <paramref name="path"/>; errors name the file and the line.</summary>
    public static List<Entry> Read(string path)
    {
        string[] lines;
        if (Directory.Exists(path)) throw new UsageException($"--config: {path} is a directory, not a file");
        try
        {
            // Read at most a little past the cap, so /dev/zero or a wrong huge file fails fast.
            using var stream = File.OpenRead(path);
            var buffer = new byte[MaxBytes + 1];
            var length = 0;
            int n;
            while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0) length += n;
            if (length > MaxBytes) throw new UsageException($"--config: {path} is larger than {MaxBytes / 1024} KiB; is it the right file?");
            lines = System.Text.Encoding.UTF8.GetString(buffer, 0, length).Split('\n');
        }
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
