using Blueboat.Channel;

namespace Blueboat.Worker;

/// <summary>
/// The hidden worker mode of the executable: started by the supervisor with the channel on
/// descriptor 3, it loads the V8 runtime, waits for its app, and serves requests until the channel closes.
/// </summary>
public static class WorkerMain
{
    public const int ChannelFd = 3;

    public static int Run()
    {
        Sandbox.ProcessHardening.MakeNotDumpable();
        using var channel = BlockingFrameChannel.Open(ChannelFd);
        if (channel is null)
        {
            Console.Error.WriteLine($"blueboat-edge worker: no supervisor channel on descriptor {ChannelFd}");
            return 2;
        }
        // Not disposed: timer callbacks may post until the process ends.
        var posted = new PostedEvents();
        return new WorkerLoop(channel, posted).Run();
    }
}
