using System.Net;
using Blueboat.Supervisor.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Blueboat.Supervisor.Logging;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blueboat.Supervisor.Hosting;

/// <summary>
/// The supervisor's HTTP listener: Kestrel parses HTTP over a connection transport we choose
/// (the transport seam), and hands each request to <see cref="EdgeHttpApplication"/>.
/// </summary>
public sealed class EdgeServer(Action<KestrelServerOptions> listen, IHttpApplication<Microsoft.AspNetCore.Http.Features.IFeatureCollection> application, EdgeLog log) : IAsyncDisposable
{
    private KestrelServer? server;

    /// <summary>How long a client may take to send a request's head (slow-loris defence).</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The connection transport (default: sockets); see Transport/TransportSelector.</summary>
    public Func<ILoggerFactory, IConnectionListenerFactory>? Transport { get; init; }

    /// <summary>The addresses actually bound (a port of 0 becomes the one the kernel chose).</summary>
    public IReadOnlyCollection<string> Addresses =>
        server?.Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    public async Task StartAsync(CancellationToken cancel)
    {
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            // Kestrel reads request header values as UTF-8; an app's header values go out the same
            // way (by default Kestrel refuses any non-ASCII value), so a header echoed keeps its bytes.
            ResponseHeaderEncodingSelector = static _ => System.Text.Encoding.UTF8,
            ApplicationServices = new ServiceCollection().BuildServiceProvider(),
        };
        options.Limits.MaxRequestBodySize = null; // the app layer enforces its own limit with a clear answer
        // Hostile clients: header floods and oversized heads get 431, slow heads are cut off.
        options.Limits.MaxRequestHeaderCount = 100;
        options.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        options.Limits.MaxRequestLineSize = 16 * 1024;
        options.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
        options.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(75);
        listen(options);

        var loggers = new EdgeLoggerFactory(log);
        IConnectionListenerFactory transport = Transport?.Invoke(loggers) ?? new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggers);
        server = new KestrelServer(Options.Create(options), transport, loggers);
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
