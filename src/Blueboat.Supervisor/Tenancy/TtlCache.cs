namespace Blueboat.Supervisor.Tenancy;

/// <summary>
/// A small cache whose entries live for a TTL or until invalidated. Concurrent misses share one
/// load. When a reload fails, or takes longer than <see cref="StaleAfter"/>, the last good value
/// keeps answering (a store that is down or hanging must not take running apps down); without
/// one, the caller waits for the load or its failure.
/// </summary>
public sealed class TtlCache<TKey, TValue>(TimeSpan ttl, Func<TKey, CancellationToken, Task<TValue>> load) where TKey : notnull
{
    private sealed class Entry
    {
        public Task<TValue>? Loading;
        public bool HasValue;
        public TValue Value = default!;
        public DateTime FreshUntil;
        public long Generation;
    }

    private readonly Dictionary<TKey, Entry> entries = new();
    private readonly Lock gate = new();
    private long generation;

    /// <summary>How long a request waits for a reload before the previous value answers it.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(1);

    /// <summary>Raised when a reload failed and a stale value was served instead.</summary>
    public event Action<TKey, Exception>? ServedStale;

    public async Task<TValue> GetAsync(TKey key, CancellationToken cancel = default)
    {
        Task<TValue> loading;
        Entry entry;
        bool hasStale;
        lock (gate)
        {
            if (!entries.TryGetValue(key, out entry!)) entries[key] = entry = new Entry();
            if (entry.HasValue && DateTime.UtcNow < entry.FreshUntil && entry.Generation == generation) return entry.Value;
            loading = entry.Loading ??= LoadAsync(key, entry, generation);
            hasStale = entry.HasValue;
        }
        try
        {
            if (hasStale && await Task.WhenAny(loading, Task.Delay(StaleAfter, cancel)).ConfigureAwait(false) != loading)
            {
                cancel.ThrowIfCancellationRequested();
                ServedStale?.Invoke(key, new TimeoutException($"reload is taking longer than {StaleAfter.TotalSeconds:0} s"));
                lock (gate) return entry.Value;
            }
            return await loading.WaitAsync(cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            lock (gate)
            {
                if (entry.HasValue)
                {
                    ServedStale?.Invoke(key, e);
                    return entry.Value;
                }
            }
            throw;
        }
    }

    private async Task<TValue> LoadAsync(TKey key, Entry entry, long gen)
    {
        await Task.Yield();
        try
        {
            var value = await load(key, CancellationToken.None).ConfigureAwait(false);
            lock (gate)
            {
                entry.Value = value;
                entry.HasValue = true;
                entry.FreshUntil = DateTime.UtcNow + ttl;
                entry.Generation = gen;
            }
            return value;
        }
        finally
        {
            lock (gate) entry.Loading = null;
        }
    }

    /// <summary>Every entry is reloaded on its next use (the store said something changed).</summary>
    public void InvalidateAll()
    {
        lock (gate) generation++;
    }
}
