using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Transport.IoUring;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blueboat.Supervisor.Transport;

/// <summary>The connection transports `serve --transport` offers.</summary>
public enum TransportKind { IoUring, Socket }

/// <summary>Picks the transport the HTTP listener runs on: io_uring where the kernel allows it, sockets otherwise.</summary>
public static class TransportSelector
{
    public static string Name(TransportKind kind) => kind == TransportKind.IoUring ? "io-uring" : "socket";

    /// <summary>
    /// The transport to use for <paramref name="requested"/>. When io_uring is asked for but cannot
    /// work here, logs one line saying why and returns the socket transport.
    /// </summary>
    public static (TransportKind Kind, Func<ILoggerFactory, IConnectionListenerFactory> Create) Choose(TransportKind requested, EdgeLog log)
    {
        if (requested == TransportKind.IoUring)
        {
            if (UringSupport.WhyUnavailable() is not { } why)
                return (TransportKind.IoUring, loggers => new IoUringTransportFactory(loggers));
            log.Warn($"io_uring transport unavailable: {why}; using the socket transport", ("transport", "socket"), ("reason", why));
        }
        return (TransportKind.Socket, Sockets);
    }

    public static IConnectionListenerFactory Sockets(ILoggerFactory loggers) =>
        new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggers);
}
