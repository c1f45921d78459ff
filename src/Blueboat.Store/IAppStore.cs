namespace Blueboat.Store;

/// <summary>An object read from the store, with a tag that changes whenever its contents do.</summary>
public sealed record StoreObject(string Key, byte[] Data, string ETag);

/// <summary>
/// A key-value store of immutable-by-convention objects, laid out like a Blueboat bucket:
/// metadata JSON objects and tar packages under keys. Writes of one object are atomic: a reader
/// sees the old object or the new one, never a part.
/// </summary>
public interface IAppStore
{
    /// <summary>Where the store is, for messages ("local store /var/lib/x", "s3://bucket").</summary>
    string Description { get; }

    /// <summary>The object, or null when the key does not exist. Other failures throw <see cref="StoreException"/>.</summary>
    Task<StoreObject?> GetAsync(string key, CancellationToken cancel = default);

    Task PutAsync(string key, byte[] data, CancellationToken cancel = default);

    Task DeleteAsync(string key, CancellationToken cancel = default);

    /// <summary>Keys starting with <paramref name="prefix"/>, in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default);

    /// <summary>
    /// Serialises read-modify-write changes (routes, history) among deployers. A local store locks a
    /// file, so separate processes wait for each other; S3 has no lock, so there it covers only this
    /// process and deploys to one bucket should come from one place at a time.
    /// </summary>
    Task<IAsyncDisposable> LockAsync(CancellationToken cancel = default);

    /// <summary>Raised when objects may have changed (a local store watches its folder); null when the store cannot tell.</summary>
    event Action? Changed;
}

/// <summary>The store could not be reached or refused an operation; the message names the store and key.</summary>
public sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Rules for keys: '/'-separated segments of safe characters, never '..', never absolute.</summary>
public static class StoreKeys
{
    public const string Routes = "routes.json";
    public const string PackagePrefix = "packages/";
    public const string AppPrefix = "apps/";

    public static string Metadata(string app) => $"{AppPrefix}{app}/metadata.json";
    public static string History(string app) => $"{AppPrefix}{app}/history.json";
    public static string Package(string sha256Hex) => $"{PackagePrefix}{sha256Hex}.tar";

    /// <summary>The app name of a metadata key made by deploy (apps/NAME/metadata.json), else the key itself.</summary>
    public static string AppNameOf(string metadataKey)
    {
        if (metadataKey.StartsWith(AppPrefix, StringComparison.Ordinal) && metadataKey.EndsWith("/metadata.json", StringComparison.Ordinal))
        {
            var name = metadataKey[AppPrefix.Length..^"/metadata.json".Length];
            if (IsValidAppName(name)) return name;
        }
        return metadataKey;
    }

    public static bool IsValidAppName(string name) =>
        name.Length is > 0 and <= 63 && name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_') && name[0] != '-' && name[0] != '_';

    public static void Validate(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 1024)
            throw new StoreException($"store key \"{key}\" is empty or too long");
        if (key.StartsWith('/') || key.EndsWith('/'))
            throw new StoreException($"store key \"{key}\" must not start or end with '/'");
        foreach (var seg in key.Split('/'))
        {
            if (seg.Length == 0 || seg == "." || seg == "..")
                throw new StoreException($"store key \"{key}\" has an empty, '.' or '..' segment");
            foreach (var c in seg)
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '+' or '=' or '@' or ','))
                    throw new StoreException($"store key \"{key}\" contains '{c}'; keys use letters, digits and - _ . + = @ ,");
        }
    }
}
