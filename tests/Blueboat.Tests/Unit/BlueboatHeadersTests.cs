using Blueboat.Supervisor.Http;

namespace Blueboat.Tests.Unit;

public class BlueboatHeadersTests
{
    [Theory]
    [InlineData(0, "0.00")]
    [InlineData(49, "0.00")]
    [InlineData(50, "0.01")]
    [InlineData(12_345_678, "1234.57")]
    [InlineData(1_000_000, "100.00")]
    [InlineData(-12_345, "-1.23")]
    [InlineData(-49, "0.00")]
    [InlineData(5_000, "0.50")]
    [InlineData(999_950, "100.00")]
    [InlineData(36_000_000_000_000, "3600000000.00")]
    public void MillisecondsHaveTwoDecimals(long ticks, string expected) =>
        Assert.Equal(expected, BlueboatHeaders.Milliseconds(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void GeneratedRequestIdsAreDistinctVersion4Uuids()
    {
        // More than one refill of the per-thread pool, from several threads.
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, _ => { for (var i = 0; i < 1000; i++) ids.Add(BlueboatHeaders.ChooseRequestId(null)); });
        Assert.Equal(4000, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^u:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id));
        Assert.Equal("from-proxy", BlueboatHeaders.ChooseRequestId("from-proxy"));
    }
}
