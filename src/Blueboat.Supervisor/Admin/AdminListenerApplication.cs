using System.Text;
using Blueboat.Supervisor.Metrics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace Blueboat.Supervisor.Admin;

/// <summary>
/// What the admin listener (loopback or a Unix socket only) answers: `GET /metrics` for anyone who
/// can reach it, as Prometheus scrapers expect, and everything else through the token-guarded admin
/// API when one is configured (a store and --admin-token-file), 404 otherwise.
/// </summary>
public sealed class AdminListenerApplication(EdgeMetrics metrics, AdminHttpApplication? api) : IHttpApplication<IFeatureCollection>
{
    public const string MetricsPath = "/metrics";

    /// <summary>The pre-started workers, when the server keeps a pool.</summary>
    public Workers.WorkerPool? Pool { get; init; }

    public IFeatureCollection CreateContext(IFeatureCollection contextFeatures) => contextFeatures;

    public void DisposeContext(IFeatureCollection context, Exception? exception) { }

    public async Task ProcessRequestAsync(IFeatureCollection features)
    {
        var request = features.GetRequiredFeature<IHttpRequestFeature>();
        if (request.Path == MetricsPath && request.Method is "GET" or "HEAD")
        {
            await Text(features, 200, PrometheusText.ContentType, PrometheusText.Write(metrics, Pool?.Idle.Count)).ConfigureAwait(false);
            return;
        }
        if (api is not null)
        {
            await api.ProcessRequestAsync(features).ConfigureAwait(false);
            return;
        }
        await Text(features, 404, "text/plain; charset=utf-8",
            "this admin listener serves /metrics only; the admin API needs a store and --admin-token-file").ConfigureAwait(false);
    }

    private static async Task Text(IFeatureCollection features, int status, string contentType, string text)
    {
        var response = features.GetRequiredFeature<IHttpResponseFeature>();
        var bytes = Encoding.UTF8.GetBytes(text);
        response.StatusCode = status;
        response.Headers.ContentType = contentType;
        response.Headers.ContentLength = bytes.Length;
        await features.GetRequiredFeature<IHttpResponseBodyFeature>().Writer.WriteAsync(bytes).ConfigureAwait(false);
    }
}
