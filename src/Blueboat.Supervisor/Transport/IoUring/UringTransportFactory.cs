using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Blueboat.Supervisor.Transport.IoUring;

/// <summary>
/// Kestrel's connection transport over io_uring: each bound endpoint (an address, or a listening
/// socket handed over by systemd as a <see cref="FileHandleEndPoint"/>) gets a ring and its thread.
/// One ring thread per listener: on the 2-core machines we run on, a second ring thread only
/// competes with Kestrel's thread pool for the same cores.
/// </summary>
public sealed class IoUringTransportFactory(ILoggerFactory loggers) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private const int Backlog = 4096;
    private readonly ILogger logger = loggers.CreateLogger("Blueboat.Transport.IoUring");
    private readonly PinnedBlockPool pool = new();

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or FileHandleEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var socket = OpenListeningSocket(endpoint);
        try
        {
            var ring = RingThread.Start(entries: 1024, bufferCount: 1024, bufferSize: 8192, name: "io_uring " + socket.LocalEndPoint);
            return ValueTask.FromResult<IConnectionListener>(new UringListener(socket, ring, pool, logger));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static Socket OpenListeningSocket(EndPoint endpoint)
    {
        switch (endpoint)
        {
            case FileHandleEndPoint handle:
                // Already bound and listening (socket activation): take it over as it is.
                var inherited = new Socket(new SafeSocketHandle((nint)handle.FileHandle, ownsHandle: true));
                inherited.NoDelay = true;
                return inherited;
            case IPEndPoint ip:
                var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    if (ip.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
                    socket.NoDelay = true; // accepted sockets inherit it: no per-connection setsockopt
                    socket.Bind(ip);
                    socket.Listen(Backlog);
                    return socket;
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    socket.Dispose();
                    throw new AddressInUseException(e.Message, e);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            default:
                throw new NotSupportedException($"the io_uring transport cannot listen on {endpoint} ({endpoint.GetType().Name})");
        }
    }
}
