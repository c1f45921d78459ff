using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Blueboat.Supervisor.Transport.IoUring;

/// <summary>What a ring thread calls back: completions of the owner's operations and commands posted to it.</summary>
internal interface IRingOwner
{
    void OnCompletion(OpKind kind, int result, uint flags);
    void OnCommand(RingCommand command);
    /// <summary>The ring is going away with this owner still registered: release everything now.</summary>
    void OnRingStopped();
}

/// <summary>Which operation a completion belongs to (the low byte of its user_data).</summary>
internal enum OpKind : byte { Wake = 1, Cancel = 2, Accept = 3, Recv = 4, Send = 5 }

/// <summary>Work another thread asks the ring thread to do for an owner.</summary>
internal enum RingCommand : byte { Start, Send, Resume, SendEnded, Dispose, Unbind }

/// <summary>
/// One io_uring and the thread that owns it: submits, waits, and dispatches completions to their
/// owners (a listener, its connections). Other threads talk to it only through <see cref="Post"/>,
/// which wakes the thread by an eventfd only when it is asleep in io_uring_enter.
/// </summary>
internal sealed class RingThread
{
    private const int ReapBatch = 256;
    public const ushort BufferGroup = 1;

    private readonly ManualResetEventSlim ready = new();
    private (uint Entries, uint BufferCount) setup;
    private Exception? setupError;
    private nint ring;
    private int wakeFd;
    private readonly unsafe ulong* wakeBuffer;
    private readonly unsafe Completion* completions;
    private readonly Thread thread;
    private readonly ConcurrentQueue<(IRingOwner Owner, RingCommand Command)> commands = new();
    private readonly List<IRingOwner?> slots = new();
    private readonly Stack<int> freeSlots = new();
    private readonly List<UringConnection> pendingFlushes = new();
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int sleeping;
    private int liveOwners;
    private volatile bool stopWhenIdle;
    private volatile bool stopNow;

    public unsafe byte* Buffers { get; private set; }
    public int BufferSize { get; private init; }

    /// <summary>The ring's failure, when its thread had to stop on an error of its own.</summary>
    public Exception? Fault { get; private set; }

