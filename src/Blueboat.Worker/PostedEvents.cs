using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Blueboat.Channel;

namespace Blueboat.Worker;

/// <summary>
/// Events posted to the loop from other threads (timer callbacks), and the loop's sleep: poll(2)
/// on the channel and an eventfd that a post writes only when the loop sleeps (or is about to), so
/// a busy loop costs posters no system call.
/// </summary>
/// <remarks>
/// No wake-up is lost: the loop sets <see cref="sleeping"/> and then looks at the queue; a poster
/// enqueues and then swaps the flag. Both steps are full fences (Interlocked), so either the loop
/// sees the event and does not sleep, or the poster sees the flag and writes the eventfd.
/// </remarks>
internal sealed unsafe partial class PostedEvents : IDisposable
{
    private readonly ConcurrentQueue<WorkerEvent> queue = new();
    private readonly int eventFd;
    private int sleeping; // 1 from just before the loop's last look at the queue until it is back from poll

    public PostedEvents()
    {
        eventFd = EventFd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (eventFd < 0) throw new InvalidOperationException($"eventfd failed (errno {Marshal.GetLastSystemError()})");
    }

    /// <summary>Any thread: queues <paramref name="ev"/> and wakes the loop if it sleeps.</summary>
    public void Post(WorkerEvent ev)
    {
        queue.Enqueue(ev);
        if (Interlocked.Exchange(ref sleeping, 0) == 1) Signal(); // one write wakes it; later posters need none
    }

    /// <summary>The loop only.</summary>
    public bool TryTake(out WorkerEvent ev) => queue.TryDequeue(out ev!);

    /// <summary>
    /// The loop only: sleeps until <paramref name="channelFd"/> is readable (or closed), an event
    /// is posted, or <paramref name="timeoutMs"/> passes (-1: no limit). False only on the timeout;
    /// true may be spurious, so the caller looks again.
    /// </summary>
    public bool Sleep(int channelFd, int timeoutMs)
    {
        Interlocked.Exchange(ref sleeping, 1);
        if (!queue.IsEmpty)
        {
            Volatile.Write(ref sleeping, 0);
            return true;
        }
        var fds = stackalloc ChannelSyscalls.PollFd[2];
        fds[0] = new ChannelSyscalls.PollFd { Fd = channelFd, Events = ChannelSyscalls.POLLIN }; // a negative descriptor is ignored by poll
        fds[1] = new ChannelSyscalls.PollFd { Fd = eventFd, Events = ChannelSyscalls.POLLIN };
        var ready = ChannelSyscalls.Poll(fds, 2, timeoutMs);
        Volatile.Write(ref sleeping, 0);
        if (ready == 0) return false;
        if (ready > 0 && fds[1].Revents != 0)
        {
            ulong count;
            _ = Read(eventFd, &count, sizeof(ulong)); // resets the counter; EAGAIN if already read is harmless
        }
        return true; // ready, or interrupted by a signal (EINTR): the caller looks again
    }

    private void Signal()
    {
        ulong one = 1;
        _ = Write(eventFd, &one, sizeof(ulong)); // fails only if the counter would overflow, when the loop is woken anyway
    }

    public void Dispose() => Close(eventFd);

    private const int EFD_NONBLOCK = 0x800;
    private const int EFD_CLOEXEC = 0x80000;
    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, void* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, void* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
