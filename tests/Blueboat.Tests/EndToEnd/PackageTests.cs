using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

/// <summary>
/// The .deb and .rpm that `make package` builds (make test builds them first): their metadata and
/// layout, lintian, the systemd units, and the installed binary started exactly as the unit starts it.
/// </summary>
public class PackageTests
{
    private static string Version => File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "VERSION")).Trim();

    private static string PackageDir =>
        Environment.GetEnvironmentVariable("BLUEBOAT_EDGE_PACKAGES") is { Length: > 0 } dir ? dir : Path.Combine(TestPaths.RepoRoot, "out", "packages");

    private static string Deb => Existing(Path.Combine(PackageDir, $"blueboat-edge_{Version}_amd64.deb"));
    private static string Rpm => Existing(Path.Combine(PackageDir, $"blueboat-edge-{Version}.x86_64.rpm"));

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: run `make package` (make test builds it)");

    private static string Ok((int Exit, string Stdout, string Stderr) run, string what)
    {
        Assert.True(run.Exit == 0, $"{what} exited with {run.Exit}: {run.Stderr}{run.Stdout}");
        return run.Stdout;
    }

    [Fact]
    public void DebDescribesItselfAndHoldsTheLayout()
    {
        var info = Ok(Command.Run("dpkg-deb", "--info", Deb), "dpkg-deb --info");
        Assert.Contains("Package: blueboat-edge", info);
        Assert.Contains($"Version: {Version}", info);
        Assert.Contains("Architecture: amd64", info);
        Assert.Matches(@"\bconffiles\b", info);
        Assert.Matches(@"\bpostinst\b", info);

        var contents = Ok(Command.Run("dpkg-deb", "--contents", Deb), "dpkg-deb --contents");
        Assert.Matches(@"\./usr/bin/blueboat-edge -> \.\./lib/blueboat-edge/blueboat-edge\n", contents);
        Assert.Matches(@"-rwxr-xr-x root/root .* \./usr/lib/blueboat-edge/blueboat-edge\n", contents);
        Assert.Contains("./usr/lib/blueboat-edge/ClearScriptV8.linux-x64.so", contents);
        Assert.Contains("./etc/blueboat-edge/blueboat-edge.conf", contents);
        Assert.Contains("./lib/systemd/system/blueboat-edge.service", contents);
        Assert.Contains("./lib/systemd/system/blueboat-edge.socket", contents);

        Assert.Equal("/etc/blueboat-edge/blueboat-edge.conf", Ok(Command.Run("dpkg-deb", "--info", Deb, "conffiles"), "conffiles").Trim());
        // The maintainer scripts are valid shell and create the system user.
        var postinst = Ok(Command.Run("dpkg-deb", "--info", Deb, "postinst"), "postinst");
        Assert.Contains("adduser --system", postinst);
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
            Ok(Command.Run("sh", "-c", $"dpkg-deb --info '{Deb}' {script} | sh -n"), $"sh -n {script}");
    }

    [Fact]
    public void LintianFindsNoErrors()
    {
        var (exit, stdout, stderr) = Command.Run("lintian", "--tag-display-limit", "0", Deb);
        var errors = stdout.Split('\n').Where(l => l.StartsWith("E: ")).ToList();
        Assert.True(errors.Count == 0, "lintian errors:\n" + string.Join("\n", errors));
        Assert.True(exit == 0, $"lintian exited with {exit}: {stderr}{stdout}");
    }

    [Fact]
    public void RpmListsTheSameLayout()
    {
        var files = Ok(Command.Run("rpm", "-qpl", Rpm), "rpm -qpl").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("/usr/bin/blueboat-edge", files);
        Assert.Contains("/usr/lib/blueboat-edge/blueboat-edge", files);
        Assert.Contains("/usr/lib/blueboat-edge/ClearScriptV8.linux-x64.so", files);
        Assert.Contains("/etc/blueboat-edge/blueboat-edge.conf", files);
        Assert.Contains("/usr/lib/systemd/system/blueboat-edge.service", files);
        Assert.Contains("/usr/lib/systemd/system/blueboat-edge.socket", files);
        Assert.Contains("/var/lib/blueboat-edge", files);
        Assert.Equal("/etc/blueboat-edge/blueboat-edge.conf", Ok(Command.Run("rpm", "-qpc", Rpm), "rpm -qpc").Trim());
        Assert.Contains($"Version     : {Version}", Ok(Command.Run("rpm", "-qpi", Rpm), "rpm -qpi"));
        Assert.Contains("useradd -r", Ok(Command.Run("rpm", "-qp", "--scripts", Rpm), "rpm --scripts"));
    }

    [Fact]
    public void SystemdVerifiesTheUnits()
    {
        // The package unpacked over the machine's own targets and slices (what the units depend on)
        // and its kill (ExecReload): verify checks every unit name and executable inside the root.
        using var root = Unpacked();
        var units = Path.Combine(root.Path, "lib/systemd/system");
        var system = Directory.CreateDirectory(Path.Combine(root.Path, "usr/lib/systemd/system")).FullName;
        foreach (var unit in Directory.EnumerateFiles("/lib/systemd/system").Where(f => f.EndsWith(".target") || f.EndsWith(".slice")))
            File.Copy(unit, Path.Combine(system, Path.GetFileName(unit)));
        Directory.CreateDirectory(Path.Combine(root.Path, "bin"));
        File.Copy("/bin/kill", Path.Combine(root.Path, "bin/kill"));
        var (exit, stdout, stderr) = Command.Run("systemd-analyze", "verify", "--man=no", $"--root={root.Path}",
            Path.Combine(units, "blueboat-edge.socket"), Path.Combine(units, "blueboat-edge.service"));
        Assert.True(exit == 0 && stderr.Trim().Length == 0, $"systemd-analyze verify ({exit}):\n{stderr}{stdout}");
    }

    /// <summary>The hardening holds: systemd's own rating of the unit stays "OK" at 4.6 or better (the workers' PID and mount namespaces cost 0.2 of it), and V8's JIT is allowed.</summary>
    [Fact]
    public void TheServiceIsHardened()
    {
        using var root = Unpacked();
        var unit = Path.Combine(root.Path, "lib/systemd/system/blueboat-edge.service");
        var (exit, stdout, stderr) = Command.Run("systemd-analyze", "security", "--offline=true", "--no-pager", unit);
        var level = Regex.Match(stdout + stderr, @"Overall exposure level for blueboat-edge\.service: (\d+\.\d+)");
        Assert.True(level.Success, $"no exposure level ({exit}): {stderr}{stdout}");
        Assert.True(double.Parse(level.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) <= 4.6, stdout);
        var text = File.ReadAllText(unit);
        Assert.DoesNotContain(text.Split('\n'), l => l.StartsWith("MemoryDenyWriteExecute"));
        foreach (var setting in new[] { "Type=notify", "WatchdogSec=", "Restart=on-failure", "KillMode=mixed", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "ProtectKernelTunables=yes",
                     "ProtectKernelModules=yes", "ProtectKernelLogs=yes", "RestrictAddressFamilies=", "LockPersonality=yes", "CapabilityBoundingSet=" })
            Assert.Contains("\n" + setting, text);
    }

    [Fact]
    public void HelpMatchesWhatThePackageInstalls()
    {
        using var root = Unpacked();
        var (exit, help, _) = Command.Run(Path.Combine(root.Path, "usr/bin/blueboat-edge"), "--help");
        Assert.Equal(0, exit);
        var execStart = ExecStart(root.Path);
        Assert.Equal("/usr/bin/blueboat-edge", execStart[0]);
        Assert.Contains("blueboat-edge " + string.Join(' ', execStart[1..]), help); // the unit's command line is the documented one
        Assert.Contains("/usr/lib/blueboat-edge/", help);
        Assert.Contains("/var/lib/blueboat-edge/", help);
        // Every setting the shipped file shows (set or commented out) is a flag --help documents.
        var conf = File.ReadAllLines(Path.Combine(root.Path, "etc/blueboat-edge/blueboat-edge.conf"));
        var keys = conf.Select(l => Regex.Match(l, @"^#? ?([a-z][a-z0-9-]*) = ")).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.True(keys.Count >= 10, string.Join(",", keys));
        foreach (var key in keys) Assert.Contains($"--{key} ", help);
        Assert.Contains($"blueboat-edge {Version}", Command.Run(Path.Combine(root.Path, "usr/bin/blueboat-edge"), "--version").Stdout);
    }

    /// <summary>
    /// The installed tree, started with the unit's ExecStart exactly (its paths inside the scratch
    /// root), the shipped configuration with only the store, worker user and admin port changed,
    /// and a socket passed as blueboat-edge.socket would: it says READY=1 and serves a deployed app.
    /// </summary>
    [Fact]
    public async Task InstalledBinaryServesWhenStartedAsTheUnitStartsIt()
    {
        using var root = Unpacked();
        using var scratch = new TempDir();
        var bin = Path.Combine(root.Path, "usr/bin/blueboat-edge");
        var store = scratch.Combine("store");
        Ok(Command.Run(bin, "deploy", TestPaths.Example("hello-world"), "--app", "hello", "--host", "hello.localhost", "--store", store), "deploy");

        var adminPort = Ports.Free();
        var confPath = Path.Combine(root.Path, "etc/blueboat-edge/blueboat-edge.conf");
        var conf = File.ReadAllText(confPath);
        Assert.Contains("store = /var/lib/blueboat-edge\n", conf);
        conf = conf.Replace("store = /var/lib/blueboat-edge\n", $"store = {store}\n")
                   .Replace("worker-user = blueboat-edge\n", "worker-user = nobody\n") // the package's user exists only once postinst ran
                   .Replace("admin-listen = 127.0.0.1:9140\n", $"admin-listen = 127.0.0.1:{adminPort}\n");
        File.WriteAllText(confPath, conf);

        var notifyPath = scratch.Combine("notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        notify.ReceiveTimeout = 20000;

        var port = Ports.Free();
        var psi = new ProcessStartInfo("systemd-socket-activate") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-l", $"127.0.0.1:{port}", "--fdname=http", "-E", $"NOTIFY_SOCKET={notifyPath}" }) psi.ArgumentList.Add(a);
        foreach (var a in ExecStart(root.Path).Select(arg => arg.StartsWith('/') ? root.Path + arg : arg)) psi.ArgumentList.Add(a);
        using var edge = EdgeProcess.Attach(Process.Start(psi)!, port);

        var buffer = new byte[4096];
        Assert.Contains("READY=1", Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer)).Split('\n'));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "hello.localhost";
        using var r = await edge.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("hello world", await r.Content.ReadAsStringAsync());
        using var http = new HttpClient();
        Assert.Contains("blueboat_requests_total{app=\"hello\",status=\"200\"} 1", await http.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics"));

        edge.Signal(15);
        Assert.Equal(0, edge.WaitForExit(TimeSpan.FromSeconds(20)));
    }

    /// <summary>
    /// `apt install ./the.deb` on this (throwaway, root) test machine runs the maintainer scripts for
    /// real: the system user, the state directory, the conffile; `apt purge` takes them away again.
    /// No systemd runs here as process 1, so nothing is started and no service is left behind.
    /// </summary>
    [Fact]
    public void AptInstallsAndPurgesThePackage()
    {
        Assert.True(Environment.UserName == "root", "installing the package needs root (the test machine runs the tests as root)");
        Assert.False(Directory.Exists("/run/systemd/system"), "systemd runs here: installing would start the service on this machine");
        void Apt(params string[] args) =>
            Ok(Command.RunWith(psi => psi.Environment["DEBIAN_FRONTEND"] = "noninteractive", "apt-get", ["-y", "-q", "-o", "DPkg::Lock::Timeout=300", .. args]), "apt-get " + string.Join(' ', args));
        try
        {
            Apt("install", "--no-install-recommends", Deb);
            var passwd = Ok(Command.Run("getent", "passwd", "blueboat-edge"), "getent passwd").Split(':');
            Assert.True(int.Parse(passwd[2]) < 1000, $"blueboat-edge is not a system user: uid {passwd[2]}");
            Assert.Equal("0750", Ok(Command.Run("stat", "-c", "%a", "/var/lib/blueboat-edge"), "stat").Trim().PadLeft(4, '0'));
            Assert.Contains("/etc/blueboat-edge/blueboat-edge.conf", Ok(Command.Run("dpkg-query", "-W", "-f=${Conffiles}", "blueboat-edge"), "dpkg-query"));
            Assert.Contains($"blueboat-edge {Version}", Ok(Command.Run("/usr/bin/blueboat-edge", "--version"), "--version"));
        }
        finally
        {
            Apt("purge", "blueboat-edge");
        }
        Assert.False(File.Exists("/usr/bin/blueboat-edge"));
        Assert.False(Directory.Exists("/etc/blueboat-edge"));
        Assert.False(Directory.Exists("/var/lib/blueboat-edge"));
        Assert.NotEqual(0, Command.Run("getent", "passwd", "blueboat-edge").Exit);
    }

    /// <summary>The unit's ExecStart, split into its arguments.</summary>
    private static string[] ExecStart(string root)
    {
        var unit = File.ReadAllLines(Path.Combine(root, "lib/systemd/system/blueboat-edge.service"));
        var line = Assert.Single(unit, l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var args = line["ExecStart=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(args, a => a.Contains('$') || a.Contains('"')); // nothing systemd would expand or unquote
        return args;
    }

    /// <summary>The .deb unpacked into a scratch root (what dpkg would install, without its scripts).</summary>
    private static TempDir Unpacked()
    {
        var root = new TempDir();
        Ok(Command.Run("dpkg-deb", "-x", Deb, root.Path), "dpkg-deb -x");
        return root;
    }
}
