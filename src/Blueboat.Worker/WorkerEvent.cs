using Blueboat.Channel;

namespace Blueboat.Worker;

/// <summary>Something the worker's event loop must act on, in arrival order.</summary>
internal abstract record WorkerEvent
{
    public sealed record Warm(WarmUp Request) : WorkerEvent;
    public sealed record Load(LoadApp App) : WorkerEvent;
    public sealed record RequestReady(uint ExchangeId, RequestHead Head, byte[] Body) : WorkerEvent;
    public sealed record TimerDue(int TimerId) : WorkerEvent;
    public sealed record Cancelled(uint ExchangeId) : WorkerEvent;
    public sealed record FetchDone(int FetchId, FetchResponse Response) : WorkerEvent;
    public sealed record ChannelClosed : WorkerEvent;
}
