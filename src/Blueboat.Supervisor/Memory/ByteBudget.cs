namespace Blueboat.Supervisor.Memory;

/// <summary>
/// A cap on bytes held at once for one purpose (request bodies on their way to a worker, fetch
/// responses on their way back): what one client or one app can make the supervisor or a worker
/// hold is bounded, and past it the request is refused instead of the process being OOM-killed.
/// </summary>
public sealed class ByteBudget(long capacity)
{
    private long used;

    public long Capacity { get; } = capacity;

    public long InUse => Interlocked.Read(ref used);

    /// <summary>Takes <paramref name="bytes"/> if they fit; false (and nothing taken) if not.</summary>
    public bool TryTake(long bytes)
    {
        while (true)
        {
            var now = Interlocked.Read(ref used);
            if (now + bytes > Capacity) return false;
            if (Interlocked.CompareExchange(ref used, now + bytes, now) == now) return true;
        }
    }

    public void Release(long bytes) => Interlocked.Add(ref used, -bytes);
}

/// <summary>Bytes taken from several budgets at once (e.g. the server's and one app's), given back together.</summary>
public sealed class BudgetLease(params ByteBudget[] budgets) : IDisposable
{
    private long held;

    public long Held => held;

    /// <summary>Takes <paramref name="bytes"/> more from every budget, or from none.</summary>
    public bool TryGrow(long bytes)
    {
        for (var i = 0; i < budgets.Length; i++)
        {
            if (budgets[i].TryTake(bytes)) continue;
            for (var j = 0; j < i; j++) budgets[j].Release(bytes);
            return false;
        }
        held += bytes;
        return true;
    }

    public void Dispose()
    {
        foreach (var b in budgets) b.Release(held);
        held = 0;
    }
}
