using System.Runtime.InteropServices;
using System.Text;

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
        MallocTrim(0);
        DropUnmodifiedFilePages();
    }

    /// <summary>
    /// MADV_DONTNEED on every read-only, private, file-backed mapping none of whose pages were
    /// copied on write (smaps "Anonymous: 0 kB"): only clean file pages go, so nothing is lost.
    /// </summary>
    private static void DropUnmodifiedFilePages()
    {
        var smaps = ReadProcFile("/proc/self/smaps");
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

    private static string? ReadProcFile(string path)
    {
        var fd = Open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return null;
        try
        {
            var text = new StringBuilder(64 * 1024);
            var buffer = new byte[64 * 1024];
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    var n = Read(fd, p, buffer.Length);
                    if (n < 0 && Marshal.GetLastSystemError() == EINTR) continue;
                    if (n <= 0) break;
                    text.Append(Encoding.ASCII.GetString(buffer, 0, (int)n));
                }
            }
            return text.ToString();
        }
        finally
        {
            Close(fd);
        }
    }

    private const int MADV_DONTNEED = 4;
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000;
    private const int EINTR = 4;

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
