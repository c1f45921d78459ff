namespace Blueboat.Apps;

/// <summary>
/// Resolves ES module specifiers inside a package, as Blueboat does: relative to the importing
/// module's folder, trying the suffixes "", ".mjs", ".js", "/index.mjs", "/index.js"; '..' may move
/// within the package and never above it; bare specifiers do not exist (apps are bundled).
/// </summary>
public static class ModuleResolver
{
    private static readonly string[] Suffixes = ["", ".mjs", ".js", "/index.mjs", "/index.js"];

    /// <summary>The entry module: index.mjs or index.js at the package root.</summary>
    public static string ResolveEntry(AppPackage package, string source)
    {
        foreach (var candidate in new[] { "index.mjs", "index.js" })
            if (package.Contains(candidate)) return candidate;
        throw new AppLoadException($"{source}: no entry module (index.mjs or index.js) at the package root");
    }

    /// <summary>Resolves <paramref name="specifier"/> imported by the module at <paramref name="referrer"/>.</summary>
    public static string Resolve(AppPackage package, string specifier, string referrer)
    {
        string baseDir;
        if (specifier.StartsWith("./", StringComparison.Ordinal) || specifier.StartsWith("../", StringComparison.Ordinal) || specifier is "." or "..")
            baseDir = PackagePath.DirectoryOf(referrer);
        else if (specifier.StartsWith('/'))
            baseDir = "";
        else
            throw new AppLoadException($"cannot import \"{specifier}\" from {referrer}: only relative imports exist inside a package; bundle dependencies into the app");

        var target = PackagePath.Combine(baseDir, specifier)
            ?? throw new AppLoadException($"cannot import \"{specifier}\" from {referrer}: it escapes the package root");
        foreach (var suffix in Suffixes)
        {
            var candidate = (target + suffix).TrimStart('/');
            if (candidate.Length > 0 && package.Contains(candidate)) return candidate;
        }
        throw new AppLoadException($"cannot import \"{specifier}\" from {referrer}: no such module in the package");
    }
}
