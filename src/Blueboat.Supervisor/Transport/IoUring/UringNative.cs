using System.Runtime.InteropServices;

namespace Blueboat.Supervisor.Transport.IoUring;

/// <summary>A completion as native/uring.c copies it out of the shared ring.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Completion
{
    public ulong UserData;
    public int Result;
    public uint Flags;
}

/// <summary>The C shim in native/uring.c (linked into the executable) and the few libc calls around it.</summary>
internal static unsafe partial class UringNative
{
    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_open")]
    public static partial int Open(uint entries, uint bufCount, uint bufSize, ushort bufGroup, out nint ring, out int stage);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_close")]
    public static partial void Close(nint ring);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_enter")]
    public static partial int Enter(nint ring, uint minComplete);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_prep")]
    public static partial int Prep(nint ring, byte opcode, int fd, ulong addr, uint len, ulong off, uint opFlags, ushort ioprio, byte sqeFlags, ushort bufGroup, ulong userData);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_reap")]
    public static partial int Reap(nint ring, Completion* output, int max);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_cq_overflowed")]
    public static partial int CqOverflowed(nint ring);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_buffers")]
    public static partial byte* Buffers(nint ring);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_buf_recycle")]
    public static partial void BufRecycle(nint ring, ushort bid);

    [LibraryImport("blueboat_native", EntryPoint = "bb_uring_buf_publish")]
    public static partial void BufPublish(nint ring);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buf, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int CloseFd(int fd);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* addr, ref uint len);

    [LibraryImport("libc", EntryPoint = "getpeername", SetLastError = true)]
    public static partial int GetPeerName(int fd, byte* addr, ref uint len);

    public const int ShutRdWr = 2;
    public const int EfdCloexec = 0x80000;
    public const int EfdNonblock = 0x800;
    public const uint SockNonblock = 0x800;
    public const uint SockCloexec = 0x80000;
    public const uint MsgNosignal = 0x4000;
}

/// <summary>io_uring constants from linux/io_uring.h that the transport uses.</summary>
internal static class Io
{
    public const byte OpRead = 22;
    public const byte OpSendMsg = 9;
    public const byte OpSend = 26;
    public const byte OpAccept = 13;
    public const byte OpAsyncCancel = 14;
    public const byte OpRecv = 27;

    public const byte SqeBufferSelect = 1 << 5;
    public const ushort AcceptMultishot = 1 << 0;
    public const ushort RecvMultishot = 1 << 1;

    public const uint CqeFBuffer = 1 << 0;
    public const uint CqeFMore = 1 << 1;
    public const int CqeBufferShift = 16;
}

/// <summary>Linux errno values the transport tells apart.</summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    public const int ENOBUFS = 105;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ECANCELED = 125;
    public const int ENOENT = 2;
    public const int EALREADY = 114;
}
