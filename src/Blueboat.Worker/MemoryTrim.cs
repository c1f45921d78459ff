using System.Buffers.Text;
using System.Runtime.InteropServices;

namespace Blueboat.Worker;

/// <summary>
/// Gives back what an idle worker holds but does not need: V8's and .NET's free heap pages,
/// glibc's free arenas, and the pages of the executable and of the V8 library that start-up
/// touched once (their file pages stay in the page cache, shared by every worker; a page a later
/// request needs comes back with a minor fault). Runs on the event loop thread, after the app is
/// locked down, so it uses only syscalls the worker policy allows (open read-only, read, madvise).
/// </summary>
internal static unsafe partial class MemoryTrim
{
    public static void Run(Action collectJsGarbage)
    {
        collectJsGarbage();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        ReleaseFreePages();
    }

    /// <summary>glibc's free arenas and the clean file pages, without collecting anything first.</summary>
    public static void ReleaseFreePages()
    {
        MallocTrim(0);
        DropUnmodifiedFilePages();
    }

    /// <summary>
    /// MADV_DONTNEED on every read-only, private, file-backed mapping none of whose pages were
    /// copied on write (smaps "Anonymous: 0 kB"): only clean file pages go, so nothing is lost.
    /// The mappings are collected first and advised after smaps is read.
    /// </summary>
    private static void DropUnmodifiedFilePages()
    {
        var droppable = new List<(ulong Start, ulong End)>(256);
        ulong start = 0, end = 0;
        var candidate = false;
        ProcFiles.ForEachLine("/proc/self/smaps", line =>
        {
            if (line.IsEmpty) return;
            if (IsMappingHeader(line, out var s, out var e, out var fileBackedReadOnly))
            {
                (start, end, candidate) = (s, e, fileBackedReadOnly);
            }
            else if (candidate && line.StartsWith("Anonymous:"u8))
            {
                if (line["Anonymous:".Length..].Trim((byte)' ').StartsWith("0 kB"u8)) droppable.Add((start, end));
                candidate = false;
            }
        });
        foreach (var (s, e) in droppable) Madvise((void*)s, (nuint)(e - s), MADV_DONTNEED);
    }

    // "start-end perms offset dev inode path": private ("p"), not writable, backed by a file (inode != 0).
    // Field lines ("Rss:", "Anonymous:", "VmFlags:") start with a capital; headers with a hex digit.
    private static bool IsMappingHeader(ReadOnlySpan<byte> line, out ulong start, out ulong end, out bool fileBackedReadOnly)
    {
        start = end = 0;
        fileBackedReadOnly = false;
        if (line[0] is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f'))) return false;
        var range = NextField(ref line);
        var dash = range.IndexOf((byte)'-');
        if (dash <= 0
            || !Utf8Parser.TryParse(range[..dash], out start, out _, 'x')
            || !Utf8Parser.TryParse(range[(dash + 1)..], out end, out _, 'x')) return false;
        var perms = NextField(ref line);
        NextField(ref line); // offset
        NextField(ref line); // device
        var inode = NextField(ref line);
        fileBackedReadOnly = perms.Length == 4 && perms[1] == (byte)'-' && perms[3] == (byte)'p' && !inode.SequenceEqual("0"u8);
        return true;
    }

    private static ReadOnlySpan<byte> NextField(ref ReadOnlySpan<byte> line)
    {
        line = line.TrimStart((byte)' ');
        var space = line.IndexOf((byte)' ');
        var field = space < 0 ? line : line[..space];
        line = space < 0 ? default : line[space..];
        return field;
    }

    private const int MADV_DONTNEED = 4;

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
