using Microsoft.Extensions.Logging;

namespace Blueboat.Supervisor.Logging;

/// <summary>Routes Kestrel's own warnings and errors into the supervisor's JSON log, so none is lost.</summary>
public sealed class EdgeLoggerFactory(EdgeLog log) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new Logger(log, categoryName);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    private sealed class Logger(EdgeLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Error)
                log.Error(message, ("component", category), ("error", exception?.ToString()));
            else
                log.Warn(message, ("component", category));
        }
    }
}
