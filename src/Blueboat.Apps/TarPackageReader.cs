using System.Formats.Tar;

namespace Blueboat.Apps;

/// <summary>
/// Reads a Blueboat package tar. Only regular files are kept; entries that are absolute, climb out
/// of the root, or are links or devices make the whole package invalid, since a package carrying
/// them was not made by a tool we trust.
/// </summary>
public static class TarPackageReader
{
    public static AppPackage Read(Stream tar, string source)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long total = 0;
        try
        {
            using var reader = new TarReader(tar, leaveOpen: true);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                var name = entry.Name;
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        CheckPath(name, source);
                        continue;
                    case TarEntryType.RegularFile:
                    case TarEntryType.V7RegularFile:
                    case TarEntryType.ContiguousFile:
                        break;
                    case TarEntryType.GlobalExtendedAttributes:
                        continue;
                    case TarEntryType.SymbolicLink:
                    case TarEntryType.HardLink:
                        throw new AppLoadException($"{source}: entry \"{name}\" is a link; packages may hold only regular files");
                    case TarEntryType.CharacterDevice:
                    case TarEntryType.BlockDevice:
                    case TarEntryType.Fifo:
                        throw new AppLoadException($"{source}: entry \"{name}\" is a device or fifo; packages may hold only regular files");
                    default:
                        throw new AppLoadException($"{source}: entry \"{name}\" has unsupported type {entry.EntryType}");
                }

                var path = CheckPath(name, source);
                if (path.Length == 0)
                    throw new AppLoadException($"{source}: a file entry has an empty path");
                total += entry.Length;
                if (total > AppPackage.MaxTotalBytes)
                    throw new AppLoadException($"{source}: package is larger than {AppPackage.MaxTotalBytes / (1024 * 1024)} MiB");
                var data = new byte[entry.Length];
                if (entry.DataStream is { } stream) stream.ReadExactly(data);
                files[path] = data;
            }
        }
        catch (AppLoadException) { throw; }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or IOException or ArgumentException)
        {
            throw new AppLoadException($"{source}: not a valid tar package: {e.Message}", e);
        }

        if (files.Count == 0)
            throw new AppLoadException($"{source}: package holds no files");
        return new AppPackage(AppPackage.CollapseSingleTopFolder(files));
    }

    public static AppPackage ReadFile(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Read(stream, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AppLoadException($"{path}: cannot read package: {e.Message}", e);
        }
    }

    private static string CheckPath(string name, string source)
    {
        if (name.StartsWith('/'))
            throw new AppLoadException($"{source}: entry \"{name}\" has an absolute path");
        if (name.Contains('\0'))
            throw new AppLoadException($"{source}: entry name contains a NUL byte");
        return PackagePath.Normalize(name)
            ?? throw new AppLoadException($"{source}: entry \"{name}\" escapes the package root with '..'");
    }
}
