namespace Blueboat.Worker;

/// <summary>The worker process's resident memory, from /proc/self/statm (its second field, in pages).</summary>
internal static class ResidentMemory
{
    /// <summary>Resident bytes, or -1 when /proc cannot be read.</summary>
    public static long Bytes()
    {
        Span<byte> text = stackalloc byte[128];
        var n = ProcFiles.ReadStart("/proc/self/statm", text);
        if (n <= 0) return -1;
        return Parse(text[..n]) is { } pages ? pages * Environment.SystemPageSize : -1;
    }

    /// <summary>The resident page count in statm's "size resident shared text lib data dt" line.</summary>
    internal static long? Parse(ReadOnlySpan<byte> statm)
    {
        var space = statm.IndexOf((byte)' ');
        if (space < 0) return null;
        var rest = statm[(space + 1)..];
        var end = rest.IndexOfAny((byte)' ', (byte)'\n');
        if (end >= 0) rest = rest[..end];
        return System.Buffers.Text.Utf8Parser.TryParse(rest, out long pages, out var used) && used == rest.Length ? pages : null;
    }
}
