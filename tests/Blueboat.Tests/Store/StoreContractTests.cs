using System.Text;
using Blueboat.Apps;
using Blueboat.Store;
using Blueboat.Tests.Support;

namespace Blueboat.Tests.Store;

/// <summary>One suite every store passes: the local folder and S3 (a real s3rver).</summary>
public abstract class StoreContractTests
{
    protected abstract IAppStore Store { get; }

    private static AppPackage App(string body) => new(new Dictionary<string, byte[]>
    {
        ["index.js"] = Encoding.UTF8.GetBytes($"Router.get('/', () => new Response({System.Text.Json.JsonSerializer.Serialize(body)}));"),
        ["static/a.txt"] = "static"u8.ToArray(),
    });

    [Fact]
    public async Task PutGetListDelete()
    {
        var prefix = $"t{Guid.NewGuid():N}/";
        Assert.Null(await Store.GetAsync(prefix + "missing.json"));
        await Store.PutAsync(prefix + "a/one.json", "1"u8.ToArray());
        await Store.PutAsync(prefix + "b.tar", new byte[100_000]);
        var one = await Store.GetAsync(prefix + "a/one.json");
        Assert.Equal("1"u8.ToArray(), one!.Data);
        Assert.Equal(100_000, (await Store.GetAsync(prefix + "b.tar"))!.Data.Length);
        Assert.Equal([prefix + "a/one.json", prefix + "b.tar"], await Store.ListAsync(prefix));

        await Store.PutAsync(prefix + "a/one.json", "22"u8.ToArray());
        var two = await Store.GetAsync(prefix + "a/one.json");
        Assert.Equal("22"u8.ToArray(), two!.Data);
        Assert.NotEqual(one.ETag, two.ETag);

        await Store.DeleteAsync(prefix + "a/one.json");
        Assert.Null(await Store.GetAsync(prefix + "a/one.json"));
        Assert.Equal([prefix + "b.tar"], await Store.ListAsync(prefix));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/abs")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("sp ace")]
    public async Task BadKeysAreRefused(string key)
    {
        await Assert.ThrowsAsync<StoreException>(() => Store.GetAsync(key));
        await Assert.ThrowsAsync<StoreException>(() => Store.PutAsync(key, [1]));
    }

    [Fact]
    public async Task DeployRollbackListDelete()
    {
        var catalog = new AppCatalog(Store);
        var name = "app-" + Guid.NewGuid().ToString("N")[..8];
        var host = $"{name}.test";
        var v1 = await catalog.DeployAsync(name, App("one"), new Dictionary<string, string> { ["K"] = "1" }, [host]);
        var v2 = await catalog.DeployAsync(name, App("two"), new Dictionary<string, string>(), []);
        Assert.StartsWith("v1-", v1.Version);
        Assert.StartsWith("v2-", v2.Version);
        Assert.StartsWith("packages/", v1.Package);
        Assert.NotEqual(v1.Package, v2.Package);

        var live = await catalog.LoadMetadataAsync(StoreKeys.Metadata(name));
        Assert.Equal(v2.Version, live!.Version);
        Assert.Equal(StoreKeys.Metadata(name), (await catalog.LoadRoutesAsync()).Resolve(host));

        var back = await catalog.RollbackAsync(name, null);
        Assert.Equal(v1.Version, back.Version);
        Assert.Equal("1", (await catalog.LoadMetadataAsync(StoreKeys.Metadata(name)))!.Env["K"]);
        var again = await catalog.RollbackAsync(name, v2.Version);
        Assert.Equal(v2.Version, again.Version);

        var shown = await catalog.ShowAsync(name);
        Assert.Equal(4, shown.History.Versions.Count);
        Assert.Equal([host], shown.Hosts);
        Assert.Contains(await catalog.ListAsync(), a => a.Name == name);

        // The package the metadata names is a tar the server can read back.
        var tar = await Store.GetAsync(live.Package);
        var package = TarPackageReader.Read(new MemoryStream(tar!.Data), live.Package);
        Assert.Equal(["index.js", "static/a.txt"], package.Files.Keys.Order());

        await catalog.DeleteAsync(name);
        Assert.Null(await catalog.LoadMetadataAsync(StoreKeys.Metadata(name)));
        Assert.Null((await catalog.LoadRoutesAsync()).Resolve(host));
        await Assert.ThrowsAsync<StoreException>(() => catalog.ShowAsync(name));
    }

    [Fact]
    public async Task DeployRefusesAHostOwnedByAnotherAppAndAFolderWithoutEntry()
    {
        var catalog = new AppCatalog(Store);
        var a = "a-" + Guid.NewGuid().ToString("N")[..8];
        var b = "b-" + Guid.NewGuid().ToString("N")[..8];
        await catalog.DeployAsync(a, App("a"), new Dictionary<string, string>(), [$"{a}.test"]);
        var taken = await Assert.ThrowsAsync<StoreException>(() => catalog.DeployAsync(b, App("b"), new Dictionary<string, string>(), [$"{a}.test"]));
        Assert.Contains("already routed", taken.Message);
        Assert.Contains($"apps unroute {a}.test", taken.Message);

        var noEntry = new AppPackage(new Dictionary<string, byte[]> { ["main.js"] = [] });
        await Assert.ThrowsAsync<AppLoadException>(() => catalog.DeployAsync(b, noEntry, new Dictionary<string, string>(), []));
        Assert.Null(await catalog.LoadMetadataAsync(StoreKeys.Metadata(b))); // nothing half-written
        await Assert.ThrowsAsync<StoreException>(() => catalog.DeployAsync("Bad Name", App("x"), new Dictionary<string, string>(), []));

        // Once the route is removed the host is free; the app it pointed to stays deployed.
        Assert.Equal(a, await catalog.UnrouteAsync($"{a}.test"));
        Assert.Null((await catalog.LoadRoutesAsync()).Resolve($"{a}.test"));
        Assert.NotNull(await catalog.LoadMetadataAsync(StoreKeys.Metadata(a)));
        await catalog.DeployAsync(b, App("b"), new Dictionary<string, string>(), [$"{a}.test"]);
        Assert.Equal(StoreKeys.Metadata(b), (await catalog.LoadRoutesAsync()).Resolve($"{a}.test"));
        var none = await Assert.ThrowsAsync<StoreException>(() => catalog.UnrouteAsync($"nothing-{a}.test"));
        Assert.Contains("has no route", none.Message);
        await Assert.ThrowsAsync<StoreException>(() => catalog.UnrouteAsync("bad host!"));
    }
}

public sealed class LocalStoreTests : StoreContractTests, IDisposable
{
    private readonly TempDir dir = new();
    private readonly LocalDirectoryStore store;

