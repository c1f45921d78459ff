using System.Text;
using Blueboat.Apps;

namespace Blueboat.Tests.Unit;

public class AppMetadataTests
{
    private static AppMetadata Parse(string json) => AppMetadata.Parse(Encoding.UTF8.GetBytes(json), "metadata.json");

    [Fact]
    public void ReadsVersionPackageAndEnv_IgnoringUnknownFields()
    {
        var m = Parse("""{"version":"v1","package":"app.tar","env":{"A":"1","B":"two"},"mysql":{},"future":42}""");
        Assert.Equal("v1", m.Version);
        Assert.Equal("app.tar", m.Package);
        Assert.Equal("two", m.Env["B"]);
        Assert.Equal(2, m.Env.Count);
    }

    [Fact]
    public void MissingEnvIsEmpty()
    {
        Assert.Empty(Parse("""{"version":"v1","package":"app.tar"}""").Env);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("""{"package":"a.tar","env":{}}""", "lacks \"version\"")]
    [InlineData("""{"version":"v1","env":{}}""", "lacks \"package\"")]
    [InlineData("""{"version":1,"package":"a.tar"}""", "\"version\" must be a non-empty string")]
    [InlineData("""{"version":"v1","package":""}""", "\"package\" must be a non-empty string")]
    [InlineData("""{"version":"v1","package":"a.tar","env":{"K":1}}""", "env.K must be a string")]
    [InlineData("""{"version":"v1","package":"a.tar","env":[]}""", "\"env\" must be an object")]
    [InlineData("""{"version":"v1","package":"a.tar","limits":{"cpu_ms":0}}""", "limits.cpu_ms must be a whole number")]
    [InlineData("""{"version":"v1","package":"a.tar","limits":{"heap_mb":"big"}}""", "limits.heap_mb must be a whole number")]
    [InlineData("""{"version":"v1","package":"a.tar","limits":[]}""", "\"limits\" must be an object")]
    [InlineData("""{"version":"v1","package":"a.tar","limits":{"max_response_body":-1}}""", "limits.max_response_body must be a whole number from 0 to 1073741824")]
    public void RejectsBadMetadataWithAMessageNamingTheFile(string json, string expected)
    {
        var e = Assert.Throws<AppLoadException>(() => Parse(json));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("metadata.json:", e.Message);
    }

    [Fact]
    public void BodyCapsInLimitsSurviveARoundTrip()
    {
        var m = Parse("""{"version":"v1","package":"a.tar","limits":{"max_request_body":10,"max_response_body":20}}""");
        Assert.Equal(10, m.Limits!.MaxRequestBody);
        Assert.Equal(20, m.Limits.MaxResponseBody);
        var again = AppMetadata.Parse(m.ToJson(), "again");
        Assert.Equal(m.Limits, again.Limits);
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var e = Assert.Throws<AppLoadException>(() => AppMetadata.Load("/nonexistent/metadata.json"));
        Assert.Contains("/nonexistent/metadata.json", e.Message);
    }
}
