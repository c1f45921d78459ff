using System.Buffers;
using System.Collections.Concurrent;
using Blueboat.Channel;

namespace Blueboat.Worker;

/// <summary>
/// Turns frames from the supervisor into events for the loop: a request becomes ready once its
/// head, body chunks and end have all arrived.
/// </summary>
internal sealed class ChannelInbox(BlockingFrameChannel channel, BlockingCollection<WorkerEvent> events)
{
    private readonly Dictionary<uint, (RequestHead Head, ArrayBufferWriter<byte>? Body)> assembling = new(); // no body writer until a body chunk comes

    /// <summary>Runs on the worker's reader thread until the channel closes.</summary>
    public void Run()
    {
        try
        {
            channel.Receive(OnFrame);
        }
        finally
        {
            events.Add(new WorkerEvent.ChannelClosed());
        }
    }

    private void OnFrame(FrameKind kind, uint id, ReadOnlySpan<byte> payload)
    {
        switch (kind)
        {
            case FrameKind.Warm:
                events.Add(new WorkerEvent.Warm(WarmUp.Read(payload)));
                break;
            case FrameKind.LoadApp:
                events.Add(new WorkerEvent.Load(LoadApp.Read(payload)));
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
                    events.Add(new WorkerEvent.RequestReady(id, whole.Head, whole.Body is { } body ? body.WrittenSpan.ToArray() : []));
                break;
            case FrameKind.FetchResponse:
                events.Add(new WorkerEvent.FetchDone((int)id, FetchResponse.Read(payload)));
                break;
            case FrameKind.Cancel:
                assembling.Remove(id);
                events.Add(new WorkerEvent.Cancelled(id));
                break;
            default:
                throw new ChannelProtocolException($"unexpected frame kind {(byte)kind} from the supervisor");
        }
    }
}
