using Blueboat.Edge.Commands;
using Blueboat.Worker;

namespace Blueboat.Edge;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args is [Blueboat.Supervisor.Workers.WorkerLauncher.WorkerModeArgument, ..])
            return WorkerMain.Run();
        return CommandLine.Run(args);
    }
}
