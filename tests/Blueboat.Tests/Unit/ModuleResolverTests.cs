using Blueboat.Apps;

namespace Blueboat.Tests.Unit;

public class ModuleResolverTests
{
    private static readonly AppPackage Package = new(new Dictionary<string, byte[]>
    {
        ["index.mjs"] = [],
        ["lib/util.js"] = [],
        ["lib/deep/x.mjs"] = [],
        ["lib/deep/index.js"] = [],
        ["pkg/index.mjs"] = [],
        ["data.json.js"] = [],
    });

    [Theory]
    [InlineData("./lib/util.js", "index.mjs", "lib/util.js")]
    [InlineData("./lib/util", "index.mjs", "lib/util.js")]
    [InlineData("./lib/deep/x", "index.mjs", "lib/deep/x.mjs")]
    [InlineData("./lib/deep", "index.mjs", "lib/deep/index.js")]
    [InlineData("./pkg", "index.mjs", "pkg/index.mjs")]
    [InlineData("../util", "lib/deep/x.mjs", "lib/util.js")]
    [InlineData("../../index.mjs", "lib/deep/x.mjs", "index.mjs")]
    [InlineData("./x", "lib/deep/index.js", "lib/deep/x.mjs")]
    [InlineData("/lib/util", "lib/deep/x.mjs", "lib/util.js")]
    [InlineData("./data.json", "index.mjs", "data.json.js")]
    public void ResolvesRelativeImportsWithSuffixProbing(string specifier, string referrer, string expected)
    {
        Assert.Equal(expected, ModuleResolver.Resolve(Package, specifier, referrer));
    }

    [Fact]
    public void ExactFileBeatsSuffixes()
    {
        var p = new AppPackage(new Dictionary<string, byte[]> { ["a"] = [], ["a.js"] = [], ["index.js"] = [] });
        Assert.Equal("a", ModuleResolver.Resolve(p, "./a", "index.js"));
    }

    [Theory]
    [InlineData("../escape", "index.mjs", "escapes the package root")]
    [InlineData("../../../etc/passwd", "lib/deep/x.mjs", "escapes the package root")]
    [InlineData("lodash", "index.mjs", "only relative imports")]
    [InlineData("./missing", "index.mjs", "no such module")]
    public void RejectsImportsOutsideOrMissing(string specifier, string referrer, string expected)
    {
        var e = Assert.Throws<AppLoadException>(() => ModuleResolver.Resolve(Package, specifier, referrer));
        Assert.Contains(expected, e.Message);
        Assert.Contains(referrer, e.Message);
    }

    [Fact]
    public void EntryIsIndexMjsThenIndexJs()
    {
        Assert.Equal("index.mjs", ModuleResolver.ResolveEntry(Package, "pkg"));
        var jsOnly = new AppPackage(new Dictionary<string, byte[]> { ["index.js"] = [] });
        Assert.Equal("index.js", ModuleResolver.ResolveEntry(jsOnly, "pkg"));
        var none = new AppPackage(new Dictionary<string, byte[]> { ["main.js"] = [] });
        Assert.Contains("no entry module", Assert.Throws<AppLoadException>(() => ModuleResolver.ResolveEntry(none, "pkg")).Message);
    }
}
