namespace Blueboat.Tests.Support;

/// <summary>Where the repository, its test apps, its examples and the AOT binary are.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string App(string relative) => Path.Combine(RepoRoot, "tests", "apps", relative);

    public static string Example(string name) => Path.Combine(RepoRoot, "examples", name);

    /// <summary>The Native AOT executable the end-to-end tests drive (BLUEBOAT_EDGE_BIN overrides).</summary>
    public static string Binary =>
        Environment.GetEnvironmentVariable("BLUEBOAT_EDGE_BIN") is { Length: > 0 } bin ? bin : Path.Combine(RepoRoot, "out", "blueboat-edge");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "blueboat-edge.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
