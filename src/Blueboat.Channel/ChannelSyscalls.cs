using System.Runtime.InteropServices;

namespace Blueboat.Channel;

/// <summary>The few libc calls both channel ends make on descriptors directly: receive without blocking, poll (the worker polls its channel and an eventfd together).</summary>
public static unsafe partial class ChannelSyscalls
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int MSG_DONTWAIT = 0x40;
    public const short POLLIN = 0x001;

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nint length, int flags);

    /// <summary>Blocks until the descriptor is readable, closed or in error (the next recv tells which).</summary>
    public static void WaitReadable(int fd)
    {
        var entry = new PollFd { Fd = fd, Events = POLLIN };
        Poll(&entry, 1, -1);
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);
}
