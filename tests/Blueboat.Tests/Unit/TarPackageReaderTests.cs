using System.Text;
using Blueboat.Apps;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.Unit;

public class TarPackageReaderTests
{
    private static AppPackage Read(byte[] tar) => TarPackageReader.Read(new MemoryStream(tar), "app.tar");

    private static string Text(AppPackage p, string path) => Encoding.UTF8.GetString(p.Get(path)!);

    [Fact]
    public void KeepsRegularFilesByRelativePath()
    {
        var p = Read(new TarBuilder().File("index.js", "a").Directory("static/").File("static/x.css", "b").Build());
        Assert.Equal(["index.js", "static/x.css"], p.Files.Keys.Order());
        Assert.Equal("b", Text(p, "static/x.css"));
    }

    [Fact]
    public void CollapsesASingleTopLevelFolderRepeatedly()
    {
        var p = Read(new TarBuilder().Directory("./").Directory("./app/").Directory("./app/inner/")
            .File("./app/inner/index.js", "x").File("./app/inner/lib/a.js", "y").Build());
        Assert.Equal(["index.js", "lib/a.js"], p.Files.Keys.Order());
    }

    [Fact]
    public void DoesNotCollapseWhenTheRootHasAFile()
    {
        var p = Read(new TarBuilder().File("app/index.js", "x").File("README", "r").Build());
        Assert.True(p.Contains("app/index.js"));
        Assert.True(p.Contains("README"));
    }

    [Fact]
    public void NormalisesDotSegmentsThatStayInside()
    {
        var p = Read(new TarBuilder().File("a/../index.js", "x").File("./b/./c.js", "y").Build());
        Assert.Equal(["b/c.js", "index.js"], p.Files.Keys.Order());
    }

    [Theory]
    [InlineData("../evil.js", "escapes the package root")]
    [InlineData("a/../../evil.js", "escapes the package root")]
    [InlineData("/etc/passwd", "absolute path")]
    public void RejectsPathsOutsideThePackage(string name, string expected)
    {
        var tar = new TarBuilder().File("index.js", "x").File(name, "evil").Build();
        var e = Assert.Throws<AppLoadException>(() => Read(tar));
        Assert.Contains(expected, e.Message);
        Assert.Contains("app.tar", e.Message);
    }

    [Fact]
    public void RejectsSymlinks()
    {
        var e = Assert.Throws<AppLoadException>(() => Read(new TarBuilder().File("index.js", "x").Symlink("link", "/etc/passwd").Build()));
        Assert.Contains("is a link", e.Message);
    }

    [Fact]
    public void RejectsHardLinks()
    {
        var e = Assert.Throws<AppLoadException>(() => Read(new TarBuilder().File("index.js", "x").HardLink("h", "index.js").Build()));
        Assert.Contains("is a link", e.Message);
    }

    [Fact]
    public void RejectsDevices()
    {
        var e = Assert.Throws<AppLoadException>(() => Read(new TarBuilder().File("index.js", "x").CharDevice("null").Build()));
        Assert.Contains("device", e.Message);
    }

    [Fact]
    public void RejectsGarbageAndEmptyArchives()
    {
        var garbage = Assert.Throws<AppLoadException>(() => Read(Encoding.ASCII.GetBytes(new string('x', 2048))));
        Assert.Contains("app.tar", garbage.Message);
        var empty = Assert.Throws<AppLoadException>(() => Read(new TarBuilder().Build()));
        Assert.Contains("no files", empty.Message);
    }

    [Fact]
    public void ReadsATarMadeByGnuTar()
    {
        using var dir = new TempDir();
        dir.Write("src/app/index.js", "Router.get('/', () => new Response('hi'));");
        dir.Write("src/app/static/a.txt", "static");
        var tarPath = dir.Combine("pkg.tar");
        var tar = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("tar", ["-C", dir.Combine("src"), "-cf", tarPath, "app"]))!;
        tar.WaitForExit();
        Assert.Equal(0, tar.ExitCode);
        var p = TarPackageReader.ReadFile(tarPath);
        Assert.Equal(["index.js", "static/a.txt"], p.Files.Keys.Order());
    }
}
