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
    // Each path keeps one Document (and so one DocumentInfo unique id) for the engine's life:
    // ClearScript finds a module compiled ahead with its code cache by that id and the code.
    private readonly Dictionary<string, (Document Document, string Code)> loaded = new(StringComparer.Ordinal);

    public const string Scheme = "app";

    public static Uri UriFor(string path) => new($"{Scheme}:///{Uri.EscapeDataString(path).Replace("%2F", "/")}");

    public static string PathOf(Uri uri) => Uri.UnescapeDataString(uri.AbsolutePath).TrimStart('/');

    /// <summary>The modules loaded so far, by package path, with their source.</summary>
    public IReadOnlyList<(string Path, Document Document, string Code)> Loaded
    {
        get { lock (loaded) return loaded.Select(kv => (kv.Key, kv.Value.Document, kv.Value.Code)).ToList(); }
    }

    /// <summary>The document of one package file, made once; null when the package has no such file.</summary>
    public (Document Document, string Code)? DocumentFor(string path)
    {
        lock (loaded)
        {
            if (loaded.TryGetValue(path, out var known)) return known;
            if (package.Get(path) is not { } bytes) return null;
            var code = Encoding.UTF8.GetString(bytes);
            var made = (Document: (Document)new StringDocument(new DocumentInfo(UriFor(path)) { Category = ModuleCategory.Standard }, code), Code: code);
            loaded[path] = made;
            return made;
        }
    }

    public override Task<Document> LoadDocumentAsync(DocumentSettings settings, DocumentInfo? sourceInfo, string specifier, DocumentCategory category, DocumentContextCallback contextCallback)
    {
        try
        {
            var referrer = sourceInfo?.Uri is { } uri && uri.Scheme == Scheme ? PathOf(uri) : "";
            var path = ModuleResolver.Resolve(package, specifier, referrer);
            return DocumentFor(path) is { } doc
                ? Task.FromResult(doc.Document)
                : Task.FromException<Document>(new FileNotFoundException($"module {path} is not in the package"));
        }
        catch (AppLoadException e)
        {
            return Task.FromException<Document>(new FileNotFoundException(e.Message));
        }
    }
}
