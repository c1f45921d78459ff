using System.Runtime.InteropServices;

namespace Blueboat.Channel;

/// <summary>
/// The worker's end of the channel, with recv(2)/write(2) on the descriptor and no socket engine
/// or thread pool in between: the event loop reads frames itself without waiting
/// (<see cref="ReceiveAvailable"/>) and sleeps in poll(2) when there are none, and it queues its
/// own frames and writes them with <see cref="Flush"/> once it has nothing else to do, so the
/// responses to several queued requests leave in one write. (Measured: the async socket path
/// spent a fifth of the worker's CPU on epoll, thread-pool hand-offs and their spinning.)
/// </summary>
public sealed unsafe partial class BlockingFrameChannel : IDisposable
{
    private readonly int fd;
    private readonly Lock gate = new();
    private readonly Lock writeGate = new();
    private FrameAssembler? frames = new(); // received bytes; read by one thread at a time; null once closed
    private FrameWriter pending = new(64 * 1024);
    private FrameWriter spare = new(64 * 1024);
    private volatile bool broken;

    /// <summary>Queued bytes past which <see cref="Send{TState}"/> writes at once (large bodies stream instead of piling up).</summary>
    public const int FlushThreshold = 256 * 1024;

    /// <summary>Buffers grown past this by a large body are given back after the write.</summary>
    private const int KeptBufferBytes = 1024 * 1024;

    private BlockingFrameChannel(int fd) => this.fd = fd;

    /// <summary>Takes over an inherited descriptor in blocking mode (writes block; reads ask not to); null when it is not open.</summary>
    public static BlockingFrameChannel? Open(int fd)
    {
        var flags = Fcntl(fd, F_GETFL, 0);
        if (flags < 0) return null;
        if ((flags & O_NONBLOCK) != 0 && Fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return null;
        return new BlockingFrameChannel(fd);
    }

    public bool IsBroken => broken;

    public int PendingBytes
    {
        get { lock (gate) return pending.Length; }
    }

    /// <summary>Queues one frame built by <paramref name="build"/>; written by the next <see cref="Flush"/>.</summary>
    public void Send<TState>(FrameKind kind, uint id, TState state, Action<FrameWriter, TState> build)
    {
        if (broken) return;
        int queued;
        lock (gate)
        {
            pending.Frame(kind, id, state, build);
            queued = pending.Length;
        }
        if (queued >= FlushThreshold) Flush();
    }

    public void Send(FrameKind kind, uint id) => Send(kind, id, 0, static (_, _) => { });

    /// <summary>Queues one frame whose payload is <paramref name="payload"/> as it is (body chunks), without an intermediate copy.</summary>
    public void SendRaw(FrameKind kind, uint id, ReadOnlySpan<byte> payload)
    {
        if (broken) return;
        int queued;
        lock (gate)
        {
            pending.Begin(kind, id);
            pending.Raw(payload);
            pending.End();
            queued = pending.Length;
        }
        if (queued >= FlushThreshold) Flush();
    }

    /// <summary>Writes every queued frame; blocks while the peer's receive buffer is full.</summary>
    public void Flush()
    {
        lock (writeGate)
        {
            FrameWriter batch;
            lock (gate)
            {
                if (pending.Length == 0) return;
                batch = pending;
                pending = spare;
                spare = batch;
            }
            try
            {
                if (!broken) WriteAll(batch.Written.Span);
            }
            finally
            {
                batch.Reset();
                if (batch.Capacity > KeptBufferBytes) batch.Shrink(64 * 1024);
            }
        }
    }

    /// <summary>Writes what is queued before the process exits; the timeout is kept for callers of the async end's API.</summary>
    public void Drain(TimeSpan timeout) => Flush();

    private void WriteAll(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var offset = 0;
            while (offset < data.Length)
            {
                var n = Write(fd, p + offset, (nint)(data.Length - offset));
                if (n < 0)
                {
                    if (Marshal.GetLastSystemError() == EINTR) continue;
                    broken = true;
                    return;
                }
                offset += (int)n;
            }
        }
    }

    /// <summary>
    /// Reads what the channel holds, without waiting, and hands every whole frame to
    /// <paramref name="onFrame"/> (payloads are valid only during the call). Reads again while
    /// bytes arrive and no frame is whole yet (a large body), so one call ends with frames
    /// delivered, nothing left to read, or the channel closed.
    /// </summary>
    public ReceiveOutcome ReceiveAvailable(FrameConnection.FrameHandler onFrame)
    {
        if (frames is null) return ReceiveOutcome.Closed;
        while (true)
        {
            var space = frames.FreeSpace;
            nint n;
            fixed (byte* p = space.Span)
                n = ChannelSyscalls.Recv(fd, p, space.Length, ChannelSyscalls.MSG_DONTWAIT);
            if (n > 0)
            {
                frames.Advance((int)n);
                if (frames.DeliverFrames(onFrame) > 0) return ReceiveOutcome.Frames;
                continue;
            }
            if (n < 0)
            {
                var errno = Marshal.GetLastSystemError();
                if (errno == ChannelSyscalls.EINTR) continue;
                if (errno == ChannelSyscalls.EAGAIN) return ReceiveOutcome.Empty;
            }
            // The peer closed the channel (0) or it failed: nothing more will come, and nothing can leave.
            broken = true;
            frames.Dispose();
            frames = null;
            return ReceiveOutcome.Closed;
        }
    }

    /// <summary>The descriptor, for a caller that waits for it to become readable (poll) before <see cref="ReceiveAvailable"/>.</summary>
    public int Descriptor => fd;

    public void Dispose()
    {
        broken = true;
        frames?.Dispose();
        frames = null;
        Close(fd);
    }

    private const int EINTR = 4;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;
    private const int O_NONBLOCK = 0x800;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

/// <summary>What one <see cref="BlockingFrameChannel.ReceiveAvailable"/> found.</summary>
public enum ReceiveOutcome
{
    /// <summary>At least one whole frame was delivered.</summary>
    Frames,
    /// <summary>Nothing more to read for now.</summary>
    Empty,
    /// <summary>The peer closed the channel, or it failed.</summary>
    Closed,
}
