using System.Formats.Tar;

namespace Blueboat.Apps;

/// <summary>
/// Writes a package as a deterministic tar: files in ordinal path order, with fixed owner, mode and
/// time, so the same files always give the same bytes (and the same content-addressed key).
/// </summary>
public static class TarPackageWriter
{
    private static readonly DateTimeOffset FixedTime = DateTimeOffset.FromUnixTimeSeconds(0);

    public static byte[] Write(AppPackage package)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var path in package.Files.Keys.Order(StringComparer.Ordinal))
            {
                var entry = path.Length <= 100
                    ? (TarEntry)new UstarTarEntry(TarEntryType.RegularFile, path)
                    : new PaxTarEntry(TarEntryType.RegularFile, path, new Dictionary<string, string>());
                entry.ModificationTime = FixedTime;
                entry.Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
                entry.Uid = 0;
                entry.Gid = 0;
                if (entry is PosixTarEntry posix) { posix.UserName = ""; posix.GroupName = ""; }
                entry.DataStream = new MemoryStream(package.Files[path], writable: false);
                writer.WriteEntry(entry);
            }
        }
        return output.ToArray();
    }
}
