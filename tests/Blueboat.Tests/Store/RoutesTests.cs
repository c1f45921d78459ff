using Blueboat.Store;

namespace Blueboat.Tests.Store;

public class RoutesTests
{
    private static readonly Routes Table = new(new Dictionary<string, string>
    {
        ["a.example.com"] = "apps/a/metadata.json",
        ["*.example.com"] = "apps/wild/metadata.json",
        ["*.deep.example.com"] = "apps/deep/metadata.json",
    });

    [Theory]
    [InlineData("a.example.com", "apps/a/metadata.json")]
    [InlineData("A.Example.COM:8443", "apps/a/metadata.json")]
    [InlineData("a.example.com.", "apps/a/metadata.json")]
    [InlineData("a.example.com.:80", "apps/a/metadata.json")]
    [InlineData("b.example.com", "apps/wild/metadata.json")]
    [InlineData("x.y.example.com", "apps/wild/metadata.json")]
    [InlineData("x.deep.example.com", "apps/deep/metadata.json")]   // the longest suffix wins
    [InlineData("example.com", null)]                               // *.suffix is not the suffix itself
    [InlineData("other.org", null)]
    [InlineData("", null)]
    public void ExactHostThenLongestWildcard(string host, string? expected) => Assert.Equal(expected, Table.Resolve(host));

    [Theory]
    [InlineData("*")]
    [InlineData("*.")]
    [InlineData("a..b")]
    [InlineData("UPPER.example.com")]
    [InlineData("host:80")]
    [InlineData("sp ace.com")]
    public void BadPatternsAreRefused(string pattern) => Assert.Throws<StoreException>(() => Routes.ValidatePattern(pattern));

    [Fact]
    public void RoundTripsThroughJson()
    {
        var back = Routes.Parse(Table.ToJson(), "routes.json");
        Assert.Equal(Table.Hosts, back.Hosts);
        Assert.Throws<StoreException>(() => Routes.Parse("[]"u8.ToArray(), "routes.json"));
    }
}
