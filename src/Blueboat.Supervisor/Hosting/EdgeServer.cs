using System.Net;
using Blueboat.Supervisor.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Blueboat.Supervisor.Hosting;

/// <summary>
/// The supervisor's HTTP listener: Kestrel parses HTTP over a connection transport we choose
/// (the transport seam), and hands each request to <see cref="EdgeHttpApplication"/>.
/// </summary>
public sealed class EdgeServer(IPEndPoint endpoint, EdgeHttpApplication application) : IAsyncDisposable
{
    private KestrelServer? server;

    public async Task StartAsync(CancellationToken cancel)
    {
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = new ServiceCollection().BuildServiceProvider(),
        };
        options.Limits.MaxRequestBodySize = null; // the app layer enforces its own limit with a clear answer
        options.Listen(endpoint);

        IConnectionListenerFactory transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance);
        server = new KestrelServer(Options.Create(options), transport, NullLoggerFactory.Instance);
        await server.StartAsync(application, cancel).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancel)
    {
        if (server is not null) await server.StopAsync(cancel).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
            server.Dispose();
        }
    }
}
