namespace Blueboat.Supervisor.Workers;

/// <summary>A worker ended (crashed, was killed, or broke the channel) while a request was in flight.</summary>
public sealed class WorkerExitedException(string message) : Exception(message);

/// <summary>An app could not be brought up in a worker: bad code, a throwing module, or the init budget ran out.</summary>
public sealed class AppInitException(string message) : Exception(message);

/// <summary>A worker failed to come up for a reason of the platform's, not of the app's code (it died or hung while loading).</summary>
public sealed class WorkerStartException(string message) : Exception(message);

/// <summary>An app's response body went past its cap; the supervisor stopped taking it.</summary>
public sealed class ResponseTooLargeException(long limit) : Exception($"the response body exceeds {limit} bytes")
{
    public long Limit { get; } = limit;
}

/// <summary>The app did not finish its response within the request's wall time; the worker was told to drop it.</summary>
public sealed class WallTimeExceededException() : Exception("the app did not answer within its wall time");
