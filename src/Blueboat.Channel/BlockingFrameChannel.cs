using System.Runtime.InteropServices;

namespace Blueboat.Channel;

/// <summary>
/// The worker's end of the channel, with blocking read(2)/write(2) on the descriptor and no
/// socket engine or thread pool in between: one reader thread delivers frames, and the event loop
/// queues its frames and writes them with <see cref="Flush"/> once it has nothing else to do, so
/// the responses to several queued requests leave in one write. (Measured: the async socket path
/// spent a fifth of the worker's CPU on epoll, thread-pool hand-offs and their spinning.)
/// </summary>
public sealed unsafe partial class BlockingFrameChannel : IDisposable
{
    private readonly int fd;
    private readonly Lock gate = new();
    private readonly Lock writeGate = new();
    private FrameWriter pending = new(64 * 1024);
    private FrameWriter spare = new(64 * 1024);
    private volatile bool broken;

    /// <summary>Queued bytes past which <see cref="Send{TState}"/> writes at once (large bodies stream instead of piling up).</summary>
    public const int FlushThreshold = 256 * 1024;

    /// <summary>Buffers grown past this by a large body are given back after the write.</summary>
    private const int KeptBufferBytes = 1024 * 1024;

    private BlockingFrameChannel(int fd) => this.fd = fd;

    /// <summary>Takes over an inherited descriptor in blocking mode; null when it is not open.</summary>
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

    /// <summary>Reads frames on the calling thread until the peer closes the channel or breaks the protocol.</summary>
    public void Receive(FrameConnection.FrameHandler onFrame)
    {
        using var frames = new FrameAssembler();
        try
        {
            while (true)
            {
                frames.DeliverFrames(onFrame);
                var space = frames.FreeSpace;
                nint n;
                fixed (byte* p = space.Span)
                    n = Read(fd, p, space.Length);
                if (n < 0 && Marshal.GetLastSystemError() == EINTR) continue;
                if (n <= 0) return;
                frames.Advance((int)n);
            }
        }
        finally
        {
            broken = true;
        }
    }

    public void Dispose()
    {
        broken = true;
        Close(fd);
    }

    private const int EINTR = 4;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;
    private const int O_NONBLOCK = 0x800;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
