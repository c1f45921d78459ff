using Blueboat.Supervisor.Logging;

namespace Blueboat.Supervisor.Workers;

/// <summary>
/// Caps the memory of each whole worker process (V8, the runtime, native libraries) with a cgroup
/// of its own under this supervisor's: cgroup v2 `memory.max`, or v1 `memory.limit_in_bytes`.
/// Past it the kernel kills that worker, never the supervisor. Without a writable memory cgroup
/// each worker caps its own address space instead, and the supervisor says so once.
/// </summary>
public sealed class MemoryCgroup : IDisposable
{
    private readonly string? parent;
    private readonly string limitFile;
    private readonly long limitBytes;

    public string? Parent => parent;

    /// <summary>
    /// The per-worker memory budget in MB when there is no cgroup to enforce it: the worker then
    /// caps its own address space (see the worker's ProcessHardening). Null when the cgroup does.
    /// </summary>
    public long? AddressSpaceBudgetMb => parent is null ? limitBytes / (1024 * 1024) : null;

    private MemoryCgroup(string? parent, string limitFile, long limitBytes)
    {
        this.parent = parent;
        this.limitFile = limitFile;
        this.limitBytes = limitBytes;
    }

    /// <summary>Set to 1, the supervisor uses no cgroup, as on a system without one (for tests).</summary>
    public const string DisableVariable = "BLUEBOAT_EDGE_NO_MEMORY_CGROUP";

    public static MemoryCgroup Create(long limitBytes, EdgeLog log)
    {
        var name = $"blueboat-edge-{Environment.ProcessId}";
        foreach (var (root, file) in Environment.GetEnvironmentVariable(DisableVariable) == "1" ? [] : Candidates())
        {
            try
            {
                RemoveAbandoned(root);
                var dir = Path.Combine(root, name);
                Directory.CreateDirectory(dir);
                return new MemoryCgroup(dir, file, limitBytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        log.Warn("no writable memory cgroup: each worker caps its own address space instead (its V8 heap limit still applies)");
        return new MemoryCgroup(null, "", limitBytes);
    }

    /// <summary>Removes the empty cgroups of supervisors that are gone (killed before they could clean up).</summary>
    private static void RemoveAbandoned(string root)
    {
        foreach (var dir in Directory.EnumerateDirectories(root, "blueboat-edge-*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)["blueboat-edge-".Length..], out var pid) || Directory.Exists($"/proc/{pid}")) continue;
            try
            {
                foreach (var child in Directory.EnumerateDirectories(dir, "worker-*")) Directory.Delete(child);
                Directory.Delete(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // still holds a live process
        }
    }

    private static IEnumerable<(string Root, string LimitFile)> Candidates()
    {
        // cgroup v2 where this process may create children with the memory controller enabled
        var own = File.Exists("/proc/self/cgroup") ? File.ReadLines("/proc/self/cgroup").FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal)) : null;
        if (own is not null)
        {
            var v2 = Path.Join("/sys/fs/cgroup", own[3..]);
            if (File.Exists(Path.Combine(v2, "cgroup.subtree_control")) && File.ReadAllText(Path.Combine(v2, "cgroup.subtree_control")).Contains("memory"))
                yield return (v2, "memory.max");
        }
        if (Directory.Exists("/sys/fs/cgroup/memory") && File.Exists("/sys/fs/cgroup/memory/cgroup.procs"))
            yield return ("/sys/fs/cgroup/memory", "memory.limit_in_bytes");
    }

    /// <summary>Moves a freshly started worker into a cgroup of its own with the limit set.</summary>
    public void Place(int pid)
    {
        if (parent is null) return;
        var dir = Path.Combine(parent, $"worker-{pid}");
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, limitFile), limitBytes.ToString());
            File.WriteAllText(Path.Combine(dir, "cgroup.procs"), pid.ToString());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The worker still has its V8 heap limit; nothing else depends on this.
        }
    }

    /// <summary>Removes a reaped worker's cgroup.</summary>
    public void Release(int pid)
    {
        if (parent is null) return;
        try { Directory.Delete(Path.Combine(parent, $"worker-{pid}")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public void Dispose()
    {
        if (parent is null) return;
        try { Directory.Delete(parent); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
