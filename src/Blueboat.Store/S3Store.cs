using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Blueboat.Store;

/// <summary>
/// A store in an S3 bucket (or an S3-compatible server with --s3-endpoint), laid out like a
/// Blueboat bucket. Credentials come from the standard AWS environment and profile chain. S3 gives
/// no change notifications, so servers see new objects when their metadata TTL runs out.
/// </summary>
public sealed class S3Store : IAppStore, IDisposable
{
    private readonly AmazonS3Client client;
    private readonly string bucket;

    public S3Store(string bucket, string? region, string? endpoint)
    {
        this.bucket = bucket;
        var config = new AmazonS3Config
        {
            ConnectTimeout = TimeSpan.FromSeconds(2),
            Timeout = TimeSpan.FromSeconds(5),
            MaxErrorRetry = 1,
        };
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true; // S3-compatible servers rarely have per-bucket DNS
            config.AuthenticationRegion = region ?? "us-east-1";
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region ?? "us-east-1");
        }
        client = new AmazonS3Client(config);
        Description = endpoint is null ? $"s3://{bucket}" : $"s3://{bucket} at {endpoint}";
    }

    public string Description { get; }

    public event Action? Changed { add { } remove { } }

    private readonly SemaphoreSlim deployLock = new(1, 1);

    public async Task<IAsyncDisposable> LockAsync(CancellationToken cancel = default)
    {
        await deployLock.WaitAsync(cancel).ConfigureAwait(false);
        return new Releaser(deployLock);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            gate.Release();
            return ValueTask.CompletedTask;
        }
    }

    public async Task<StoreObject?> GetAsync(string key, CancellationToken cancel = default)
    {
        StoreKeys.Validate(key);
        try
        {
            using var response = await client.GetObjectAsync(bucket, key, cancel).ConfigureAwait(false);
            using var buffer = new MemoryStream(response.ContentLength > 0 ? (int)Math.Min(response.ContentLength, int.MaxValue) : 0);
            await response.ResponseStream.CopyToAsync(buffer, cancel).ConfigureAwait(false);
            return new StoreObject(key, buffer.ToArray(), response.ETag ?? "");
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
        catch (Exception e) when (IsStoreFailure(e, cancel))
        {
            throw new StoreException($"{Description}: cannot read {key}: {e.Message}", e);
        }
    }

    public async Task PutAsync(string key, byte[] data, CancellationToken cancel = default)
    {
        StoreKeys.Validate(key);
        try
        {
            await client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = bucket,
                Key = key,
                InputStream = new MemoryStream(data, writable: false),
                ContentType = key.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : "application/x-tar",
                UseChunkEncoding = false, // S3-compatible servers (s3rver, older MinIO) store aws-chunked framing as data
            }, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e, cancel))
        {
            throw new StoreException($"{Description}: cannot write {key}: {e.Message}", e);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancel = default)
    {
        StoreKeys.Validate(key);
        try
        {
            await client.DeleteObjectAsync(bucket, key, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e, cancel))
        {
            throw new StoreException($"{Description}: cannot delete {key}: {e.Message}", e);
        }
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default)
    {
        var keys = new List<string>();
        try
        {
            var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
            do
            {
                var page = await client.ListObjectsV2Async(request, cancel).ConfigureAwait(false);
                foreach (var o in page.S3Objects ?? []) keys.Add(o.Key);
                request.ContinuationToken = page.NextContinuationToken;
                if (page.IsTruncated != true) break;
            } while (request.ContinuationToken is not null);
        }
        catch (Exception e) when (IsStoreFailure(e, cancel))
        {
            throw new StoreException($"{Description}: cannot list {prefix}: {e.Message}", e);
        }
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    private static bool IsStoreFailure(Exception e, CancellationToken cancel) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
        || (e is OperationCanceledException && !cancel.IsCancellationRequested); // the SDK's own timeout

    public void Dispose() => client.Dispose();
}
