using System.Formats.Tar;
using System.Text;

namespace Blueboat.Tests.Support;

/// <summary>Builds tar packages in memory, including the malformed kinds a loader must reject.</summary>
public sealed class TarBuilder
{
    private readonly MemoryStream stream = new();
    private readonly TarWriter writer;

    public TarBuilder() => writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);

    public TarBuilder File(string name, string text) => File(name, Encoding.UTF8.GetBytes(text));

    public TarBuilder File(string name, byte[] data)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) };
        writer.WriteEntry(entry);
        return this;
    }

    /// <summary>Adds every file at the top of <paramref name="folder"/>, under <paramref name="prefix"/>.</summary>
    public TarBuilder Folder(string folder, string prefix = "")
    {
        foreach (var file in System.IO.Directory.GetFiles(folder).Order(StringComparer.Ordinal))
            File(prefix + Path.GetFileName(file), System.IO.File.ReadAllBytes(file));
        return this;
    }

    public TarBuilder Directory(string name)
    {
        writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name));
        return this;
    }

    public TarBuilder Symlink(string name, string target)
    {
        writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target });
        return this;
    }

    public TarBuilder HardLink(string name, string target)
    {
        writer.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target });
        return this;
    }

    public TarBuilder CharDevice(string name)
    {
        writer.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, name) { DeviceMajor = 1, DeviceMinor = 3 });
        return this;
    }

    public byte[] Build()
    {
        writer.Dispose();
        return stream.ToArray();
    }

    public void WriteTo(string path) => System.IO.File.WriteAllBytes(path, Build());
}
