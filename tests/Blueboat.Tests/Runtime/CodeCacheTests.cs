using Blueboat.Channel;

namespace Blueboat.Tests.Runtime;

/// <summary>
/// The V8 code cache of app modules: made by one engine after it served a request, accepted by
/// the next engine loading the same code, and refused without harm when it does not fit.
/// </summary>
public class CodeCacheTests
{
    private const string Entry = """
        import { greet } from "./lib/greet.mjs";
        Router.get("/", () => new Response(greet("cache")));
        """;

    private static readonly Dictionary<string, string> Lib = new()
    {
        ["lib/greet.mjs"] = "export function greet(name) { return `hello ${name}`; }\n",
    };

    private static List<ModuleCodeCache> MakeCache()
    {
        using var first = new RuntimeHarness(Entry, moreFiles: Lib);
        Assert.Equal(CodeCacheOutcome.None, first.CodeCache);
        Assert.Equal("hello cache", first.Get("/").Text);
        return first.ProduceCodeCache();
    }

    [Fact]
    public void EveryLoadedModuleGetsCacheThatTheNextEngineAccepts()
    {
        var cache = MakeCache();
        Assert.Equal(["index.mjs", "lib/greet.mjs"], cache.Select(m => m.Path).Order().ToArray());
        Assert.All(cache, m => Assert.True(m.Data.Length > 16));

        using var second = new RuntimeHarness(Entry, moreFiles: Lib, codeCache: cache);
        Assert.Equal(CodeCacheOutcome.Accepted, second.CodeCache);
        Assert.Equal("hello cache", second.Get("/").Text);
    }

    [Fact]
    public void CacheOfOtherSourceIsRejectedAndTheAppStillRuns()
    {
        var cache = MakeCache();
        // The cache of lib/greet.mjs handed over as the entry's, and the entry's as the library's.
        var swapped = cache.Select(m => m with { Path = m.Path == "index.mjs" ? "lib/greet.mjs" : "index.mjs" }).ToList();
        using var harness = new RuntimeHarness(Entry, moreFiles: Lib, codeCache: swapped);
        Assert.Equal(CodeCacheOutcome.Rejected, harness.CodeCache);
        Assert.Equal("hello cache", harness.Get("/").Text);
    }

    [Fact]
    public void ChangedSourceRejectsTheOldCache()
    {
        var cache = MakeCache();
        var changed = new Dictionary<string, string> { ["lib/greet.mjs"] = "export function greet(name) { return `bonjour ${name}`; }\n" };
        using var harness = new RuntimeHarness(Entry, moreFiles: changed, codeCache: cache);
        Assert.Equal(CodeCacheOutcome.Rejected, harness.CodeCache);
        Assert.Equal("bonjour cache", harness.Get("/").Text);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("header")]
    [InlineData("empty")]
    [InlineData("unknown-module")]
    public void DamagedCacheIsRejectedAndTheAppStillRuns(string damage)
    {
        var cache = MakeCache();
        var damaged = cache.Select(m => damage switch
        {
            "truncated" => m with { Data = m.Data[..(m.Data.Length / 2)] },
            "header" => m with { Data = FlipFirstBytes(m.Data) },
            "empty" => m with { Data = [] },
            _ => m with { Path = "not/in/the/package.mjs" },
        }).ToList();
        using var harness = new RuntimeHarness(Entry, moreFiles: Lib, codeCache: damaged);
        Assert.Equal(CodeCacheOutcome.Rejected, harness.CodeCache);
        Assert.Equal("hello cache", harness.Get("/").Text);
    }

    /// <summary>V8's cache starts with a magic number and hashes of its version, source and flags.</summary>
    private static byte[] FlipFirstBytes(byte[] data)
    {
        var copy = data.ToArray();
        for (var i = 0; i < Math.Min(16, copy.Length); i++) copy[i] ^= 0x5A;
        return copy;
    }
}
