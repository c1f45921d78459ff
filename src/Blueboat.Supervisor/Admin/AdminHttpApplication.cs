using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Blueboat.Apps;
using Blueboat.Store;
using Blueboat.Supervisor.Logging;
using Blueboat.Supervisor.Tenancy;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Blueboat.Supervisor.Admin;

/// <summary>
/// The admin endpoint (off by default; loopback or a Unix socket; bearer token): health, the apps
/// and their workers, deploy and rollback, so a control plane can drive a fleet of boxes.
/// </summary>
public sealed class AdminHttpApplication(StoreAppResolver apps, byte[] token, EdgeLog log) : IHttpApplication<IFeatureCollection>
{
    /// <summary>The pre-started workers, listed apart from the apps (they belong to none).</summary>
    public Workers.WorkerPool? Pool { get; init; }

    public IFeatureCollection CreateContext(IFeatureCollection contextFeatures) => contextFeatures;

    public void DisposeContext(IFeatureCollection context, Exception? exception) { }

    public async Task ProcessRequestAsync(IFeatureCollection features)
    {
        var request = features.GetRequiredFeature<IHttpRequestFeature>();
        var response = features.GetRequiredFeature<IHttpResponseFeature>();
        var body = features.GetRequiredFeature<IHttpResponseBodyFeature>();

        if (!Authorized(request.Headers.Authorization.ToString()))
        {
            response.Headers.WWWAuthenticate = "Bearer";
            await Json(response, body, 401, w => w.WriteString("error", "a valid bearer token is required")).ConfigureAwait(false);
            return;
        }

        var path = request.Path.Trim('/').Split('/');
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(request.QueryString);
        try
        {
            switch (request.Method, path)
            {
                case ("GET", ["health"]):
                    await Json(response, body, 200, w => { w.WriteString("status", "ok"); w.WriteNumber("app_versions", apps.Versions.Count); w.WriteNumber("idle_workers", Pool?.Idle.Count ?? 0); }).ConfigureAwait(false);
                    return;
                case ("GET", ["apps"]):
                    await ListApps(response, body).ConfigureAwait(false);
                    return;
                case ("POST", ["apps", var name, "deploy"]):
                {
                    var tar = new MemoryStream();
                    var chunk = new byte[81920];
                    int n;
                    while ((n = await request.Body.ReadAsync(chunk).ConfigureAwait(false)) > 0)
                    {
                        tar.Write(chunk, 0, n);
                        if (tar.Length > AppPackage.MaxTotalBytes + (1 << 20))
                        {
                            await Json(response, body, 413, w => w.WriteString("error", $"a package is at most {AppPackage.MaxTotalBytes / (1024 * 1024)} MiB")).ConfigureAwait(false);
                            return;
                        }
                    }
                    var package = TarPackageReader.Read(new MemoryStream(tar.ToArray()), $"deploy of {name}");
                    var env = new Dictionary<string, string>();
                    foreach (var pair in query.TryGetValue("env", out var envs) ? envs.ToArray() : [])
                    {
                        var eq = pair?.IndexOf('=') ?? -1;
                        if (eq <= 0) throw new StoreException($"env \"{pair}\" is not K=V");
                        env[pair![..eq]] = pair[(eq + 1)..];
                    }
                    var hosts = query.TryGetValue("host", out var h) ? h.Where(x => x is not null).Select(x => x!).ToList() : [];
                    var deployed = await apps.Catalog.DeployAsync(name, package, env, hosts).ConfigureAwait(false);
                    log.Info("deployed through the admin endpoint", ("app", name), ("version", deployed.Version));
                    await Json(response, body, 200, w => { w.WriteString("app", name); w.WriteString("version", deployed.Version); w.WriteString("package", deployed.Package); }).ConfigureAwait(false);
                    return;
                }
                case ("POST", ["apps", var name, "rollback"]):
                {
                    var version = query.TryGetValue("version", out var v) ? v.ToString() : null;
                    var target = await apps.Catalog.RollbackAsync(name, string.IsNullOrEmpty(version) ? null : version).ConfigureAwait(false);
                    log.Info("rolled back through the admin endpoint", ("app", name), ("version", target.Version));
                    await Json(response, body, 200, w => { w.WriteString("app", name); w.WriteString("version", target.Version); }).ConfigureAwait(false);
                    return;
                }
                default:
                    await Json(response, body, 404, w => w.WriteString("error", $"no admin endpoint {request.Method} {request.Path}")).ConfigureAwait(false);
                    return;
            }
        }
        catch (Exception e) when (e is StoreException or AppLoadException)
        {
            var status = e.Message.Contains("is not deployed", StringComparison.Ordinal) ? 404 : 400;
            await Json(response, body, status, w => w.WriteString("error", e.Message)).ConfigureAwait(false);
        }
    }

    private bool Authorized(string header)
    {
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.Ordinal)) return false;
        var presented = Encoding.UTF8.GetBytes(header[prefix.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, token);
    }

    private async Task ListApps(IHttpResponseFeature response, IHttpResponseBodyFeature body)
    {
        var deployed = await apps.Catalog.ListAsync().ConfigureAwait(false);
        await Json(response, body, 200, w =>
        {
            w.WriteStartArray("running");
            foreach (var (key, host, isLive) in apps.Versions.OrderBy(v => v.MetadataKey, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("app", host.App.Name);
                w.WriteString("metadata_key", key);
                w.WriteString("version", host.App.Version);
                w.WriteBoolean("live", isLive);
                w.WriteNumber("in_flight", host.InFlight);
                w.WriteString("last_use", host.LastUsed.ToString("O"));
                if (host.CurrentWorker is { } worker && worker.IsAlive)
                {
                    w.WriteStartObject("worker");
                    w.WriteNumber("pid", worker.Pid);
                    w.WriteNumber("requests_served", worker.RequestsServed);
                    w.WriteNumber("rss_bytes", ProcessMemory.RssBytes(worker.Pid));
                    w.WriteString("started_at", worker.StartedAt.ToString("O"));
                    w.WriteEndObject();
                }
                else w.WriteNull("worker");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("pool");
            w.WriteNumber("size", Pool?.Size ?? 0);
            w.WriteStartArray("idle");
            foreach (var worker in Pool?.Idle ?? [])
            {
                w.WriteStartObject();
                w.WriteNumber("pid", worker.Pid);
                w.WriteNumber("rss_bytes", ProcessMemory.RssBytes(worker.Pid));
                w.WriteString("started_at", worker.StartedAt.ToString("O"));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("deployed");
            foreach (var app in deployed)
            {
                w.WriteStartObject();
                w.WriteString("app", app.Name);
                w.WriteString("version", app.Live?.Version);
                w.WriteStartArray("hosts");
                foreach (var h in app.Hosts) w.WriteStringValue(h);
                w.WriteEndArray();
                w.WriteNumber("versions", app.History.Versions.Count);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static async Task Json(IHttpResponseFeature response, IHttpResponseBodyFeature body, int status, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        response.StatusCode = status;
        response.Headers.ContentType = "application/json";
        response.Headers.ContentLength = buffer.Length;
        await body.Writer.WriteAsync(buffer.ToArray()).ConfigureAwait(false);
    }
}

/// <summary>Reads a process's resident memory from /proc.</summary>
public static class ProcessMemory
{
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
