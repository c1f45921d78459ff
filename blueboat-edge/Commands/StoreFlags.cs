using Blueboat.Store;

namespace Blueboat.Edge.Commands;

/// <summary>Which store a command works on: `--store DIR`, or Blueboat's S3 flags.</summary>
public sealed class StoreFlags
{
    public string? Directory { get; private set; }
    public string? S3Bucket { get; private set; }
    public string? S3Region { get; private set; }
    public string? S3Endpoint { get; private set; }

    public bool IsSet => Directory is not null || S3Bucket is not null;

    /// <summary>Consumes the current flag when it is a store flag.</summary>
    public bool TryRead(ArgReader r)
    {
        switch (r.Current)
        {
            case "--store": Directory = r.OptionalValue(); return true;
            case "--s3-bucket": S3Bucket = r.OptionalValue(); return true;
            case "--s3-region": S3Region = r.OptionalValue(); return true;
            case "--s3-endpoint": S3Endpoint = r.OptionalValue(); return true;
            default: return false;
        }
    }

    public void Validate()
    {
        if (Directory is not null && S3Bucket is not null)
            throw new UsageException("give either --store DIR or --s3-bucket, not both");
        if (S3Bucket is null && (S3Region is not null || S3Endpoint is not null))
            throw new UsageException("--s3-region and --s3-endpoint need --s3-bucket");
        if (S3Bucket is not null && S3Region is null && S3Endpoint is null)
            throw new UsageException("--s3-bucket needs --s3-region (or --s3-endpoint for an S3-compatible server)");
        if (S3Endpoint is not null && !Uri.TryCreate(S3Endpoint, UriKind.Absolute, out _))
            throw new UsageException($"--s3-endpoint: \"{S3Endpoint}\" is not a URL");
    }

    public IAppStore Open() =>
        Directory is not null
            ? new LocalDirectoryStore(Directory)
            : new S3Store(S3Bucket!, S3Region, S3Endpoint);
}
