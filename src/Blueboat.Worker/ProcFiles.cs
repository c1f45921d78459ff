using System.Runtime.InteropServices;

namespace Blueboat.Worker;

/// <summary>
/// Reads /proc files with plain open, read and close: system calls the worker's sandbox allows
/// (.NET's file APIs may seek or use pread, which it does not). /proc files report no size, so
/// they are read until the end.
/// </summary>
internal static unsafe partial class ProcFiles
{
    public delegate void LineAction(ReadOnlySpan<byte> line);

    /// <summary>
    /// Each line of the file, without its newline, read through one buffer so that no text is
    /// kept (a worker that reads its own smaps to give memory back must not grow doing so). A line
    /// longer than the buffer is skipped. False when the file cannot be opened.
    /// </summary>
    public static bool ForEachLine(string path, LineAction onLine)
    {
        var fd = Open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        try
        {
            var buffer = new byte[16 * 1024];
            var filled = 0;
            var skipping = false; // inside a line longer than the buffer
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    var n = (int)ReadRetrying(fd, p + filled, buffer.Length - filled);
                    if (n <= 0)
                    {
                        if (filled > 0 && !skipping) onLine(buffer.AsSpan(0, filled));
                        return true;
                    }
                    filled += n;
                    var start = 0;
                    while (buffer.AsSpan(start, filled - start).IndexOf((byte)'\n') is var nl && nl >= 0)
                    {
                        if (!skipping) onLine(buffer.AsSpan(start, nl));
                        skipping = false;
                        start += nl + 1;
                    }
                    buffer.AsSpan(start, filled - start).CopyTo(buffer);
                    filled -= start;
                    if (filled == buffer.Length)
                    {
                        skipping = true;
                        filled = 0;
                    }
                }
            }
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>The start of the file into <paramref name="buffer"/> (one read, no allocation); the bytes read, or -1.</summary>
    public static int ReadStart(string path, Span<byte> buffer)
    {
        var fd = Open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        try
        {
            fixed (byte* p = buffer) return (int)ReadRetrying(fd, p, buffer.Length);
        }
        finally
        {
            Close(fd);
        }
    }

    private static nint ReadRetrying(int fd, byte* buffer, int count)
    {
        while (true)
        {
            var n = Read(fd, buffer, count);
            if (n < 0 && Marshal.GetLastSystemError() == EINTR) continue;
            return n;
        }
    }

    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000;
    private const int EINTR = 4;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
