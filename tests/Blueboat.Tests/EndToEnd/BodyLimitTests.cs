using System.Net;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>Request and response body caps, from the server's flags or an app's own metadata.</summary>
public class BodyLimitTests
{
    private static async Task<HttpResponseMessage> Echo(EdgeProcess edge, int size) =>
        await edge.Http.PostAsync("", new ByteArrayContent(Enumerable.Range(0, size).Select(i => (byte)i).ToArray()));

    [Fact]
    public async Task AResponseOverTheCapGets502AndTheAppKeepsServing()
    {
        using var edge = EdgeProcess.Start("--app", TestPaths.App("echo"), "--max-response-body", "100000");
        using (var fits = await Echo(edge, 100_000))
        {
            Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
            Assert.Equal(100_000, (await fits.Content.ReadAsByteArrayAsync()).Length);
        }
        using (var over = await Echo(edge, 300_000)) // several body frames: cut off at the one that crosses the cap
        {
            Assert.Equal(HttpStatusCode.BadGateway, over.StatusCode);
            Assert.Contains("exceeds 100000 bytes", await over.Content.ReadAsStringAsync());
        }
        var log = edge.WaitForLog(l => l.GetProperty("msg").GetString() == "app response exceeded its body limit");
        Assert.Equal("echo", log.GetProperty("app").GetString());
        Assert.Equal("/after", await edge.Http.GetStringAsync("after"));
    }

    [Fact]
    public async Task AnAppsMetadataSetsItsOwnBodyCaps()
    {
        using var dir = new TempDir();
        new TarBuilder().Folder(TestPaths.App("echo")).WriteTo(dir.Combine("app.tar"));
        dir.Write("metadata.json", """{"version":"1","package":"app.tar","env":{},"limits":{"max_request_body":5000,"max_response_body":2000}}""");
        using var edge = EdgeProcess.Start("--single-tenant", dir.Combine("metadata.json"));
        using (var fits = await Echo(edge, 2000)) Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        using (var tooBigAnswer = await Echo(edge, 3000)) Assert.Equal(HttpStatusCode.BadGateway, tooBigAnswer.StatusCode);
        using var tooBigRequest = await Echo(edge, 6000);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBigRequest.StatusCode);
        Assert.Contains("exceeds 5000 bytes", await tooBigRequest.Content.ReadAsStringAsync());
    }
}
