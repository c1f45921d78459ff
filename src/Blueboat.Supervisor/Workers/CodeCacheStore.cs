using Blueboat.Channel;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// V8 code cache of app modules, per app version, in the supervisor's memory (workers cannot
/// write files): the first worker of a version produces it, later workers of that version compile
/// from it. Bounded by total bytes, least recently used first out; a version's entry is dropped
/// when the version is retired. The data comes from a worker running that same app version, so a
/// hostile app can at worst spoil its own cache; V8 refuses data made for other source or another
/// V8 build, and the worker then compiles from source.
/// </summary>
public sealed class CodeCacheStore(long maxBytes)
{
    /// <summary>Largest cache one app version may keep; a bigger one is not kept.</summary>
    public long MaxBytesPerVersion { get; } = Math.Max(1, maxBytes / 4);

    private readonly Lock gate = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> byVersion = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> recency = new(); // most recently used first
    private long totalBytes;

    private sealed record Entry(string Version, IReadOnlyList<ModuleCodeCache> Modules, long Bytes);

    public long TotalBytes { get { lock (gate) return totalBytes; } }

    public int Count { get { lock (gate) return byVersion.Count; } }

    /// <summary>The cache of one app version, or an empty list when there is none.</summary>
    public IReadOnlyList<ModuleCodeCache> Get(string versionId)
    {
        lock (gate)
        {
            if (!byVersion.TryGetValue(versionId, out var node)) return [];
            recency.Remove(node);
            recency.AddFirst(node);
            return node.Value.Modules;
        }
    }

    /// <summary>Keeps (or replaces) the cache of one app version, evicting the least recently used past the bound.</summary>
    public void Put(string versionId, IReadOnlyList<ModuleCodeCache> modules)
    {
        var bytes = modules.Sum(m => (long)m.Data.Length + m.Path.Length * 2);
        lock (gate)
        {
            RemoveLocked(versionId);
            if (bytes > MaxBytesPerVersion || modules.Count == 0) return;
            byVersion[versionId] = recency.AddFirst(new Entry(versionId, modules, bytes));
            totalBytes += bytes;
            while (totalBytes > maxBytes && recency.Last is { } oldest) RemoveLocked(oldest.Value.Version);
        }
    }

    /// <summary>Forgets one app version's cache (the version was retired).</summary>
    public void Drop(string versionId)
    {
        lock (gate) RemoveLocked(versionId);
    }

    private void RemoveLocked(string versionId)
    {
        if (!byVersion.Remove(versionId, out var node)) return;
        recency.Remove(node);
        totalBytes -= node.Value.Bytes;
    }
}