    private unsafe RingThread(string name)
    {
        wakeBuffer = (ulong*)NativeMemory.Alloc(sizeof(ulong));
        completions = (Completion*)NativeMemory.Alloc((nuint)(ReapBatch * sizeof(Completion)));
        thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>
    /// Creates the ring (entries SQEs, bufferCount provided buffers of bufferSize bytes) on its own
    /// thread, which must be the ring's only submitter (IORING_SETUP_SINGLE_ISSUER), and starts it.
    /// </summary>
    public static RingThread Start(uint entries, uint bufferCount, int bufferSize, string name)
    {
        var t = new RingThread(name) { BufferSize = bufferSize };
        t.setup = (entries, bufferCount);
        t.thread.Start();
        t.ready.Wait();
        if (t.setupError is { } error) throw error;
        return t;
    }

    private unsafe bool Open()
    {
        try
        {
            var rc = UringNative.Open(setup.Entries, setup.BufferCount, (uint)BufferSize, BufferGroup, out ring, out var stage);
            if (rc < 0) throw new IOException(UringSupport.Describe(-rc, stage));
            wakeFd = UringNative.EventFd(0, UringNative.EfdCloexec);
            if (wakeFd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                UringNative.Close(ring);
                throw new IOException($"io_uring transport: eventfd failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
            Buffers = UringNative.Buffers(ring);
            return true;
        }
        catch (Exception e)
        {
            setupError = e;
            NativeMemory.Free(wakeBuffer);
            NativeMemory.Free(completions);
            stopped.TrySetResult();
            return false;
        }
        finally
        {
            ready.Set();
        }
    }

    /// <summary>Asks the ring thread to run owner.OnCommand(command). Safe from any thread.</summary>
    public unsafe void Post(IRingOwner owner, RingCommand command)
    {
        commands.Enqueue((owner, command));
        if (Interlocked.Exchange(ref sleeping, 0) == 1)
        {
            ulong one = 1;
            UringNative.Write(wakeFd, &one, sizeof(ulong));
        }
    }

    /// <summary>Stops the thread once every owner has left (graceful), or after the grace time regardless.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        stopWhenIdle = true;
        Wake();
        if (await Task.WhenAny(stopped.Task, Task.Delay(grace)).ConfigureAwait(false) != stopped.Task)
        {
            stopNow = true;
            Wake();
            await stopped.Task.ConfigureAwait(false);
        }
    }

    private unsafe void Wake()
    {
        Interlocked.Exchange(ref sleeping, 0);
        ulong one = 1;
        UringNative.Write(wakeFd, &one, sizeof(ulong));
    }

    // ---- ring-thread-only API ----

    public int Register(IRingOwner owner)
    {
        liveOwners++;
        if (freeSlots.TryPop(out var slot))
        {
            slots[slot] = owner;
            return slot;
        }
        slots.Add(owner);
        return slots.Count - 1;
    }

    public void Unregister(int slot)
    {
        slots[slot] = null;
        freeSlots.Push(slot);
        liveOwners--;
    }

    private static ulong UserData(int slot, OpKind kind) => ((ulong)(uint)slot << 8) | (byte)kind;

    private void Prep(byte opcode, int fd, ulong addr, uint len, ulong off, uint opFlags, ushort ioprio, byte sqeFlags, ulong userData)
    {
        // buf_group shares its field with buf_index, which must be 0 for operations without buffer selection.
        var group = (sqeFlags & Io.SqeBufferSelect) != 0 ? BufferGroup : (ushort)0;
        var rc = UringNative.Prep(ring, opcode, fd, addr, len, off, opFlags, ioprio, sqeFlags, group, userData);
        if (rc < 0) throw new IOException($"io_uring transport: no submission slot ({Marshal.GetPInvokeErrorMessage(-rc)})");
    }

    public void PrepAccept(int listenFd, int slot) =>
        Prep(Io.OpAccept, listenFd, 0, 0, 0, UringNative.SockNonblock | UringNative.SockCloexec, Io.AcceptMultishot, 0, UserData(slot, OpKind.Accept));

    public void PrepRecv(int fd, int slot) =>
        Prep(Io.OpRecv, fd, 0, 0, 0, 0, Io.RecvMultishot, Io.SqeBufferSelect, UserData(slot, OpKind.Recv));

    public unsafe void PrepSendMsg(int fd, void* msghdr, int slot) =>
        Prep(Io.OpSendMsg, fd, (ulong)msghdr, 1, 0, UringNative.MsgNosignal, 0, 0, UserData(slot, OpKind.Send));

    public void PrepCancel(int slot, OpKind kind) =>
        Prep(Io.OpAsyncCancel, -1, UserData(slot, kind), 0, 0, 0, 0, 0, UserData(0, OpKind.Cancel));

    /// <summary>Gives a provided buffer back to the kernel (published before the next submit).</summary>
    public void Recycle(ushort bufferId) => UringNative.BufRecycle(ring, bufferId);

    /// <summary>Flushes this connection's input pipe once the current batch of completions is done.</summary>
    public void FlushAfterBatch(UringConnection connection) => pendingFlushes.Add(connection);

    private unsafe void ArmWake() => Prep(Io.OpRead, wakeFd, (ulong)wakeBuffer, sizeof(ulong), ulong.MaxValue, 0, 0, 0, UserData(0, OpKind.Wake));

    private unsafe void Run()
    {
        if (!Open()) return;
        try
        {
            ArmWake();
            while (true)
            {
                DrainCommands();
                if (stopNow || (stopWhenIdle && liveOwners == 0)) break;
                // Sleep only when no command slipped in after the last drain (Post wakes us only if we said we sleep).
                Interlocked.Exchange(ref sleeping, 1);
                uint wait = commands.IsEmpty ? 1u : 0u;
                if (wait == 0) Volatile.Write(ref sleeping, 0);
                var rc = UringNative.Enter(ring, wait);
                Volatile.Write(ref sleeping, 0);
                if (rc < 0 && rc != -Errno.EBUSY && rc != -Errno.EAGAIN && rc != -Errno.EINTR)
                    throw new IOException($"io_uring_enter failed: {Marshal.GetPInvokeErrorMessage(-rc)}");
                Reap();
            }
        }
        catch (Exception e)
        {
            Fault = e;
            Console.Error.WriteLine($"blueboat-edge: the io_uring transport stopped: {e}");
        }
        finally
        {
            foreach (var owner in slots.ToArray()) owner?.OnRingStopped();
            UringNative.Close(ring);
            UringNative.CloseFd(wakeFd);
            NativeMemory.Free(wakeBuffer);
            NativeMemory.Free(completions);
            stopped.TrySetResult();
        }
    }

    private void DrainCommands()
    {
        while (commands.TryDequeue(out var c)) c.Owner.OnCommand(c.Command);
    }

    private unsafe void Reap()
    {
        int n;
        do
        {
            n = UringNative.Reap(ring, completions, ReapBatch);
            for (var i = 0; i < n; i++)
            {
                ref var c = ref completions[i];
                var kind = (OpKind)(byte)c.UserData;
                var slot = (int)(c.UserData >> 8);
                switch (kind)
                {
                    case OpKind.Wake:
                        ArmWake();
                        break;
                    case OpKind.Cancel:
                        break; // the cancelled operation reports for itself
                    default:
                        slots[slot]?.OnCompletion(kind, c.Result, c.Flags);
                        break;
                }
            }
        } while (n == ReapBatch);
        UringNative.BufPublish(ring);
        // One flush per connection per batch: many small receives become one wake-up of Kestrel.
        // Kestrel parses and hands the requests to workers right here, on this thread; the frames
        // for each worker leave in one write when the batch ends.
        using (Blueboat.Channel.SendBatch.Open())
        {
            for (var i = 0; i < pendingFlushes.Count; i++) pendingFlushes[i].FlushInput();
        }
        pendingFlushes.Clear();
        UringNative.BufPublish(ring);
    }
}
