using System.Net;
using System.Net.Sockets;

namespace Blueboat.Supervisor.Outbound;

/// <summary>
/// Which addresses app code may reach through fetch. By default everything public: loopback,
/// link-local, private, shared (CGNAT), multicast and unspecified ranges are refused, so an app
/// cannot reach the box's own services or its network; `--fetch-allow CIDR` opens a range.
/// </summary>
public sealed class OutboundPolicy(IReadOnlyList<IPNetwork> allowed)
{
    private static readonly IPNetwork[] Denied =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"), IPNetwork.Parse("64:ff9b::/96"),
        // NAT64 for local use and 6to4 embed an IPv4 address that may be private; site-local is the old fc00::/7
        IPNetwork.Parse("64:ff9b:1::/48"), IPNetwork.Parse("2002::/16"), IPNetwork.Parse("fec0::/10"),
    ];

    public static readonly OutboundPolicy Default = new([]);

    public bool Permits(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var n in allowed) if (n.Contains(address)) return true;
        foreach (var n in Denied) if (n.Contains(address)) return false;
        return address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;
    }
}
