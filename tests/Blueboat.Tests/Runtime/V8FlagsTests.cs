using Blueboat.Runtime.Glue;

namespace Blueboat.Tests.Runtime;

/// <summary>
/// The platform's V8 flags reach the V8 library ClearScript loads (the first engine of a process
/// sets them), and asking again gives the same outcome without touching V8's frozen flags.
/// </summary>
public class V8FlagsTests
{
    [Fact]
    public void ThePlatformFlagsAreSetThroughTheShippedV8Library()
    {
        using var harness = new RuntimeHarness("Router.get(\"/\", () => new Response(\"up\"));");
        Assert.Null(V8Flags.ApplyOnce());
        Assert.Null(V8Flags.ApplyOnce());
        Assert.Equal("up", harness.Get("/").Text);
    }
}
