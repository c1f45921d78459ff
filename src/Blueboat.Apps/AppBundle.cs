namespace Blueboat.Apps;

/// <summary>Everything a worker needs to run one version of one app.</summary>
public sealed record AppBundle(string Name, string Version, IReadOnlyDictionary<string, string> Env, AppPackage Package, string EntryModule, AppLimitOverrides? Limits = null)
{
    /// <summary>Single-tenant mode: a metadata.json whose <c>package</c> is a tar next to it.</summary>
    public static AppBundle FromMetadataFile(string metadataPath)
    {
        var metadata = AppMetadata.Load(metadataPath);
        var dir = Path.GetDirectoryName(Path.GetFullPath(metadataPath))!;
        var packagePath = Path.Combine(dir, metadata.Package);
        if (!File.Exists(packagePath))
            throw new AppLoadException($"{metadataPath}: package file {packagePath} does not exist");
        if (!FileType.IsRegular(packagePath))
            throw new AppLoadException($"{metadataPath}: package {packagePath} is not a regular file");
        var package = TarPackageReader.ReadFile(packagePath);
        var entry = ModuleResolver.ResolveEntry(package, packagePath);
        return new AppBundle(Path.GetFileName(dir) is { Length: > 0 } n ? n : "app", metadata.Version, metadata.Env, package, entry, metadata.Limits);
    }

    /// <summary>Development mode: a folder holding index.mjs or index.js, no tar needed.</summary>
    public static AppBundle FromDirectory(string directory)
    {
        var package = DirectoryPackageReader.Read(directory);
        var entry = ModuleResolver.ResolveEntry(package, directory);
        var name = Path.GetFileName(Path.GetFullPath(directory).TrimEnd('/'));
        return new AppBundle(name.Length > 0 ? name : "app", "dev", new Dictionary<string, string>(), package, entry);
    }
}
