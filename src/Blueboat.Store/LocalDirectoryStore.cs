namespace Blueboat.Store;

/// <summary>
/// A store in a local folder: each key is a file path under it. Writes go to a temporary file in
/// the same folder, are flushed, then renamed over the target, so readers never see a partial object.
/// The folder is watched, so a running server sees a deploy at once.
/// </summary>
public sealed class LocalDirectoryStore : IAppStore, IDisposable
{
    private const string TempSuffix = ".partial";
    private readonly string root;
    private FileSystemWatcher? watcher;
    private Action? changed;

    public LocalDirectoryStore(string root)
    {
        this.root = Path.GetFullPath(root);
        try
        {
            Directory.CreateDirectory(this.root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"local store {this.root} cannot be created: {e.Message}", e);
        }
    }

    private const string LockFile = ".deploy.lock";

    public async Task<IAsyncDisposable> LockAsync(CancellationToken cancel = default)
    {
        var path = Path.Combine(root, LockFile);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive advisory lock that other processes honour too.
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return new Releaser(stream);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StoreException($"{Description}: cannot take the deploy lock {path}: {e.Message}", e);
            }
        }
    }

    private sealed class Releaser(FileStream stream) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => stream.DisposeAsync();
    }

    public string Description => $"local store {root}";

    public event Action? Changed
    {
        add
        {
            changed += value;
            StartWatching();
        }
        remove => changed -= value;
    }

    private void StartWatching()
    {
        if (watcher is not null) return;
        watcher = new FileSystemWatcher(root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        FileSystemEventHandler onChange = (_, e) => { if (!e.FullPath.EndsWith(TempSuffix, StringComparison.Ordinal)) changed?.Invoke(); };
        watcher.Changed += onChange;
        watcher.Created += onChange;
        watcher.Deleted += onChange;
        watcher.Renamed += (_, _) => changed?.Invoke();
        watcher.Error += (_, _) => changed?.Invoke(); // overflow: assume everything changed
        watcher.EnableRaisingEvents = true;
    }

    private string PathOf(string key)
    {
        StoreKeys.Validate(key);
        return Path.Combine(root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    public async Task<StoreObject?> GetAsync(string key, CancellationToken cancel = default)
    {
        var path = PathOf(key);
        try
        {
            if (!Directory.Exists(root))
                throw new StoreException($"{Description}: the store folder is missing");
            if (Directory.Exists(path) || (File.Exists(path) && !Apps.FileType.IsRegular(path)))
                throw new StoreException($"{Description}: {key} is not a regular file");
            // Opened directly, not checked with File.Exists, which reports "absent" for a file it may not read.
            var data = await File.ReadAllBytesAsync(path, cancel).ConfigureAwait(false);
            // The tag comes from the bytes read, never from a second look at the file, which a
            // concurrent deploy may have replaced in between.
            return new StoreObject(key, data, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data))[..32]);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"{Description}: cannot read {key}: {e.Message}", e);
        }
    }

    public async Task PutAsync(string key, byte[] data, CancellationToken cancel = default)
    {
        var path = PathOf(key);
        var temp = $"{path}.{Guid.NewGuid():N}{TempSuffix}";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
            {
                await file.WriteAsync(data, cancel).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw new StoreException($"{Description}: cannot write {key}: {e.Message}", e);
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancel = default)
    {
        var path = PathOf(key);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException) { }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"{Description}: cannot delete {key}: {e.Message}", e);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default)
    {
        var keys = new List<string>();
        if (Directory.Exists(root))
        {
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                if (file.EndsWith(TempSuffix, StringComparison.Ordinal) || Path.GetFileName(file) == LockFile) continue;
                var key = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
                if (key.StartsWith(prefix, StringComparison.Ordinal)) keys.Add(key);
            }
        }
        keys.Sort(StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<string>>(keys);
    }

    public void Dispose() => watcher?.Dispose();
}
