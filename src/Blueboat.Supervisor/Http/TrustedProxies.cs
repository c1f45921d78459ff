using System.Net;

namespace Blueboat.Supervisor.Http;

/// <summary>
/// The addresses whose X-Blueboat-Metadata and X-Blueboat-Client-Ip headers are believed
/// (`--trusted-proxy CIDR`, repeatable). From anyone else those headers are removed unread.
/// </summary>
public sealed class TrustedProxies(IReadOnlyList<IPNetwork> networks)
{
    public static readonly TrustedProxies None = new([]);

    public IReadOnlyList<IPNetwork> Networks => networks;

    public static IPNetwork ParseCidr(string text)
    {
        if (IPNetwork.TryParse(text, out var net)) return net;
        if (IPAddress.TryParse(text, out var single)) return new IPNetwork(single, single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        throw new FormatException($"\"{text}\" is not an address or CIDR range (e.g. 10.0.0.0/8)");
    }

    public bool Contains(IPAddress? address)
    {
        if (address is null) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var n in networks)
            if (n.Contains(address)) return true;
        return false;
    }
}
