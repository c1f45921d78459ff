using System.Buffers;
using System.Diagnostics;
using System.Text;
using Blueboat.Channel;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Workers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Blueboat.Supervisor.Http;

/// <summary>
/// Where every HTTP request enters: the health check, header policy, the hand-off to the app's
/// worker, and the platform's own error answers. Kestrel parses HTTP; this never runs app code.
/// </summary>
public sealed class EdgeHttpApplication(IAppResolver apps, EdgeLog log, EdgeHttpOptions options, TrustedProxies proxies, Metrics.EdgeMetrics? metrics = null) : IHttpApplication<IFeatureCollection>
{
    private readonly Metrics.EdgeMetrics metrics = metrics ?? new();

    /// <summary>Takes reloaded settings (SIGHUP); requests already running keep the ones they started with.</summary>
    public void Reconfigure(EdgeHttpOptions newOptions, TrustedProxies newProxies)
    {
        options = newOptions;
        proxies = newProxies;
    }

    public const string HealthPath = "/_blueboat/health";

    public IFeatureCollection CreateContext(IFeatureCollection contextFeatures) => contextFeatures;

    public void DisposeContext(IFeatureCollection context, Exception? exception) { }

    public async Task ProcessRequestAsync(IFeatureCollection features)
    {
        var request = features.GetRequiredFeature<IHttpRequestFeature>();
        var response = features.GetRequiredFeature<IHttpResponseFeature>();
        var responseBody = features.GetRequiredFeature<IHttpResponseBodyFeature>();

        if (request.Path == HealthPath)
        {
            await WriteText(response, responseBody, 200, "OK").ConfigureAwait(false);
            return;
        }

        var tally = metrics.RequestStarted();
        try
        {
            await HandleAsync(features, request, response, responseBody, tally).ConfigureAwait(false);
        }
        finally
        {
            metrics.RequestFinished(tally, response.StatusCode, response.Headers.ContentLength ?? 0);
        }
    }

