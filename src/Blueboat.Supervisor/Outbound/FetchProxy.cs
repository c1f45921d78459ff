using System.Net;
using System.Net.Sockets;
using Blueboat.Channel;
using Blueboat.Supervisor.Logging;

namespace Blueboat.Supervisor.Outbound;

/// <summary>
/// Performs fetch() for workers, which have no network: every connection (redirects included) is
/// checked against the <see cref="OutboundPolicy"/> before it is made, with connect and total
/// timeouts, a redirect limit and a response size cap.
/// </summary>
public sealed class FetchProxy : IDisposable
{
    public const int MaxRedirects = 10;
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(30);
    public const long MaxResponseBytes = 32L * 1024 * 1024;

    /// <summary>Fetch response bodies all workers' fetches may hold in the supervisor at once.</summary>
    public Memory.ByteBudget Budget { get; } = new(256L * 1024 * 1024);

    private readonly HttpClient follow;
    private readonly HttpClient manual;
    private readonly EdgeLog log;

    public FetchProxy(OutboundPolicy policy, EdgeLog log)
    {
        this.log = log;
        follow = new HttpClient(Handler(policy, allowRedirects: true)) { Timeout = Timeout.InfiniteTimeSpan };
        manual = new HttpClient(Handler(policy, allowRedirects: false)) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static SocketsHttpHandler Handler(OutboundPolicy policy, bool allowRedirects) => new()
    {
        AllowAutoRedirect = allowRedirects,
        MaxAutomaticRedirections = MaxRedirects,
        AutomaticDecompression = DecompressionMethods.All,
        ConnectTimeout = ConnectTimeout,
        UseCookies = false,
        UseProxy = false,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectCallback = async (context, cancel) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancel).ConfigureAwait(false);
            var permitted = addresses.Where(policy.Permits).ToArray();
            if (permitted.Length == 0)
                throw new OutboundDeniedException($"fetch to {host} is not allowed: {(addresses.Length == 0 ? "it has no address" : string.Join(", ", addresses.Select(a => a.ToString())) + " is a private, loopback or reserved address")}");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(permitted, context.DnsEndPoint.Port, cancel).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>
    /// Performs one fetch; its response body is counted in <paramref name="lease"/> (the server's
    /// and the worker's budgets), which the caller gives back once the body has been handed on.
    /// </summary>
    public async Task<FetchResponse> SendAsync(string app, FetchRequest request, Memory.BudgetLease lease)
    {
        if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            return FetchResponse.Failed($"fetch: unsupported URL {request.Url}");
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), uri);
        if (request.Body.Length > 0 || request.Method is "POST" or "PUT" or "PATCH")
            message.Content = new ByteArrayContent(request.Body);
        foreach (var (name, value) in request.Headers)
        {
            if (name is "host" or "content-length" or "transfer-encoding" or "connection") continue;
            if (!message.Headers.TryAddWithoutValidation(name, value))
                message.Content?.Headers.TryAddWithoutValidation(name, value);
        }
        using var timeout = new CancellationTokenSource(TotalTimeout);
        try
        {
            var client = request.Redirect == "follow" ? follow : manual;
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (request.Redirect == "error" && (int)response.StatusCode is >= 300 and < 400)
                return FetchResponse.Failed($"fetch: {request.Url} redirected and redirect is \"error\"");
            var body = await ReadCapped(response, lease, timeout.Token).ConfigureAwait(false);
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                var lower = name.ToLowerInvariant();
                if (lower is "content-encoding" or "content-length" or "transfer-encoding") continue; // the body is decoded
                foreach (var v in values) headers.Add(new(lower, v));
            }
            var final = response.RequestMessage?.RequestUri?.ToString() ?? request.Url;
            return new FetchResponse(null, (int)response.StatusCode, response.ReasonPhrase ?? "", final, final != uri.ToString(), headers, body);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or OutboundDeniedException or IOException or InvalidOperationException)
        {
            var reason = e switch
            {
                OperationCanceledException => $"fetch to {request.Url} timed out after {TotalTimeout.TotalSeconds:0} s",
                _ when e.InnerException is OutboundDeniedException denied => denied.Message,
                _ => $"fetch to {request.Url} failed: {e.Message}",
            };
            if (e is OutboundDeniedException || e.InnerException is OutboundDeniedException)
                log.Warn("fetch refused", ("app", app), ("url", request.Url), ("reason", reason));
            return FetchResponse.Failed(reason);
        }
    }

    private static async Task<byte[]> ReadCapped(HttpResponseMessage response, Memory.BudgetLease lease, CancellationToken cancel)
    {
        if (response.Content.Headers.ContentLength > MaxResponseBytes) throw new ResponseTooLargeException();
        await using var stream = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancel).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > MaxResponseBytes) throw new ResponseTooLargeException();
            if (!lease.TryGrow(n)) throw new FetchMemoryExhaustedException();
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    public void Dispose()
    {
        follow.Dispose();
        manual.Dispose();
    }

    private sealed class OutboundDeniedException(string message) : IOException(message);

    private sealed class ResponseTooLargeException() : IOException($"the response is larger than {MaxResponseBytes / (1024 * 1024)} MiB");

    private sealed class FetchMemoryExhaustedException() : IOException("too many fetch responses are held in memory at once (this app's or the server's share); try again");
}
