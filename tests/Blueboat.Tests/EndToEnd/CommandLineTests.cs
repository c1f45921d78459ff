using Blueboat.Tests.Support;

namespace Blueboat.Tests.EndToEnd;

public class CommandLineTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("serve", "--help")]
    public void HelpPrintsUsage(params string[] args)
    {
        var (exit, stdout, _) = EdgeProcess.Run(args);
        Assert.Equal(0, exit);
        Assert.Contains("--single-tenant", stdout);
        Assert.Contains("--app DIR", stdout);
    }

    [Fact]
    public void VersionPrintsTheVersion()
    {
        var (exit, stdout, _) = EdgeProcess.Run("--version");
        Assert.Equal(0, exit);
        Assert.Matches(@"^blueboat-edge \d+\.\d+\.\d+", stdout);
    }

    [Theory]
    [InlineData("serve", "--frobnicate")]
    [InlineData("serve", "-l", "not-an-address", "--app", ".")]
    [InlineData("serve", "-l", "127.0.0.1", "--app", ".")]
    [InlineData("serve", "-l", "127.0.0.1:99999", "--app", ".")]
    [InlineData("serve", "--app", ".")]
    [InlineData("serve", "-l", "127.0.0.1:3000")]
    [InlineData("serve", "-l", "127.0.0.1:3000", "--app", ".", "--single-tenant", "m.json")]
    [InlineData("serve", "-l", "127.0.0.1:3000", "--app", "-")]
    [InlineData("serve", "-l", "127.0.0.1:3000", "--app", ".", "--init-budget-ms", "soon")]
    [InlineData("serve", "-l")]
    [InlineData("serve", "-l", "127.0.0.1:3000", "--app", ".", "--app", "..")]
    [InlineData("serve", "-l", "127.0.0.1:3000", "--app", ".", "--max-request-body", "17179869184")]
    [InlineData("launch")]
    [InlineData()]
    public void BadCommandLinesPrintUsageOnStderrAndExit2(params string[] args)
    {
        var (exit, stdout, stderr) = EdgeProcess.Run(args);
        Assert.Equal(2, exit);
        Assert.Contains("Usage:", stderr);
        Assert.StartsWith("blueboat-edge: ", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void ADashLeavesAnyFlagUnset()
    {
        // Parsing succeeds (not exit 2); the run then stops at the missing metadata (exit 1).
        var (exit, _, stderr) = EdgeProcess.Run("serve", "-l", "127.0.0.1:0", "--app", "-", "--init-budget-ms", "-",
            "--max-request-body", "-", "--single-tenant", "/nonexistent/metadata.json");
        Assert.Equal(1, exit);
        Assert.Contains("/nonexistent/metadata.json", stderr);
    }

    [Fact]
    public void BlueboatStyleFlagsWithoutSubcommandServe()
    {
        // `blueboat_server -l ... --single-tenant ...` took its flags bare; so do we.
        var (exit, _, stderr) = EdgeProcess.Run("-l", "127.0.0.1:0", "--single-tenant", "/nonexistent/metadata.json");
        Assert.Equal(1, exit);
        Assert.Contains("/nonexistent/metadata.json", stderr);
    }

    [Theory]
    [InlineData("/dev/zero", "larger than 1024 KiB")]
    [InlineData("/tmp", "is a directory")]
    public void AConfigThatIsNotAConfigFileFailsFastAndSaysWhy(string path, string expected)
    {
        var (exit, _, stderr) = EdgeProcess.Run("serve", "-l", "127.0.0.1:0", "--app", TestPaths.App("inspect"), "--config", path);
        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr);
    }
}
