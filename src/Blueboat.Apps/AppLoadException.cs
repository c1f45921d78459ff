namespace Blueboat.Apps;

/// <summary>An app could not be loaded; the message names the file and what is wrong with it.</summary>
public sealed class AppLoadException(string message, Exception? inner = null) : Exception(message, inner);
