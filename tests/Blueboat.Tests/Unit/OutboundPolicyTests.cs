using System.Net;
using Blueboat.Supervisor.Outbound;

namespace Blueboat.Tests.Unit;

public class OutboundPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("169.254.169.254")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("fd00::1")]
    [InlineData("64:ff9b::a00:1")]
    [InlineData("64:ff9b:1::a00:1")] // NAT64 for local use, to 10.0.0.1
    [InlineData("2002:a00:1::1")]    // 6to4 of 10.0.0.1
    [InlineData("fec0::1")]
    public void TheBoxAndItsNetworksAreRefusedByDefault(string address) =>
        Assert.False(OutboundPolicy.Default.Permits(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("2606:4700::1111")]
    public void PublicAddressesArePermitted(string address) =>
        Assert.True(OutboundPolicy.Default.Permits(IPAddress.Parse(address)));

    [Fact]
    public void AnAllowedRangeOpensOnlyThatRange()
    {
        var policy = new OutboundPolicy([IPNetwork.Parse("127.0.0.0/8")]);
        Assert.True(policy.Permits(IPAddress.Parse("127.0.0.1")));
        Assert.False(policy.Permits(IPAddress.Parse("10.0.0.1")));
    }
}
