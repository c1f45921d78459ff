using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Blueboat.Tests.Support;

/// <summary>
/// A real S3-compatible server (npm s3rver, installed by `make test-tools`) on a free loopback
/// port, with one bucket, for the tests that run against S3.
/// </summary>
public sealed class S3Server : IDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    public const string Bucket = "blueboat-test";

    private readonly Process process;
    private readonly TempDir data = new();

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public S3Server()
    {
        var bin = Path.Combine(TestPaths.RepoRoot, "tests", "tools", "node_modules", "s3rver", "bin", "s3rver.js");
        if (!File.Exists(bin)) throw new InvalidOperationException($"{bin} is missing: run `make test-tools`");
        Port = Ports.Free();
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { bin, "--address", "127.0.0.1", "--port", Port.ToString(), "--directory", data.Path, "--silent", "--configure-bucket", Bucket })
            psi.ArgumentList.Add(a);
        process = Process.Start(psi)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                Thread.Sleep(200); // the bucket is configured right after the port opens
                return;
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        throw new TimeoutException("s3rver did not start");
    }

    /// <summary>The store flags a command line uses for this server.</summary>
    public string[] Flags => ["--s3-bucket", Bucket, "--s3-region", "us-east-1", "--s3-endpoint", Endpoint];

    /// <summary>Environment for a process that talks to this server (the standard AWS variables).</summary>
    public static void Credentials(IDictionary<string, string?> env)
    {
        env["AWS_ACCESS_KEY_ID"] = AccessKey;
        env["AWS_SECRET_ACCESS_KEY"] = SecretKey;
        env["AWS_EC2_METADATA_DISABLED"] = "true";
    }


    public void Dispose()
    {
        if (!process.HasExited) { process.Kill(entireProcessTree: true); process.WaitForExit(5000); }
        process.Dispose();
        data.Dispose();
    }
}
