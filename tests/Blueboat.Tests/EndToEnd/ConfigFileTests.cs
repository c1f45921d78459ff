using System.Net;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>serve --config: every flag can be set in the file, the command line wins, errors name the file and line.</summary>
public class ConfigFileTests
{
    private static readonly string Inspect = TestPaths.App("inspect");

    [Fact]
    public async Task FileSettingsApplyAndTheCommandLineWins()
    {
        using var dir = new TempDir();
        var config = dir.Write("edge.conf", $"""
            # served app and a tiny body limit
            app = {Inspect}

            max-request-body = 10
            trusted-proxy = 10.0.0.0/8
            trusted-proxy = 192.168.0.0/16
            """);
        var body = new string('x', 50);

        using (var fromFile = EdgeProcess.Start("--config", config))
        {
            using var r = await fromFile.Http.PostAsync("size", new StringContent(body));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        }
        using (var overridden = EdgeProcess.Start("--config", config, "--max-request-body", "1000"))
        {
            using var r = await overridden.Http.PostAsync("size", new StringContent(body));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("50", await r.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task ASwitchIsItsNameAlone()
    {
        using var dir = new TempDir();
        var config = dir.Write("edge.conf", $"app = {Inspect}\ndangerously-disable-seccomp\n");
        using var edge = EdgeProcess.Start("--config", config);
        using var r = await edge.Http.GetAsync("/");
        edge.WaitForLog(l => l.GetProperty("msg").GetString()!.Contains("seccomp is disabled"));
    }

    [Fact]
    public async Task WorkersRunAsTheConfiguredUser()
    {
        Assert.True(Environment.UserName == "root", "the test machine runs the tests as root (workers change user only then)");
        var daemon = File.ReadLines("/etc/passwd").Select(l => l.Split(':')).Single(f => f[0] == "daemon");
        using var dir = new TempDir();
        var config = dir.Write("edge.conf", $"app = {Inspect}\nworker-user = daemon\n");
        using var edge = EdgeProcess.Start("--config", config);
        (await edge.Http.GetAsync("/")).Dispose();
        var uid = File.ReadLines($"/proc/{edge.SingleWorkerPid()}/status").Single(l => l.StartsWith("Uid:")).Split('\t')[1];
        Assert.Equal(daemon[2], uid);

        var (exit, _, stderr) = EdgeProcess.Run("serve", "--config", config, "-l", "127.0.0.1:1", "--worker-user", "no-such-user");
        Assert.Equal(1, exit);
        Assert.Contains("--worker-user: no user named \"no-such-user\"", stderr);
    }

    [Theory]
    [InlineData("app = .\nfrobnicate = 1\n", 2, "unknown flag --frobnicate")]
    [InlineData("cpu-limit-ms = soon\n", 1, "--cpu-limit-ms: \"soon\" is not a number")]
    [InlineData("app = a\n# again\napp = b\n", 3, "app is already set on line 1")]
    [InlineData("dangerously-disable-seccomp = yes\n", 1, "dangerously-disable-seccomp takes no value")]
    [InlineData("app\n", 1, "--app needs a value")]
    [InlineData("config = /etc/other.conf\n", 1, "config can only be given on the command line")]
    [InlineData("\n\nListen: 1.2.3.4:5\n", 3, "is not a setting name")]
    [InlineData("listen =\n", 1, "listen has no value")]
    [InlineData("listen = nowhere\n", 1, "\"nowhere\" is not ADDR:PORT")]
    public void ErrorsNameTheFileAndLine(string contents, int line, string message)
    {
        using var dir = new TempDir();
        var config = dir.Write("edge.conf", contents);
        var (exit, _, stderr) = EdgeProcess.Run("serve", "--config", config);
        Assert.Equal(2, exit);
        Assert.Contains($"{config}:{line}: ", stderr);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void AMissingFileIsAnError()
    {
        var (exit, _, stderr) = EdgeProcess.Run("serve", "--config", "/nonexistent/edge.conf", "-l", "127.0.0.1:1", "--app", ".");
        Assert.Equal(2, exit);
        Assert.Contains("--config: cannot read /nonexistent/edge.conf", stderr);
    }
}
