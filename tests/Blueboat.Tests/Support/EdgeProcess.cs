using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Blueboat.Tests.Support;

/// <summary>
/// A running blueboat-edge server (the AOT binary) on a free loopback port, with its log lines
/// collected and a client pointed at it.
/// </summary>
public sealed class EdgeProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> stdout = new();
    private readonly ConcurrentQueue<string> stderr = new();

    public int Port { get; }
    public int Pid => process.Id;
    public HttpClient Http { get; }
    public Uri BaseUri { get; }

    private EdgeProcess(Process process, int port, string host = "127.0.0.1")
    {
        this.process = process;
        Port = port;
        BaseUri = new Uri($"http://{host}:{port}/");
        Http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Names the transport every started server uses (`--transport`), unless a test picks one itself.</summary>
    public const string TransportVariable = "BLUEBOAT_EDGE_TEST_TRANSPORT";

    public static EdgeProcess Start(params string[] args) => StartWith(null, args);

    /// <summary>Starts the server with extra environment variables (the binary's test switches).</summary>
    public static EdgeProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        StartWith(psi => { foreach (var (name, value) in environment) psi.Environment[name] = value; }, args);

    /// <summary>Serves on another loopback host (e.g. "[::1]").</summary>
    public static EdgeProcess StartOn(string host, params string[] args) => Start(host, null, args);

    /// <summary>Starts the server with <paramref name="configure"/> applied to its start info (environment, working directory).</summary>
    public static EdgeProcess StartWith(Action<ProcessStartInfo>? configure, params string[] args) => Start("127.0.0.1", configure, args);

    private static EdgeProcess Start(string host, Action<ProcessStartInfo>? configure, string[] args)
    {
        if (!File.Exists(TestPaths.Binary))
            throw new InvalidOperationException($"{TestPaths.Binary} is missing: run `make build` first (end-to-end tests drive the AOT binary)");
        var port = Ports.Free();
        var psi = new ProcessStartInfo(TestPaths.Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        S3Server.Credentials(psi.Environment);
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add("-l");
        psi.ArgumentList.Add($"{host}:{port}");
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (Environment.GetEnvironmentVariable(TransportVariable) is { Length: > 0 } transport && !args.Contains("--transport"))
        {
            psi.ArgumentList.Add("--transport");
            psi.ArgumentList.Add(transport);
        }
        configure?.Invoke(psi);
        return Follow(new EdgeProcess(Process.Start(psi)!, port, host));
    }

    /// <summary>Collects the server's output and waits until it serves.</summary>
    private static EdgeProcess Follow(EdgeProcess edge)
    {
        var p = edge.process;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) edge.stdout.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) edge.stderr.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        edge.WaitUntilServing();
        return edge;
    }

    private void WaitUntilServing()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"server exited with {process.ExitCode}: {string.Join("\n", stderr)}");
            try
            {
                using var r = Http.GetAsync("_blueboat/health").GetAwaiter().GetResult();
                if (r.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            Thread.Sleep(20);
        }
        throw new TimeoutException("server did not start serving within 15 s");
    }

    /// <summary>Wraps an already started process (e.g. under systemd-socket-activate) serving on <paramref name="port"/>.</summary>
    public static EdgeProcess Attach(Process p, int port) => Follow(new EdgeProcess(p, port));

    /// <summary>Sends a signal (SIGTERM 15, SIGHUP 1, ...) to the server.</summary>
    public void Signal(int signal)
    {
        if (Kill(process.Id, signal) != 0) throw new InvalidOperationException($"kill({process.Id}, {signal}) failed");
    }

    /// <summary>The exit code, once the server exits within <paramref name="timeout"/>; null if it is still running.</summary>
    public int? WaitForExit(TimeSpan timeout) => process.WaitForExit(timeout) ? process.ExitCode : null;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public IReadOnlyList<string> StdoutLines => stdout.ToArray();
    public string Stderr => string.Join("\n", stderr);
    public bool HasExited => process.HasExited;

    /// <summary>Log records (JSON lines on stdout) so far.</summary>
    public List<JsonElement> Logs()
    {
        var list = new List<JsonElement>();
        foreach (var line in stdout)
        {
            try { list.Add(JsonDocument.Parse(line).RootElement.Clone()); }
            catch (JsonException) { }
        }
        return list;
    }

    public JsonElement WaitForLog(Func<JsonElement, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            foreach (var log in Logs()) if (match(log)) return log;
            Thread.Sleep(20);
        }
        throw new TimeoutException("no matching log line; log was:\n" + string.Join("\n", stdout));
    }

    /// <summary>The server's app workers (bound to an app): its children, found through /proc, by the name a worker takes once its app is loaded.</summary>
    public List<int> WorkerPids() => ProcFs.Children(Pid).Where(pid => ProcFs.CommandLine(pid).Contains("__worker") && ProcFs.Comm(pid) == "blueboat-app").ToList();

    /// <summary>The server's idle pre-started workers (bound to no app yet).</summary>
    public List<int> PoolWorkerPids() => ProcFs.Children(Pid).Where(pid => ProcFs.CommandLine(pid).Contains("__worker") && ProcFs.Comm(pid) == "blueboat-idle").ToList();

    public int SingleWorkerPid()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            var pids = WorkerPids();
            if (pids.Count == 1) return pids[0];
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"expected one worker, found {pids.Count}");
            Thread.Sleep(20);
        }
    }


    private bool disposed;

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Http.Dispose();
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        process.Dispose();
    }

    /// <summary>Runs the binary to completion (for usage and start-up errors).</summary>
    public static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(TestPaths.Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        S3Server.Credentials(psi.Environment);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(20_000))
        {
            p.Kill(true);
            throw new TimeoutException("blueboat-edge " + string.Join(' ', args) + " did not exit");
        }
        return (p.ExitCode, outTask.Result, errTask.Result);
    }
}

/// <summary>Reads process facts from /proc.</summary>
public static class ProcFs
{
    public static IEnumerable<int> Children(int parent)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (int.Parse(fields[1]) == parent && fields[0] != "Z") yield return pid;
        }
    }

    /// <summary>The process's name (its main thread's), as ps shows it.</summary>
    public static string Comm(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
        catch (IOException) { return ""; }
    }

    public static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
    }

    /// <summary>User-mode CPU time of a process, in clock ticks.</summary>
    public static long UserTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11]);
    }

    public static bool Exists(int pid) => Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");

    public static long RssKb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return 0;
    }
}
