namespace Blueboat.Apps;

/// <summary>Normalises paths inside a package: '/'-separated, no empty or '.' segments, never above the root.</summary>
public static class PackagePath
{
    /// <summary>Joins <paramref name="relative"/> onto <paramref name="baseDirectory"/> and normalises,
    /// returning null when '..' would climb above the package root.</summary>
    public static string? Combine(string baseDirectory, string relative)
    {
        var segments = new List<string>();
        Push(segments, baseDirectory);
        return Push(segments, relative) ? string.Join('/', segments) : null;
    }

    public static string? Normalize(string path) => Combine("", path);

    public static string DirectoryOf(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    private static bool Push(List<string> segments, string path)
    {
        foreach (var seg in path.Split('/'))
        {
            if (seg.Length == 0 || seg == ".") continue;
            if (seg == "..")
            {
                if (segments.Count == 0) return false;
                segments.RemoveAt(segments.Count - 1);
                continue;
            }
            segments.Add(seg);
        }
        return true;
    }
}
