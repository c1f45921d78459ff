using System.Runtime.InteropServices;

namespace Blueboat.Supervisor.Hosting;

/// <summary>
/// The signals that control the service (SIGTERM drains, SIGHUP reloads). A signal ignored by the
/// process that started us (nohup, a script's background job) stays ignored across exec, and the
/// .NET runtime respects that by never delivering it; for these two that would leave the service
/// with no way to stop cleanly or reload, so the disposition is set back to the default first.
/// </summary>
public static partial class ControlSignal
{
    private const nint SigDfl = 0, SigIgn = 1;

    public static PosixSignalRegistration Handle(PosixSignal signal, Action<PosixSignalContext> handler)
    {
        var number = signal switch
        {
            PosixSignal.SIGHUP => 1,
            PosixSignal.SIGTERM => 15,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "only SIGHUP and SIGTERM control the service"),
        };
        if (IsIgnored(number)) SetDisposition(number, SigDfl);
        return PosixSignalRegistration.Create(signal, handler);
    }

    private static unsafe bool IsIgnored(int signal)
    {
        // struct sigaction starts with the handler on glibc (x64 and arm64); 256 bytes hold all of it.
        var action = stackalloc byte[256];
        return QueryAction(signal, null, action) == 0 && *(nint*)action == SigIgn;
    }

    [LibraryImport("libc", EntryPoint = "sigaction")]
    private static unsafe partial int QueryAction(int signal, byte* action, byte* previous);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SetDisposition(int signal, nint handler);
}
