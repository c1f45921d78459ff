using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Blueboat.Supervisor.Transport.IoUring;

/// <summary>
/// A listening socket whose connections arrive by one multishot accept on the ring. Kestrel takes
/// them from <see cref="AcceptAsync"/>; unbinding cancels the accept and closes the socket while
/// accepted connections keep running until Kestrel disposes them.
/// </summary>
internal sealed class UringListener : IConnectionListener, IRingOwner
{
    private readonly Socket socket;
    private readonly int listenFd;
    private readonly RingThread ring;
    private readonly PinnedBlockPool pool;
    private readonly ILogger logger;
    private readonly Channel<UringConnection> accepted = System.Threading.Channels.Channel.CreateUnbounded<UringConnection>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource unbound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int unbindPosted;

    // ring thread
    private int slot = -1;
    private bool acceptArmed;
    private bool unbinding;
    private bool retryScheduled;
    private long lastErrorLog;

    public UringListener(Socket socket, RingThread ring, PinnedBlockPool pool, ILogger logger)
    {
        this.socket = socket;
        this.ring = ring;
        this.pool = pool;
        this.logger = logger;
        listenFd = (int)socket.SafeHandle.DangerousGetHandle();
        EndPoint = socket.LocalEndPoint!;
        ring.Post(this, RingCommand.Start);
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            while (await accepted.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                if (accepted.Reader.TryRead(out var connection)) return connection;
        }
        catch (OperationCanceledException) { }
        return null;
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref unbindPosted, 1) == 0) ring.Post(this, RingCommand.Unbind);
        await unbound.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        // Connections accepted but never taken by Kestrel are ours to close.
        while (accepted.Reader.TryRead(out var orphan))
        {
            orphan.Abort();
            await orphan.DisposeAsync().ConfigureAwait(false);
        }
        // Kestrel disposes a listener after its connections: the ring stops once they are gone.
        await ring.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    public void OnCommand(RingCommand command)
    {
        switch (command)
        {
            case RingCommand.Start:
                if (slot < 0) slot = ring.Register(this);
                retryScheduled = false;
                if (!unbinding && !acceptArmed) Arm();
                break;
            case RingCommand.Unbind:
                unbinding = true;
                if (acceptArmed) ring.PrepCancel(slot, OpKind.Accept);
                else FinishUnbind();
                break;
        }
    }

    private void Arm()
    {
        acceptArmed = true;
        ring.PrepAccept(listenFd, slot);
    }

    public void OnCompletion(OpKind kind, int result, uint flags)
    {
        if ((flags & Io.CqeFMore) == 0) acceptArmed = false;
        if (result >= 0)
        {
            if (unbinding) UringNative.CloseFd(result);
            else
            {
                var connection = new UringConnection(ring, result, pool);
                connection.Start();
                accepted.Writer.TryWrite(connection);
            }
        }
        else if (result != -Errno.ECANCELED)
        {
            LogAcceptError(-result);
            if (!acceptArmed && !unbinding)
            {
                // Out of descriptors or memory (or worse): retrying at once would spin; try again shortly.
                retryScheduled = true;
                _ = Task.Delay(50).ContinueWith(static (_, s) => { var l = (UringListener)s!; l.ring.Post(l, RingCommand.Start); }, this, TaskScheduler.Default);
            }
        }
        if (!acceptArmed)
        {
            if (unbinding) FinishUnbind();
            else if (!retryScheduled) Arm();
        }
    }

    private void LogAcceptError(int errno)
    {
        var now = Environment.TickCount64;
        if (now - lastErrorLog < 1000) return;
        lastErrorLog = now;
        logger.LogWarning("accept on {EndPoint} failed: {Error}", EndPoint, Marshal.GetPInvokeErrorMessage(errno));
    }

    private void FinishUnbind()
    {
        if (unbound.Task.IsCompleted) return;
        if (slot >= 0) ring.Unregister(slot);
        slot = -1;
        socket.Dispose();
        accepted.Writer.TryComplete();
        unbound.TrySetResult();
    }

    public void OnRingStopped() => FinishUnbind();
}
