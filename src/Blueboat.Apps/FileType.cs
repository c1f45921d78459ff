using System.Runtime.InteropServices;

namespace Blueboat.Apps;

/// <summary>
/// Tells regular files from fifos, sockets and devices, which .NET's file APIs do not: opening a
/// fifo to read it would block start-up forever. statx has one layout on every architecture.
/// </summary>
public static partial class FileType
{
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int ModeOffset = 28; // struct statx: stx_mode (u16)

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    public static unsafe bool IsRegular(string path)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(-100 /* AT_FDCWD */, path, AtSymlinkNoFollow, StatxType, buffer) != 0) return false;
        var mode = *(ushort*)(buffer + ModeOffset);
        return (mode & 0xF000) == 0x8000;
    }
}
