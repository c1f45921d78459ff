using System.Net;
using System.Text.Json;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>Both module forms, single-tenant metadata + tar, and every bad input the app format allows.</summary>
public class AppFormatTests
{
    [Fact]
    public async Task HelloWorldExampleAnswersHelloWorld()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.Example("hello-world"));
        Assert.Equal("hello world", await edge.Http.GetStringAsync(""));
    }

    [Fact]
    public async Task WorkersModuleFormGetsEnvFromSingleTenantMetadata()
    {
        using var dir = new TempDir();
        new TarBuilder().Folder(TestPaths.Example("workers-style"), "app/").WriteTo(dir.Combine("app.tar"));
        dir.Write("metadata.json", """{"version":"v7","package":"app.tar","env":{"GREETING":"bonjour"},"kv_namespaces":{}}""");
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"));

        Assert.Equal("hello from a Workers-style app", await edge.Http.GetStringAsync(""));
        using var missing = await edge.Http.GetAsync("nowhere");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var seen = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("bonjour", seen.GetProperty("greeting").GetString());
        using var echo = await edge.Http.PostAsync("echo", new StringContent("round trip"));
        Assert.Equal("round trip", await echo.Content.ReadAsStringAsync());
        var ready = edge.WaitForLog(l => l.GetProperty("msg").GetString() == "worker ready");
        Assert.Equal("v7", ready.GetProperty("version").GetString());
    }

    [Fact]
    public async Task SingleTenantTarMadeByGnuTarIsServed()
    {
        using var dir = new TempDir();
        var tar = System.Diagnostics.Process.Start("tar", ["-C", TestPaths.Example("hello-world"), "-cf", dir.Combine("hello.tar"), "."])!;
        tar.WaitForExit();
        dir.Write("metadata.json", """{"version":"1","package":"hello.tar","env":{}}""");
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"));
        Assert.Equal("hello world", await edge.Http.GetStringAsync(""));
    }

    public static TheoryData<string, string?, string> BadMetadata => new()
    {
        { "this is not json", null, "not valid JSON" },
        { """{"package":"app.tar","env":{}}""", "ok", "lacks \"version\"" },
        { """{"version":"1","env":{}}""", "ok", "lacks \"package\"" },
        { """{"version":"1","package":"missing.tar","env":{}}""", null, "does not exist" },
        { """{"version":"1","package":"app.tar","env":{}}""", "escape", "escapes the package root" },
        { """{"version":"1","package":"app.tar","env":{}}""", "noentry", "no entry module" },
        { """{"version":"1","package":"app.tar","env":{}}""", "garbage", "not a valid tar" },
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public void BadAppDefinitionsStopStartupWithAClearError(string metadata, string? tarKind, string expected)
    {
        using var dir = new TempDir();
        var tarPath = dir.Combine("app.tar");
        switch (tarKind)
        {
            case "ok": new TarBuilder().File("index.js", "").WriteTo(tarPath); break;
            case "escape": new TarBuilder().File("index.js", "").File("../../evil.js", "x").WriteTo(tarPath); break;
            case "noentry": new TarBuilder().File("main.js", "").WriteTo(tarPath); break;
            case "garbage": File.WriteAllText(tarPath, new string('z', 3000)); break;
        }
        var metadataPath = dir.Write("metadata.json", metadata);
        var (exit, _, stderr) = EdgeProcess.Run("serve", "-l", "127.0.0.1:0", "--single-tenant", metadataPath);
        Assert.Equal(1, exit);
        Assert.Contains(expected, stderr);
        Assert.Contains(dir.Path, stderr); // names the file at fault
    }

    [Theory]
    [InlineData("syntax-error", "SyntaxError")]
    [InlineData("throws-at-load", "database url is not configured")]
    public async Task AppThatFailsToLoadGets503AndTheServerStaysUp(string app, string expected)
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App(app));
        using var r = await edge.Http.GetAsync("");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Equal("text/plain", r.Content.Headers.ContentType!.MediaType);
        var body = await r.Content.ReadAsStringAsync();
        Assert.Contains(expected, body);
        var log = edge.WaitForLog(l => l.GetProperty("msg").GetString()!.StartsWith("app failed to initialise"));
        Assert.Contains(expected, log.GetProperty("msg").GetString());
        Assert.Contains("index", log.GetProperty("msg").GetString()); // stack with the module name
        using var health = await edge.Http.GetAsync("_blueboat/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var again = await edge.Http.GetAsync("");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.False(edge.HasExited);
    }

    [Fact]
    public async Task AppExceedingTheThreeSecondInitBudgetGets503()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("slow-init"));
        var started = DateTime.UtcNow;
        using var r = await edge.Http.GetAsync("");
        var took = DateTime.UtcNow - started;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("exceeded its budget of 3000 ms", await r.Content.ReadAsStringAsync());
        Assert.InRange(took.TotalSeconds, 2.9, 8);
        using var health = await edge.Http.GetAsync("_blueboat/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task ModulesAreEvaluatedOnceAndCyclesWork()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("modules"));
        var seen = JsonDocument.Parse(await edge.Http.GetStringAsync("")).RootElement;
        Assert.Equal(1, seen.GetProperty("evaluations").GetInt32());
        Assert.True(seen.GetProperty("same").GetBoolean());
        Assert.Equal("pong from index", seen.GetProperty("cycle").GetString());
    }

    [Fact]
    public async Task TopLevelAwaitAndDynamicImportFinishBeforeTheFirstRequest()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("top-level-await"));
        Assert.Equal("ready after await", await edge.Http.GetStringAsync(""));
    }

    [Fact]
    public async Task ARejectedTopLevelAwaitFailsTheLoad()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("tla-rejects"), "--init-budget-ms", "1000");
        using var r = await edge.Http.GetAsync("");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("top-level await", await r.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{\"version\":\"1\",\"package\":\"app.tar\",\"env\":{\"K\":\"\\ud800\"}}", "not valid JSON")]
    [InlineData("\uFEFF{\"version\":\"1\",\"package\":\"app.tar\",\"env\":{}}", null)]
    public async Task MetadataTextEdgeCases(string metadata, string? error)
    {
        using var dir = new TempDir();
        new TarBuilder().File("index.js", "Router.get('/', () => new Response('bom ok'));").WriteTo(dir.Combine("app.tar"));
        dir.Write("metadata.json", metadata);
        if (error is not null)
        {
            var (exit, _, stderr) = EdgeProcess.Run("serve", "-l", "127.0.0.1:0", "--single-tenant", dir.Combine("metadata.json"));
            Assert.Equal(1, exit);
            Assert.Contains(error, stderr);
            Assert.DoesNotContain("Unhandled exception", stderr);
            return;
        }
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"));
        Assert.Equal("bom ok", await edge.Http.GetStringAsync(""));
    }

    [Fact]
    public async Task AFifoInTheAppFolderIsSkippedNotWaitedOn()
    {
        using var dir = new TempDir();
        dir.Write("index.js", "Router.get('/', () => new Response(Object.keys(Package).join(',')));");
        var mkfifo = System.Diagnostics.Process.Start("mkfifo", [dir.Combine("pipe")])!;
        mkfifo.WaitForExit();
        using var edge = EdgeProcess.Start("--app", dir.Path);
        Assert.Equal("index.js", await edge.Http.GetStringAsync(""));
    }

    [Fact]
    public void AppFolderWithoutEntryModuleIsRefused()
    {
        using var dir = new TempDir();
        dir.Write("main.js", "");
        var (exit, _, stderr) = EdgeProcess.Run("serve", "-l", "127.0.0.1:0", "--app", dir.Path);
        Assert.Equal(1, exit);
        Assert.Contains("no entry module", stderr);
    }
}
