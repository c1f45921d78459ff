using Blueboat.Tests.Store;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>The AOT binary deploying to and serving from S3 (a real s3rver), and an S3 that is down.</summary>
public class S3StoreEndToEndTests : IClassFixture<S3StoreTests.Server>
{
    private readonly S3Server s3;

    public S3StoreEndToEndTests(S3StoreTests.Server server) => s3 = server.S3;

    private static async Task<string> Get(EdgeProcess edge, string host)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, "");
        req.Headers.Host = host;
        using var r = await edge.Http.SendAsync(req);
        return $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}";
    }

    [Fact]
    public async Task DeployToS3AndServeFromIt()
    {
        var app = "s3app-" + Guid.NewGuid().ToString("N")[..6];
        var (exit, stdout, stderr) = EdgeProcess.Run(["deploy", TestPaths.Example("workers-style"), "--app", app, "--host", $"{app}.test", .. s3.Flags]);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"deployed {app} v1-", stdout);
        using var edge = EdgeProcess.Start([.. s3.Flags, "--metadata-ttl-ms", "300"]);
        Assert.Equal("200 hello from a Workers-style app", await Get(edge, $"{app}.test"));

        (exit, _, stderr) = EdgeProcess.Run(["deploy", TestPaths.Example("hello-world"), "--app", app, .. s3.Flags]);
        Assert.True(exit == 0, stderr);
        var deadline = DateTime.UtcNow.AddSeconds(3);
        while (await Get(edge, $"{app}.test") != "200 hello world")
        {
            Assert.True(DateTime.UtcNow < deadline, "the S3 deploy was not picked up within the metadata TTL");
            await Task.Delay(50);
        }
        var (_, listed, _) = EdgeProcess.Run(["apps", "list", .. s3.Flags]);
        Assert.Contains(app + "\tv2-", listed);
    }

    [Fact]
    public async Task AnS3EndpointThatIsDownGivesClearErrors()
    {
        string[] down = ["--s3-bucket", "b", "--s3-region", "us-east-1", "--s3-endpoint", "http://127.0.0.1:9"];
        var (exit, _, stderr) = EdgeProcess.Run(["deploy", TestPaths.Example("hello-world"), "--app", "x", .. down]);
        Assert.Equal(1, exit);
        Assert.Contains("deploy failed", stderr);
        Assert.Contains("s3://b at http://127.0.0.1:9", stderr);

        using var edge = EdgeProcess.Start(down);
        var answer = await Get(edge, "x.test");
        Assert.StartsWith("503 routes cannot be read", answer);
        Assert.Contains("127.0.0.1:9", answer);
        using var health = await edge.Http.GetAsync("_blueboat/health");
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
    }
}
