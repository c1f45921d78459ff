namespace Blueboat.Tests.Support;

/// <summary>Router rules as data, checked both in-process and through the AOT binary (tests/apps/router).</summary>
public static class RouterCases
{
    /// <summary>Path and the handler that must answer it.</summary>
    public static TheoryData<string, string> Matches => new()
    {
        { "/a/x", "a-x" },
        { "/a/y/z", "a-y-z" },                  // exact beats wildcard
        { "/a/q/z", "a-star-z" },               // * matches one segment
        { "/static/", "static-dir" },
        { "/static/deep/file.css", "static-dir" }, // a directory handler catches what is below it
        { "/b", "b" },
        { "/:id", "literal-colon" },            // no parameters: ':id' is a literal segment
        { "/unknown/deep", "root-dir" },        // an unmatched first segment falls back to "/"
        { "/c/", "c-dir" },
        { "/c/d", "c-d" },
        { "/c/e", "c-dir" },
        { "/", "root-dir" },
    };

    /// <summary>Paths that must answer 404 `not found`.</summary>
    public static TheoryData<string> Misses => new()
    {
        "/a/w",      // no backtracking: /a chosen, no /a/ directory -> 404 although "/" exists
        "/a",        // an intermediate node without handlers
        "/a/x/more", // below a leaf without a directory handler
        "/b/",       // a trailing slash never matches the route without one
    };

    /// <summary>Empty intermediate segments: an ordinary miss, never an error.</summary>
    public static TheoryData<string, int, string> DoubleSlashes => new()
    {
        { "//x", 200, "root-dir" },
        { "/a//x", 404, "not found" },
        { "/c//d", 200, "c-dir" },
    };
}
