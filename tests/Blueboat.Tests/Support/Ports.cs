using System.Net;
using System.Net.Sockets;

namespace Blueboat.Tests.Support;

public static class Ports
{
    /// <summary>A loopback port free right now (the kernel picks it).</summary>
    public static int Free()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
