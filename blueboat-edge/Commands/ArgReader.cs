using System.Globalization;

namespace Blueboat.Edge.Commands;

/// <summary>Walks a command's arguments: flags with values (`--x V` or `--x=V`), and positionals.</summary>
public sealed class ArgReader(IReadOnlyList<string> args)
{
    private int index = -1;
    private string? inline;

    /// <summary>The current flag name (without an `=value` part).</summary>
    public string Current { get; private set; } = "";

    public bool Next()
    {
        index++;
        if (index >= args.Count) return false;
        var arg = args[index];
        inline = null;
        if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 0)
        {
            inline = arg[(eq + 1)..];
            arg = arg[..eq];
        }
        Current = arg;
        return true;
    }

    /// <summary>The index of the current argument (to find what a flag consumed, with <see cref="Consumed"/>).</summary>
    public int Position => index;

    /// <summary>The arguments from <paramref name="from"/> to the current one, inclusive.</summary>
    public IEnumerable<string> Consumed(int from) => args.Skip(from).Take(index - from + 1);

    public bool IsFlag => Current.StartsWith('-') && Current != "-";

    public string Value()
    {
        if (inline is not null) return inline;
        if (index + 1 >= args.Count) throw new UsageException($"{Current} needs a value");
        return args[++index];
    }

    /// <summary>The value, or null for Blueboat's "-" (unset).</summary>
    public string? OptionalValue() => Value() is var v && v == "-" ? null : v;

    public long Number(long min, long max, long fallback)
    {
        var v = OptionalValue();
        if (v is null) return fallback;
        if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
            throw new UsageException($"{Current}: \"{v}\" is not a number from {min} to {max}");
        return n;
    }

    public UsageException Unknown() =>
        new(IsFlag ? $"unknown flag {Current}" : $"unexpected argument \"{Current}\"");
}
