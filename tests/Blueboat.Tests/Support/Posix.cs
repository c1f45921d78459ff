using System.Diagnostics;

namespace Blueboat.Tests.Support;

/// <summary>The few process and file facts the tests read that .NET does not expose.</summary>
internal static partial class Posix
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    public static partial int Kill(int pid, int signal);

    /// <summary>The numeric owner of a file, as stat(1) reports it.</summary>
    public static int OwnerUid(string path)
    {
        var psi = new ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new IOException($"stat {path}: {p.StandardError.ReadToEnd().Trim()}");
        return int.Parse(output);
    }
}
