using System.Runtime.InteropServices;
using System.Text;

namespace Blueboat.Worker;

/// <summary>
/// Reads /proc files with plain open, read and close: system calls the worker's sandbox allows
/// (.NET's file APIs may seek or use pread, which it does not). /proc files report no size, so
/// they are read until the end.
/// </summary>
internal static unsafe partial class ProcFiles
{
    /// <summary>The whole file as text, or null when it cannot be opened.</summary>
    public static string? ReadText(string path)
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
                    var n = ReadRetrying(fd, p, buffer.Length);
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
