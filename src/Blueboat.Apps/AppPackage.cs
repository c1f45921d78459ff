namespace Blueboat.Apps;

/// <summary>
/// The files of one app: relative path (no leading '/') to contents. This is what a worker
/// receives and what the app sees as the global <c>Package</c>.
/// </summary>
public sealed class AppPackage
{
    /// <summary>Largest package we accept, summed over its files: an app, not a data set.</summary>
    public const long MaxTotalBytes = 256L * 1024 * 1024;

    private readonly Dictionary<string, byte[]> files;

    public AppPackage(IDictionary<string, byte[]> files)
    {
        this.files = new Dictionary<string, byte[]>(files, StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, byte[]> Files => files;

    public bool Contains(string path) => files.ContainsKey(path);

    public byte[]? Get(string path) => files.GetValueOrDefault(path);

    /// <summary>
    /// Strips a single top-level folder, repeatedly, so that `tar c app/` and `tar c .` both put
    /// the app at the root (Blueboat's rule).
    /// </summary>
    internal static Dictionary<string, byte[]> CollapseSingleTopFolder(Dictionary<string, byte[]> input)
    {
        var current = input;
        while (current.Count > 0)
        {
            string? top = null;
            var allNested = true;
            foreach (var path in current.Keys)
            {
                var slash = path.IndexOf('/');
                if (slash < 0) { allNested = false; break; }
                var first = path[..slash];
                if (top is null) top = first;
                else if (top != first) { allNested = false; break; }
            }
            if (!allNested || top is null) break;
            var next = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (path, data) in current) next[path[(top.Length + 1)..]] = data;
            current = next;
        }
        return current;
    }
}
