using System.Text;
using Blueboat.Apps;
using Microsoft.ClearScript;
using Microsoft.ClearScript.JavaScript;

namespace Blueboat.Runtime.Glue;

/// <summary>
/// Loads ES modules from the app's package only: specifiers resolve inside it (see
/// <see cref="ModuleResolver"/>), so an app can never import a file of the host. Each file yields
/// one Document, so V8 evaluates each module once (shared imports, cycles).
/// </summary>
internal sealed class PackageModuleLoader(AppPackage package) : DocumentLoader
{
    private readonly Dictionary<string, Document> loaded = new(StringComparer.Ordinal);

    public const string Scheme = "app";

    public static Uri UriFor(string path) => new($"{Scheme}:///{Uri.EscapeDataString(path).Replace("%2F", "/")}");

    public static string PathOf(Uri uri) => Uri.UnescapeDataString(uri.AbsolutePath).TrimStart('/');

    public override Task<Document> LoadDocumentAsync(DocumentSettings settings, DocumentInfo? sourceInfo, string specifier, DocumentCategory category, DocumentContextCallback contextCallback)
    {
        try
        {
            var referrer = sourceInfo?.Uri is { } uri && uri.Scheme == Scheme ? PathOf(uri) : "";
            var path = ModuleResolver.Resolve(package, specifier, referrer);
            lock (loaded)
            {
                if (!loaded.TryGetValue(path, out var doc))
                {
                    var code = Encoding.UTF8.GetString(package.Get(path)!);
                    doc = new StringDocument(new DocumentInfo(UriFor(path)) { Category = ModuleCategory.Standard }, code);
                    loaded[path] = doc;
                }
                return Task.FromResult(doc);
            }
        }
        catch (AppLoadException e)
        {
            return Task.FromException<Document>(new FileNotFoundException(e.Message));
        }
    }
}
