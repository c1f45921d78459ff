namespace Blueboat.Apps;

/// <summary>Reads a development folder (`serve --app DIR`) as a package: every regular file under it.</summary>
public static class DirectoryPackageReader
{
    public static AppPackage Read(string directory)
    {
        var root = new DirectoryInfo(directory);
        if (!root.Exists)
            throw new AppLoadException($"{directory}: app folder does not exist");
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long total = 0;
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = 0,
            IgnoreInaccessible = false,
        };
        try
        {
            foreach (var link in root.EnumerateFileSystemInfos("*", options))
                if (link.LinkTarget is not null)
                    throw new AppLoadException($"{directory}: {Path.GetRelativePath(root.FullName, link.FullName)} is a symbolic link; an app holds only regular files (copy what it points to)");
            foreach (var file in root.EnumerateFiles("*", options))
            {
                if (!FileType.IsRegular(file.FullName)) continue; // fifos, sockets and devices are not app files
                var rel = Path.GetRelativePath(root.FullName, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
                total += file.Length;
                if (total > AppPackage.MaxTotalBytes)
                    throw new AppLoadException($"{directory}: app folder is larger than {AppPackage.MaxTotalBytes / (1024 * 1024)} MiB");
                files[rel] = File.ReadAllBytes(file.FullName);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AppLoadException($"{directory}: cannot read app folder: {e.Message}", e);
        }
        var package = new AppPackage(files);
        ModuleResolver.ResolveEntry(package, directory); // fail early, naming the folder
        return package;
    }
}