    private async Task HandleAsync(IFeatureCollection features, IHttpRequestFeature request, IHttpResponseFeature response, IHttpResponseBodyFeature responseBody, Metrics.EdgeMetrics.Tally tally)
    {
        var started = Stopwatch.GetTimestamp();

        var requestId = BlueboatHeaders.ChooseRequestId(request.Headers[BlueboatHeaders.RequestId].ToString());
        response.Headers[BlueboatHeaders.RequestId] = requestId;

        var host = request.Headers.Host.ToString();
        var remote = features.Get<IHttpConnectionFeature>()?.RemoteIpAddress;
        var fromTrustedProxy = proxies.Contains(remote);
        var metadataKey = fromTrustedProxy && request.Headers[BlueboatHeaders.Metadata].ToString() is { Length: > 0 } k ? k : null;
        var aborted = features.Get<IHttpRequestLifetimeFeature>()?.RequestAborted ?? CancellationToken.None;
        var route = await apps.ResolveAsync(host, metadataKey, aborted).ConfigureAwait(false);
        if (route.App is not { } app)
        {
            await WriteText(response, responseBody, route.Status, route.Message).ConfigureAwait(false);
            return;
        }
        using var lease = route.Lease;
        tally.App = app.App.Name;
        if (app.InFlight > app.Limits.MaxConcurrentRequests)
        {
            await WriteText(response, responseBody, 503, $"app {app.App.Name} is at its limit of {app.Limits.MaxConcurrentRequests} concurrent requests").ConfigureAwait(false);
            return;
        }

        byte[]? body = null;
        var bodyLength = 0;
        using var bodyLease = new Memory.BudgetLease(requestBodies, app.RequestBodies);
        try
        {
            var maxRequestBody = app.Limits.MaxRequestBody ?? options.MaxRequestBodyBytes; // the app's own cap, else the server's
            var outcome = BodyOutcome.Read;
            try
            {
                // Kestrel knows from the framing when there is no body (most GETs): nothing to read then.
                if (features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true)
                    (body, bodyLength, outcome) = await ReadBodyAsync(request.Body, maxRequestBody, bodyLease).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Microsoft.AspNetCore.Connections.ConnectionResetException || (e is IOException && aborted.IsCancellationRequested))
            {
                // The client went away mid-body. Kestrel's body reader is left mid-read: without an
                // abort, Kestrel would try to drain it after us and log an error for every such client.
                features.Get<IHttpRequestLifetimeFeature>()?.Abort();
                return;
            }
            catch (Exception e) when (e is BadHttpRequestException or IOException or OverflowException)
            {
                // Malformed framing (a bad chunk size, a trailer flood): the client's mistake, not ours.
                await WriteText(response, responseBody, e is BadHttpRequestException bad ? bad.StatusCode : 400, $"malformed request body (request id {requestId})").ConfigureAwait(false);
                return;
            }
            tally.BytesIn = bodyLength;
            if (outcome == BodyOutcome.TooLarge)
            {
                await WriteText(response, responseBody, 413, $"request body exceeds {maxRequestBody} bytes").ConfigureAwait(false);
                return;
            }
            if (outcome == BodyOutcome.NoMemory)
            {
                log.Warn("request body refused: too many large bodies in flight", ("app", app.App.Name), ("request_id", requestId));
                await WriteText(response, responseBody, 503, $"too many large request bodies are in flight for this app or server; try again (request id {requestId})").ConfigureAwait(false);
                return;
            }

            var head = BuildHead(request, remote, fromTrustedProxy, host, requestId);
            WorkerProcess worker;
            try
            {
                worker = await app.GetWorkerAsync().ConfigureAwait(false);
            }
            catch (AppInitException e)
            {
                await WriteText(response, responseBody, 503, $"app {app.App.Name} failed to start: {e.Message}").ConfigureAwait(false);
                return;
            }

            WorkerResponse answer;
            try
            {
                answer = await worker.HandleAsync(head, body.AsMemory(0, bodyLength), app.Limits.WallPerRequest, aborted).ConfigureAwait(false);
            }
            catch (WorkerExitedException e)
            {
                log.Warn("request lost with its worker", ("app", app.App.Name), ("request_id", requestId), ("error", e.Message));
                await WriteText(response, responseBody, 502, $"the app's worker exited while handling this request (request id {requestId})").ConfigureAwait(false);
                return;
            }
            catch (ResponseTooLargeException e)
            {
                log.Warn("app response exceeded its body limit", ("app", app.App.Name), ("request_id", requestId), ("limit_bytes", e.Limit));
                await WriteText(response, responseBody, 502, $"the app's response body exceeds {e.Limit} bytes (request id {requestId})").ConfigureAwait(false);
                return;
            }
            catch (WallTimeExceededException)
            {
                log.Warn("request exceeded its wall time", ("app", app.App.Name), ("request_id", requestId), ("limit_ms", app.Limits.WallPerRequest.TotalMilliseconds));
                await WriteText(response, responseBody, 504, $"the app did not answer within {app.Limits.WallPerRequest.TotalMilliseconds:0} ms (request id {requestId})").ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException)
            {
                return; // the client went away
            }

            await WriteAnswer(response, responseBody, answer, Stopwatch.GetElapsedTime(started), app.App.Name, requestId).ConfigureAwait(false);
        }
        finally
        {
            if (body is not null && body.Length <= PooledBodyBytes) ArrayPool<byte>.Shared.Return(body);
        }
    }

