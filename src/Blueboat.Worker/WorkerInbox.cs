using System.Buffers;
using Blueboat.Channel;

namespace Blueboat.Worker;

/// <summary>
/// Where the loop takes its events from, on its own thread: frames read from the channel without
/// waiting (a request becomes ready once its head, body chunks and end have all arrived) and
/// events posted by other threads. Frames are read only when the loop has handled what it read
/// before, so requests it has no time for wait in the kernel's socket buffer, and the supervisor's
/// writes wait with them, rather than piling up in this process.
/// </summary>
internal sealed class WorkerInbox(BlockingFrameChannel channel, PostedEvents posted)
{
    private readonly Queue<WorkerEvent> arrived = new(); // in arrival order; refilled only when empty
    private readonly Dictionary<uint, (RequestHead Head, ArrayBufferWriter<byte>? Body)> assembling = new(); // no body writer until a body chunk comes
    private bool closed;

    /// <summary>Posted events taken at one look at most, so posters cannot hold the channel off.</summary>
    private const int PostedPerLook = 64;

    /// <summary>
    /// The next event, without waiting. When none is left from the last look, it looks once at both
    /// sources, posted events first, so neither a busy channel nor a storm of timers starves the other.
    /// </summary>
    public bool TryTake(out WorkerEvent ev)
    {
        if (arrived.TryDequeue(out ev!)) return true;
        while (arrived.Count < PostedPerLook && posted.TryTake(out var p)) arrived.Enqueue(p);
        while (!closed && arrived.Count == 0)
        {
            switch (channel.ReceiveAvailable(OnFrame))
            {
                case ReceiveOutcome.Empty:
                    return arrived.TryDequeue(out ev!);
                case ReceiveOutcome.Closed:
                    closed = true;
                    break;
                // Frames: some may have made no event yet (body chunks): read on.
            }
        }
        if (arrived.TryDequeue(out ev!)) return true;
        if (!closed) return false;
        ev = new WorkerEvent.ChannelClosed(); // for every look once the channel has closed
        return true;
    }

    /// <summary>
    /// For a worker that retires: the requests it holds or that wait in the channel and that it
    /// will never run (read now, without waiting), so each can still be answered.
    /// </summary>
    public List<uint> TakeUnhandledRequests()
    {
        var ids = new List<uint>();
        while (true)
        {
            while (arrived.TryDequeue(out var ev))
                if (ev is WorkerEvent.RequestReady ready) ids.Add(ready.ExchangeId);
            if (closed || channel.ReceiveAvailable(OnFrame) is ReceiveOutcome.Empty or ReceiveOutcome.Closed) break;
        }
        ids.AddRange(assembling.Keys); // heads whose bodies are still on their way
        assembling.Clear();
        return ids;
    }

    /// <summary>
    /// Sleeps until the channel has bytes or an event is posted (true, possibly spuriously: look
    /// again with <see cref="TryTake"/>), or <paramref name="timeoutMs"/> passes (false).
    /// </summary>
    public bool Wait(int timeoutMs) => posted.Sleep(closed ? -1 : channel.Descriptor, timeoutMs);

    private void OnFrame(FrameKind kind, uint id, ReadOnlySpan<byte> payload)
    {
        switch (kind)
        {
            case FrameKind.Warm:
                arrived.Enqueue(new WorkerEvent.Warm(WarmUp.Read(payload)));
                break;
            case FrameKind.LoadApp:
                arrived.Enqueue(new WorkerEvent.Load(LoadApp.Read(payload)));
                break;
            case FrameKind.RequestHead:
                assembling[id] = (RequestHead.Read(payload), null);
                break;
            case FrameKind.RequestBody:
                if (!assembling.TryGetValue(id, out var partial)) break;
                if (partial.Body is null) assembling[id] = partial = (partial.Head, new ArrayBufferWriter<byte>(Math.Max(payload.Length, 1)));
                partial.Body!.Write(payload);
                break;
            case FrameKind.RequestEnd:
                if (assembling.Remove(id, out var whole))
                    arrived.Enqueue(new WorkerEvent.RequestReady(id, whole.Head, whole.Body is { } body ? body.WrittenSpan.ToArray() : []));
                break;
            case FrameKind.FetchResponse:
                arrived.Enqueue(new WorkerEvent.FetchDone((int)id, FetchResponse.Read(payload)));
                break;
            case FrameKind.Cancel:
                assembling.Remove(id);
                arrived.Enqueue(new WorkerEvent.Cancelled(id));
                break;
            default:
                throw new ChannelProtocolException($"unexpected frame kind {(byte)kind} from the supervisor");
        }
    }
}
