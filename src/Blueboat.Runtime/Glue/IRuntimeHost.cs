using Blueboat.Channel;

namespace Blueboat.Runtime.Glue;

/// <summary>What the JS runtime layer asks of the process hosting it (the worker).</summary>
public interface IRuntimeHost
{
    /// <summary>Copies the current request's body into <paramref name="destination"/>.</summary>
    void CopyEventBody(Span<byte> destination);

    /// <summary>Answers an exchange; <paramref name="headerLines"/> is read by <see cref="RuntimeEvents.ParseHeaderLines"/>.</summary>
    void Respond(uint exchangeId, int status, string headerLines, ReadOnlySpan<byte> body);
    void Log(LogLevel level, string requestId, string message);
    void SetTimer(int timerId, double delayMs, uint exchangeId);
    void ClearTimer(int timerId);

    /// <summary>Starts a fetch for the supervisor to perform; the outcome arrives later as an event.</summary>
    void FetchStart(int fetchId, uint exchangeId, string requestJson, ReadOnlySpan<byte> body);

    /// <summary>The entry module (and any top-level await in it) has finished evaluating.</summary>
    void AppReady();
}