    private static RequestHead BuildHead(IHttpRequestFeature request, System.Net.IPAddress? remote, bool fromTrustedProxy, string host, string requestId)
    {
        var headers = new List<KeyValuePair<string, string>>(request.Headers.Count + 1);
        string? proxyClientIp = null;
        foreach (var (name, values) in request.Headers)
        {
            if (BlueboatHeaders.IsStrippedFromRequest(name)) continue;
            if (BlueboatHeaders.IsProxyOnly(name))
            {
                if (!fromTrustedProxy) continue; // from anyone else, never believed and never shown
                if (name.Equals(BlueboatHeaders.ClientIp, StringComparison.OrdinalIgnoreCase)) proxyClientIp = values.ToString();
            }
            if (name.Equals(BlueboatHeaders.RequestId, StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var value in values) headers.Add(new(name.ToLowerInvariant(), value ?? ""));
        }
        headers.Add(new(BlueboatHeaders.RequestId, requestId));

        var target = request.RawTarget;
        if (string.IsNullOrEmpty(target) || target[0] != '/') target = request.PathBase + request.Path + request.QueryString;
        var url = "https://" + (host.Length > 0 ? host : "nohost") + target;
        var clientIp = proxyClientIp ?? remote?.ToString() ?? "";
        return new RequestHead(request.Method, url, requestId, clientIp, headers);
    }

    private async Task WriteAnswer(IHttpResponseFeature response, IHttpResponseBodyFeature body, WorkerResponse answer, TimeSpan latency, string app, string requestId)
    {
        var head = answer.Head;
        if (head.Status is < 200 or > 599)
        {
            log.Error("app worker sent an invalid status", ("app", app), ("request_id", requestId), ("status", head.Status));
            await WriteText(response, body, 500, $"the app returned an invalid response (request id {requestId})").ConfigureAwait(false);
            return;
        }
        try
        {
            response.StatusCode = head.Status;
            long headBytes = 0;
            foreach (var (name, value) in head.Headers)
            {
                headBytes += name.Length + value.Length + 4;
                if (headBytes > MaxResponseHeadBytes)
                    throw new InvalidOperationException($"its headers exceed {MaxResponseHeadBytes} bytes");
            }
            // Straight into Kestrel's headers (no dictionary of our own per response): the request id
            // is the only header set before, and apps cannot set x-blueboat-*, so every name here is new
            // or the app's own repeat (Set-Cookie), whose lines are kept apart.
            var headers = response.Headers;
            foreach (var (name, value) in head.Headers)
            {
                if (BlueboatHeaders.IsStrippedFromResponse(name)) continue;
                if (name.Equals("content-length", StringComparison.OrdinalIgnoreCase) || name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)) continue;
                headers[name] = headers.TryGetValue(name, out var existing) ? StringValues.Concat(existing, value) : new StringValues(value);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            log.Error("app returned an invalid response head", ("app", app), ("request_id", requestId), ("error", e.Message));
            response.Headers.Clear();
            response.Headers[BlueboatHeaders.RequestId] = requestId;
            await WriteText(response, body, 500, $"the app returned an invalid response (request id {requestId})").ConfigureAwait(false);
            return;
        }
        response.Headers[BlueboatHeaders.HandleLatency] = BlueboatHeaders.Milliseconds(latency);
        response.Headers[BlueboatHeaders.BusyDuration] = BlueboatHeaders.Milliseconds(TimeSpan.FromMicroseconds(head.BusyMicroseconds));
        if (head.Status is 204 or 304 || (head.Status < 200 && head.Status >= 100)) return; // no body, no length
        response.Headers.ContentLength = answer.Body.Length;
        if (answer.Body.Length > 0) await body.Writer.WriteAsync(answer.Body).ConfigureAwait(false);
    }

    private static async Task WriteText(IHttpResponseFeature response, IHttpResponseBodyFeature body, int status, string text)
    {
        response.StatusCode = status;
        response.Headers.ContentType = "text/plain; charset=utf-8";
        var bytes = Encoding.UTF8.GetBytes(text);
        response.Headers.ContentLength = bytes.Length;
        await body.Writer.WriteAsync(bytes).ConfigureAwait(false);
    }

    /// <summary>
    /// Request bodies up to this size use pooled buffers; larger ones are plain arrays the GC takes
    /// back, since the shared pool would keep every large buffer it ever lent.
    /// </summary>
    private const int PooledBodyBytes = 1024 * 1024;

    /// <summary>The largest response head an app may send (clients commonly give up past 64-100 KB).</summary>
    private const int MaxResponseHeadBytes = 64 * 1024;

    /// <summary>Request body bytes all requests may hold in the supervisor at once.</summary>
    private readonly Memory.ByteBudget requestBodies = new(512L * 1024 * 1024);

    private enum BodyOutcome { Read, TooLarge, NoMemory }

    /// <summary>
    /// Reads the whole body, counting its buffer in <paramref name="lease"/>; the buffer is null
    /// when the body exceeds <paramref name="limit"/> or the budgets are spent.
    /// </summary>
    private static async Task<(byte[]? Buffer, int Length, BodyOutcome Outcome)> ReadBodyAsync(Stream stream, long limit, Memory.BudgetLease lease)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                var size = (int)Math.Min((long)buffer.Length * 2, Math.Min(Array.MaxLength, limit + 1));
                if (!lease.TryGrow(size - lease.Held))
                {
                    Give(buffer);
                    return (null, 0, BodyOutcome.NoMemory);
                }
                var bigger = size <= PooledBodyBytes ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
                buffer.AsSpan(0, length).CopyTo(bigger);
                Give(buffer);
                buffer = bigger;
            }
            int n;
            try { n = await stream.ReadAsync(buffer.AsMemory(length)).ConfigureAwait(false); }
            catch
            {
                Give(buffer);
                throw;
            }
            if (n == 0) return (buffer, length, BodyOutcome.Read);
            length += n;
            if (length > limit)
            {
                Give(buffer);
                return (null, 0, BodyOutcome.TooLarge);
            }
        }

        static void Give(byte[] buffer)
        {
            if (buffer.Length <= PooledBodyBytes) ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

public sealed record EdgeHttpOptions(long MaxRequestBodyBytes);
