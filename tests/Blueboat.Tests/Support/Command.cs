using System.Diagnostics;

namespace Blueboat.Tests.Support;

/// <summary>Runs a tool to completion and returns its exit code and output.</summary>
public static class Command
{
    public static (int Exit, string Stdout, string Stderr) Run(string file, params string[] args) => RunWith(null, file, args);

    public static (int Exit, string Stdout, string Stderr) RunWith(Action<ProcessStartInfo>? configure, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        configure?.Invoke(psi);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(300_000))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
