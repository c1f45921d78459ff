namespace Blueboat.Channel;

/// <summary>
/// The few environment variables the supervisor sets for a worker at start (its environment is
/// otherwise clean): facts a worker needs before its first frame arrives.
/// </summary>
public static class WorkerEnvironment
{
    /// <summary>The worker's memory budget in MB when no memory cgroup caps it.</summary>
    public const string AddressSpaceBudgetMb = "BLUEBOAT_WORKER_ADDRESS_SPACE_BUDGET_MB";
}
