using Blueboat.Tests.Store;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>SIGHUP re-reads routes and metadata from a store whose cache would otherwise hold them (S3, a long TTL).</summary>
public class ReloadRoutesTests : IClassFixture<S3StoreTests.Server>
{
    private readonly S3Server s3;

    public ReloadRoutesTests(S3StoreTests.Server server) => s3 = server.S3;

    private static async Task<int> Status(EdgeProcess edge, string host)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, "");
        req.Headers.Host = host;
        using var r = await edge.Http.SendAsync(req);
        return (int)r.StatusCode;
    }

    [Fact]
    public async Task SighupRereadsRoutesFromTheStore()
    {
        var app = "reload-" + Guid.NewGuid().ToString("N")[..6];
        var (exit, _, stderr) = EdgeProcess.Run(["deploy", TestPaths.Example("hello-world"), "--app", app, "--host", $"{app}-a.test", .. s3.Flags]);
        Assert.True(exit == 0, stderr);
        using var edge = EdgeProcess.Start([.. s3.Flags, "--metadata-ttl-ms", "600000"]);
        Assert.Equal(200, await Status(edge, $"{app}-a.test"));

        (exit, _, stderr) = EdgeProcess.Run(["deploy", TestPaths.Example("hello-world"), "--app", app, "--host", $"{app}-b.test", .. s3.Flags]);
        Assert.True(exit == 0, stderr);
        Assert.Equal(404, await Status(edge, $"{app}-b.test")); // the routes are cached for ten minutes

        edge.Signal(1); // SIGHUP
        edge.WaitForLog(l => l.GetProperty("msg").GetString() == "reloaded");
        Assert.Equal(200, await Status(edge, $"{app}-b.test"));
        Assert.Equal(200, await Status(edge, $"{app}-a.test"));
    }
}
