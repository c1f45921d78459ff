namespace Blueboat.Channel;

/// <summary>
/// Lets an event loop hold back channel writes while it handles a batch of events: frames queued
/// on a <see cref="FrameConnection"/> meanwhile leave in one write per connection when the batch
/// closes, so a burst of requests for one worker costs one write and one wake-up of it, not one
/// each. The open batch is the calling thread's own (an event loop runs on one thread).
/// </summary>
public sealed class SendBatch : IDisposable
{
    [ThreadStatic] private static SendBatch? current;

    private readonly List<FrameConnection> held = new();
    private SendBatch? outer;

    private SendBatch() { }

    /// <summary>Opens a batch on this thread; disposing it writes what was held back.</summary>
    public static SendBatch Open()
    {
        var batch = new SendBatch { outer = current };
        current = batch;
        return batch;
    }

    /// <summary>Holds back the connection's flush if a batch is open on this thread.</summary>
    internal static bool TryHold(FrameConnection connection)
    {
        if (current is not { } batch) return false;
        batch.held.Add(connection);
        return true;
    }

    public void Dispose()
    {
        current = outer;
        // Index loop: flushing may run code that holds more connections back in an enclosing batch, never in this one.
        for (var i = 0; i < held.Count; i++) held[i].Release();
        held.Clear();
    }
}
