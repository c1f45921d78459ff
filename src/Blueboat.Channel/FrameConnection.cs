using System.Net.Sockets;

namespace Blueboat.Channel;

/// <summary>
/// One end of the supervisor-worker socketpair. Sends are queued and flushed by one writer, so
/// frames produced while a write is in flight leave together in the next write (batching without
/// a timer). Receives hand each frame's payload to a callback, valid only during the call.
/// </summary>
public sealed class FrameConnection : IDisposable
{
    public delegate void FrameHandler(FrameKind kind, uint id, ReadOnlySpan<byte> payload);

    private readonly Socket socket;
    private readonly Lock gate = new();
    private FrameWriter pending = new(64 * 1024);
    private FrameWriter? spare = new(64 * 1024);
    private bool flushing;
    private bool held; // a send batch will flush this connection when it ends
    private volatile bool broken;

    public FrameConnection(Socket socket) => this.socket = socket;

    public bool IsBroken => broken;

    /// <summary>Queues one frame built by <paramref name="build"/>.</summary>
    public void Send<TState>(FrameKind kind, uint id, TState state, Action<FrameWriter, TState> build)
    {
        if (broken) return;
        bool start = false;
        lock (gate)
        {
            pending.Frame(kind, id, state, build);
            if (!flushing && !held)
            {
                // Under an open send batch the write waits for the batch's end (see SendBatch).
                if (SendBatch.TryHold(this)) held = true;
                else { flushing = true; start = true; }
            }
        }
        if (start) _ = FlushAsync();
    }

    /// <summary>The send batch that held this connection's write back has ended: write now.</summary>
    internal void Release()
    {
        bool start = false;
        lock (gate)
        {
            held = false;
            if (!flushing && pending.Length > 0) { flushing = true; start = true; }
        }
        if (start) _ = FlushAsync();
    }

    public void Send(FrameKind kind, uint id) => Send(kind, id, 0, static (_, _) => { });

    private async Task FlushAsync()
    {
        while (true)
        {
            FrameWriter batch;
            lock (gate)
            {
                if (pending.Length == 0 || broken) { flushing = false; return; }
                batch = pending;
                pending = spare ?? new FrameWriter(64 * 1024);
                spare = null;
            }
            try
            {
                var data = batch.Written;
                while (data.Length > 0)
                {
                    var n = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
                    data = data[n..];
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                broken = true;
            }
            batch.Reset();
            lock (gate) spare = batch;
        }
    }

    /// <summary>Waits until every queued frame has been written, or the timeout passes (used before exiting).</summary>
    public void Drain(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !broken)
        {
            lock (gate) if (!flushing && pending.Length == 0) return;
            Thread.Sleep(1);
        }
    }

    /// <summary>
    /// Reads frames on a thread of its own until the peer closes the channel or breaks the
    /// protocol; the task completes then (faulted for a protocol error). Frames are handled on
    /// that thread, so whatever a handler completes runs there too, without a hop through the
    /// thread pool (measured: the socket engine's epoll thread plus two thread-pool hand-offs per
    /// response cost the supervisor more than the read itself).
    /// </summary>
    public Task ReceiveAsync(FrameHandler onFrame, string threadName = "channel-reader")
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveLoop(onFrame);
                ended.TrySetResult();
            }
            catch (Exception e)
            {
                ended.TrySetException(e);
            }
        }) { IsBackground = true, Name = threadName };
        thread.Start();
        return ended.Task;
    }

    private unsafe void ReceiveLoop(FrameHandler onFrame)
    {
        using var frames = new FrameAssembler();
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added); // the descriptor stays open (not reused) while this thread reads it
            var fd = (int)handle.DangerousGetHandle();
            while (true)
            {
                frames.DeliverFrames(onFrame);
                var space = frames.FreeSpace.Span;
                nint n;
                fixed (byte* p = space)
                    n = ChannelSyscalls.Recv(fd, p, space.Length, ChannelSyscalls.MSG_DONTWAIT);
                if (n > 0)
                {
                    frames.Advance((int)n);
                    continue;
                }
                if (n == 0) return;
                var errno = System.Runtime.InteropServices.Marshal.GetLastSystemError();
                if (errno == ChannelSyscalls.EINTR) continue;
                // The sending side made the descriptor non-blocking: wait for data here, not in recv.
                if (errno == ChannelSyscalls.EAGAIN) { ChannelSyscalls.WaitReadable(fd); continue; }
                return;
            }
        }
        finally
        {
            broken = true;
            if (added) handle.DangerousRelease();
        }
    }

    public void Dispose()
    {
        broken = true;
        try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        socket.Dispose();
    }
}