    public LocalStoreTests() => store = new LocalDirectoryStore(dir.Path);

    protected override IAppStore Store => store;

    [Fact]
    public async Task WritesLeaveNoPartialFilesAndRaiseChanged()
    {
        var changes = 0;
        store.Changed += () => Interlocked.Increment(ref changes);
        await store.PutAsync("apps/x/metadata.json", "{}"u8.ToArray());
        Assert.Equal(["apps/x/metadata.json"], Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir.Path, f)));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (Volatile.Read(ref changes) == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(changes > 0);
    }

    public void Dispose()
    {
        store.Dispose();
        dir.Dispose();
    }
}

public sealed class S3StoreTests : StoreContractTests, IClassFixture<S3StoreTests.Server>, IDisposable
{
    public sealed class Server : IDisposable
    {
        public S3Server S3 { get; } = new();
        public void Dispose() => S3.Dispose();
    }

    private readonly S3Store store;

    public S3StoreTests(Server server)
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3Server.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3Server.SecretKey);
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        store = new S3Store(S3Server.Bucket, "us-east-1", server.S3.Endpoint);
    }

    protected override IAppStore Store => store;

    [Fact]
    public async Task AnEndpointThatIsDownIsAClearStoreError()
    {
        using var down = new S3Store(S3Server.Bucket, "us-east-1", "http://127.0.0.1:9");
        var e = await Assert.ThrowsAsync<StoreException>(() => down.GetAsync("apps/x/metadata.json"));
        Assert.Contains("s3://blueboat-test at http://127.0.0.1:9", e.Message);
        Assert.Contains("apps/x/metadata.json", e.Message);
    }

    public void Dispose() => store.Dispose();
}
