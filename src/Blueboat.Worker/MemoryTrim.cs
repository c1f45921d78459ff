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
    /// </summary>
    private static void DropUnmodifiedFilePages()
    {
        var smaps = ProcFiles.ReadText("/proc/self/smaps");
        if (smaps is null) return;
        ulong start = 0, end = 0;
        var candidate = false;
        foreach (var line in smaps.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (IsMappingHeader(line, out var s, out var e, out var droppable))
            {
                start = s;
                end = e;
                candidate = droppable;
            }
            else if (candidate && line.StartsWith("Anonymous:", StringComparison.Ordinal))
            {
                if (line.AsSpan("Anonymous:".Length).Trim().StartsWith("0 kB")) Madvise((void*)start, (nuint)(end - start), MADV_DONTNEED);
                candidate = false;
            }
        }
    }

    // "start-end perms offset dev inode path": private ("p"), not writable, backed by a file (inode != 0).
    private static bool IsMappingHeader(string line, out ulong start, out ulong end, out bool droppable)
    {
        start = end = 0;
        droppable = false;
        var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 5 || parts[0].IndexOf('-') is var dash && dash <= 0) return false;
        if (!ulong.TryParse(parts[0].AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out start)) return false;
        if (!ulong.TryParse(parts[0].AsSpan(dash + 1), System.Globalization.NumberStyles.HexNumber, null, out end)) return false;
        var perms = parts[1];
        droppable = perms.Length == 4 && perms[1] == '-' && perms[3] == 'p' && parts[4] != "0";
        return true;
    }

    private const int MADV_DONTNEED = 4;

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
