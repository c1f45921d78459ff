using Blueboat.Channel;

namespace Blueboat.Tests.Runtime;

/// <summary>The Web APIs and Blueboat globals of the runtime layer, exercised through real handlers.</summary>
public class WebApiTests
{
    /// <summary>Runs `body` (statements ending in `return value`) inside a handler and returns its JSON result.</summary>
    private static System.Text.Json.JsonElement Eval(string body, Dictionary<string, string>? env = null, Dictionary<string, string>? files = null)
    {
        var code = $$"""
            export default { async fetch(request, env, ctx) {
              const result = await (async () => { {{body}} })();
              return Response.json(result);
            } };
            """;
        using var h = new RuntimeHarness(code, env, files);
        var r = h.Get("/");
        Assert.True(r.Status == 200, r.Text + string.Join("\n", h.Logs.Select(l => l.Message)));
        return System.Text.Json.JsonDocument.Parse(r.Text).RootElement.Clone();
    }

    [Fact]
    public void TextEncoderAndDecoderAreUtf8()
    {
        var r = Eval("""
            const e = new TextEncoder().encode("héllo €𝄞");
            const bad = new Uint8Array([0x61, 0xff, 0x62]);
            let fatal = null;
            try { new TextDecoder("utf-8", { fatal: true }).decode(bad); } catch (x) { fatal = x.name; }
            let label = null;
            try { new TextDecoder("latin1"); } catch (x) { label = x.name; }
            const d = new TextDecoder();
            const streamed = d.decode(e.subarray(0, 2), { stream: true }) + d.decode(e.subarray(2));
            return { bytes: Array.from(e), back: new TextDecoder().decode(e), replaced: new TextDecoder().decode(bad), fatal, label,
                     lone: Array.from(new TextEncoder().encode("\ud800")), streamed, empty: new TextEncoder().encode().length,
                     into: new TextEncoder().encodeInto("abc", new Uint8Array(2)) };
            """);
        Assert.Equal("héllo €𝄞", r.GetProperty("back").GetString());
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes("héllo €𝄞"), r.GetProperty("bytes").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());
        Assert.Equal("a\uFFFDb", r.GetProperty("replaced").GetString());
        Assert.Equal("TypeError", r.GetProperty("fatal").GetString());
        Assert.Equal("RangeError", r.GetProperty("label").GetString());
        Assert.Equal(new[] { 0xef, 0xbf, 0xbd }, r.GetProperty("lone").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal("héllo €𝄞", r.GetProperty("streamed").GetString());
        Assert.Equal(0, r.GetProperty("empty").GetInt32());
        Assert.Equal(2, r.GetProperty("into").GetProperty("written").GetInt32());
    }

    [Fact]
    public void SubtleDigestMatchesDotNetHashes()
    {
        var r = Eval("""
            const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
            const data = new TextEncoder().encode("abc");
            const view = new Uint8Array([0, 0x61, 0x62, 0x63, 0]).subarray(1, 4);
            let unknown = null;
            try { await crypto.subtle.digest("MD5", data); } catch (e) { unknown = e.name; }
            let notBytes = null;
            try { await crypto.subtle.digest("SHA-256", "abc"); } catch (e) { notBytes = e.name; }
            return {
              sha1: hex(await crypto.subtle.digest("SHA-1", data)),
              sha256: hex(await crypto.subtle.digest({ name: "sha-256" }, data)),
              sha384: hex(await crypto.subtle.digest("SHA-384", data.buffer)),
              sha512: hex(await crypto.subtle.digest("SHA-512", view)),
              empty: hex(await crypto.subtle.digest("SHA-256", new Uint8Array(0))),
              isBuffer: (await crypto.subtle.digest("SHA-256", data)) instanceof ArrayBuffer,
              unknown, notBytes,
            };
            """);
        var abc = System.Text.Encoding.ASCII.GetBytes("abc");
        string Hex(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();
        Assert.Equal(Hex(System.Security.Cryptography.SHA1.HashData(abc)), r.GetProperty("sha1").GetString());
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", r.GetProperty("sha256").GetString());
        Assert.Equal(Hex(System.Security.Cryptography.SHA384.HashData(abc)), r.GetProperty("sha384").GetString());
        Assert.Equal(Hex(System.Security.Cryptography.SHA512.HashData(abc)), r.GetProperty("sha512").GetString());
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", r.GetProperty("empty").GetString());
        Assert.True(r.GetProperty("isBuffer").GetBoolean());
        Assert.Equal("NotSupportedError", r.GetProperty("unknown").GetString());
        Assert.Equal("TypeError", r.GetProperty("notBytes").GetString());
    }

    [Fact]
    public void RequestUrlsAreSerialisedAsTheUrlParserDoes()
    {
        // Request takes a fast path for URLs already in canonical form; it must agree with URL everywhere.
        string[] urls =
        [
            "https://hello.bench/", "https://hello.bench", "http://a.b-c.example:8080/x/y?q=1&r=%20",
            "https://Hello.Bench/", "HTTPS://hello.bench/", "https://hello.bench:443/", "http://hello.bench:80/x",
            "https://hello.bench:0443/", "https://hello.bench:65536/", "https://hello.bench:65535/",
            "https://hello.bench/a/../b", "https://hello.bench/a/./b", "https://hello.bench/a/%2e%2E/b", "https://hello.bench/.",
            "https://hello.bench/a/..?x", "https://hello.bench/a/.b/..c", "https://127.1/", "https://127.0.0.1/", "https://a.0x7f/",
            "https://xn--nxasmq6b.com/", "https://a.xn--abc/", "https://hello.bench/%zz", "https://hello.bench/a b",
            "https://hello.bench/?a'b", "https://hello.bench/?a\"b", "https://hello.bench/p|q^r", "https://hello.bench/%7e?%7E",
            "https://hello.bench/a#frag", "https://user@hello.bench/", "https://hello.bench/\\x", "https://hello.bench/é",
            "https://hello.bench/a//b/", "https://hello.bench/?", "https://-a.bench/", "https://a..b/",
            "https://10.1.2.3:8080/x?y=1", "https://255.255.255.255/", "https://256.1.1.1/", "https://01.2.3.4/", "https://1.2.3/",
            "https://1.2.3.4.5/", "https://1.2.3.04/", "https://0.0.0.0/", "http://192.168.0.1:80/", "https://1.2.3.4:443/",
        ];
        var list = string.Join(",", urls.Select(u => System.Text.Json.JsonSerializer.Serialize(u)));
        var r = Eval($$"""
            const out = [];
            for (const u of [{{list}}]) {
              let viaUrl, viaRequest;
              try { viaUrl = new URL(u).href; } catch (e) { viaUrl = "throws"; }
              try { viaRequest = new Request(u).url; } catch (e) { viaRequest = "throws"; }
              out.push([u, viaUrl, viaRequest]);
            }
            return out;
            """);
        foreach (var row in r.EnumerateArray())
            Assert.True(row[1].GetString() == row[2].GetString(), $"{row[0]}: URL gives {row[1]}, Request gives {row[2]}");
        Assert.Equal(urls.Length, r.GetArrayLength());
    }

    [Theory]
    [InlineData("{\"a\":[1,2,3],\"s\":\"plain ascii\"}")]
    [InlineData("{\"s\":\"é ü 日本 😀\"}")]
    [InlineData("\uFEFF{\"bom\":true}")]
    public void IncomingBodiesReadAsTextJsonBytesAndClonesAlike(string text)
    {
        using var h = new RuntimeHarness("""
            export default { async fetch(request) {
              const copy = request.clone();
              const bytesCopy = request.clone();
              const t = await request.text();
              const j = await copy.json();
              const b = new Uint8Array(await bytesCopy.arrayBuffer());
              let reused = null;
              try { await request.json(); } catch (e) { reused = e.name; }
              return Response.json({ t, j, n: b.length, first: b[0], reused, used: request.bodyUsed });
            } };
            """);
        var body = System.Text.Encoding.UTF8.GetBytes(text);
        var r = h.Send("POST", "/", [new("content-type", "application/json")], body);
        Assert.Equal(200, r.Status);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Body);
        var root = doc.RootElement;
        var expected = text.TrimStart('\uFEFF'); // text() and json() drop a leading BOM, as UTF-8 decode does
        Assert.Equal(expected, root.GetProperty("t").GetString());
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonDocument.Parse(expected).RootElement), System.Text.Json.JsonSerializer.Serialize(root.GetProperty("j")));
        Assert.Equal(body.Length, root.GetProperty("n").GetInt32());
        Assert.Equal(body[0], root.GetProperty("first").GetInt32());
        Assert.Equal("TypeError", root.GetProperty("reused").GetString());
        Assert.True(root.GetProperty("used").GetBoolean());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(256)]
    [InlineData(8193)]
    [InlineData(64 * 1024)]      // the largest body that crosses as a binary string
    [InlineData(64 * 1024 + 1)]  // the smallest that crosses as a typed array
    [InlineData(300_000)]
    public void BodiesOfEveryByteValueCrossBothWaysUnchanged(int size)
    {
        using var h = new RuntimeHarness("""
            export default { async fetch(request) {
              const bytes = new Uint8Array(await request.arrayBuffer());
              const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
              return new Response(bytes, { headers: { "x-sha256": Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("") } });
            } };
            """);
        var body = new byte[size];
        new Random(size).NextBytes(body);
        for (var i = 0; i < Math.Min(size, 256); i++) body[i] = (byte)i;
        var r = h.Send("POST", "/", null, body);
        Assert.Equal(200, r.Status);
        Assert.Equal(body, r.Body);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(body)).ToLowerInvariant(), r.Header("x-sha256"));
    }

    [Fact]
    public void LongTextIsEncodedAndDecodedAsShortTextIs()
    {
        // Long inputs take the host's codec, short ones the JS loops: repeating a short piece must
        // give the repeated result of the piece, replacements and all.
        var r = Eval("""
            const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
            const piece = "aé€\ud800b😀\udc00c";
            const enc = new TextEncoder();
            const one = enc.encode(piece);
            const long = enc.encode(piece.repeat(200));
            const repeated = new Uint8Array(one.length * 200);
            for (let i = 0; i < 200; i++) repeated.set(one, i * one.length);
            const bad = [0x61, 0xff, 0x62, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0x80, 0x63, 0xf0, 0x9f, 0x98, 0x80, 0xc3, 0x28, 0xf4, 0x90, 0x80, 0x80, 0x64];
            const dec = new TextDecoder();
            const shortText = dec.decode(new Uint8Array(bad));
            const longBytes = new Uint8Array(bad.length * 100);
            for (let i = 0; i < 100; i++) longBytes.set(bad, i * bad.length);
            const withBom = new Uint8Array(3 + longBytes.length);
            withBom.set([0xef, 0xbb, 0xbf]);
            withBom.set(longBytes, 3);
            return {
              encodes: same(long, repeated),
              decodes: dec.decode(longBytes) === shortText.repeat(100),
              bom: dec.decode(withBom) === shortText.repeat(100),
              keptBom: new TextDecoder("utf-8", { ignoreBOM: true }).decode(withBom) === "\ufeff" + shortText.repeat(100),
              roundTrip: dec.decode(long) === piece.replace(/\ud800|\udc00/g, "\ufffd").repeat(200),
              shortText,
            };
            """);
        Assert.Equal("a\uFFFDb€\uFFFD\uFFFD\uFFFDc😀\uFFFD(\uFFFD\uFFFD\uFFFD\uFFFDd", r.GetProperty("shortText").GetString());
        foreach (var check in new[] { "encodes", "decodes", "bom", "keptBom", "roundTrip" })
            Assert.True(r.GetProperty(check).GetBoolean(), check);
    }

    [Fact]
    public void HeadersFollowTheFetchStandard()
    {
        var r = Eval("""
            const h = new Headers({ "Content-Type": "text/plain" });
            h.append("Set-Cookie", "a=1");
            h.append("set-cookie", "b=2");
            h.append("X-Multi", "1");
            h.append("x-multi", "2");
            let bad = null;
            try { h.set("bad name", "x"); } catch (e) { bad = e.name; }
            let badValue = null;
            try { h.set("x", "a\r\nb"); } catch (e) { badValue = e.name; }
            return { ct: h.get("content-type"), multi: h.get("X-MULTI"), cookies: h.getSetCookie(), entries: [...h],
                     has: h.has("x-multi"), missing: h.get("nope"), bad, badValue };
            """);
        Assert.Equal("text/plain", r.GetProperty("ct").GetString());
        Assert.Equal("1, 2", r.GetProperty("multi").GetString());
        Assert.Equal(2, r.GetProperty("cookies").GetArrayLength());
        Assert.Equal("""[["content-type","text/plain"],["set-cookie","a=1"],["set-cookie","b=2"],["x-multi","1, 2"]]""", r.GetProperty("entries").GetRawText());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, r.GetProperty("missing").ValueKind);
        Assert.Equal("TypeError", r.GetProperty("bad").GetString());
        Assert.Equal("TypeError", r.GetProperty("badValue").GetString());
    }

    [Fact]
    public void RequestAndResponseBasics()
    {
        var r = Eval("""
            const req = new Request("https://x.test/a?b=1", { method: "post", body: JSON.stringify({ k: 1 }), headers: { "content-type": "application/json" } });
            let getBody = null;
            try { new Request("https://x.test/", { method: "GET", body: "x" }); } catch (e) { getBody = e.name; }
            let badStatus = null;
            try { new Response("x", { status: 700 }); } catch (e) { badStatus = e.name; }
            const json = Response.json({ a: 1 }, { status: 201 });
            const redirect = Response.redirect("https://x.test/next", 307);
            const clone = req.clone();
            const data = await req.json();
            let reused = null;
            try { await req.text(); } catch (e) { reused = e.name; }
            const ab = await new Response(new Uint8Array([1, 2, 3])).arrayBuffer();
            return { method: req.method, url: req.url, data, cloneText: await clone.text(), getBody, badStatus, reused,
                     jsonStatus: json.status, jsonType: json.headers.get("content-type"), jsonText: await json.text(),
                     redirectStatus: redirect.status, location: redirect.headers.get("location"),
                     abLength: ab.byteLength, textType: new Response("s").headers.get("content-type"), ok: new Response("x", { status: 404 }).ok };
            """);
        Assert.Equal("POST", r.GetProperty("method").GetString());
        Assert.Equal("https://x.test/a?b=1", r.GetProperty("url").GetString());
        Assert.Equal(1, r.GetProperty("data").GetProperty("k").GetInt32());
        Assert.Equal("""{"k":1}""", r.GetProperty("cloneText").GetString());
        Assert.Equal("TypeError", r.GetProperty("getBody").GetString());
        Assert.Equal("RangeError", r.GetProperty("badStatus").GetString());
        Assert.Equal("TypeError", r.GetProperty("reused").GetString());
        Assert.Equal(201, r.GetProperty("jsonStatus").GetInt32());
        Assert.Equal("application/json", r.GetProperty("jsonType").GetString());
        Assert.Equal("""{"a":1}""", r.GetProperty("jsonText").GetString());
        Assert.Equal(307, r.GetProperty("redirectStatus").GetInt32());
        Assert.Equal("https://x.test/next", r.GetProperty("location").GetString());
        Assert.Equal(3, r.GetProperty("abLength").GetInt32());
        Assert.Equal("text/plain;charset=UTF-8", r.GetProperty("textType").GetString());
        Assert.False(r.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public void CryptoRandom()
    {
        var r = Eval("""
            const a = crypto.getRandomValues(new Uint8Array(32));
            const w = crypto.getRandomValues(new Uint32Array(4));
            let big = null;
            try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { big = e.name; }
            let floats = null;
            try { crypto.getRandomValues(new Float64Array(2)); } catch (e) { floats = e.name; }
            const ids = new Set(Array.from({ length: 100 }, () => crypto.randomUUID()));
            return { nonzero: a.some((x) => x !== 0), words: w.some((x) => x !== 0), big, floats, unique: ids.size, uuid: crypto.randomUUID() };
            """);
        Assert.True(r.GetProperty("nonzero").GetBoolean());
        Assert.True(r.GetProperty("words").GetBoolean());
        Assert.Equal("RangeError", r.GetProperty("big").GetString());
        Assert.Equal("TypeError", r.GetProperty("floats").GetString());
        Assert.Equal(100, r.GetProperty("unique").GetInt32());
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", r.GetProperty("uuid").GetString());
    }

    [Fact]
    public void AppEnvAndPackage()
    {
        var r = Eval("""
            let missing = null;
            try { App.mustGetEnv("NOPE"); } catch (e) { missing = e.message; }
            return { env: App.env.GREETING, must: App.mustGetEnv("GREETING"), fromFetchEnv: env.GREETING, missing,
                     files: Object.keys(Package).sort(), text: new TextDecoder().decode(Package["static/a.txt"]),
                     isU8: Package["static/a.txt"] instanceof Uint8Array, frozen: Object.isFrozen(App.env) };
            """, new() { ["GREETING"] = "hi" }, new() { ["static/a.txt"] = "file-a" });
        Assert.Equal("hi", r.GetProperty("env").GetString());
        Assert.Equal("hi", r.GetProperty("must").GetString());
        Assert.Equal("hi", r.GetProperty("fromFetchEnv").GetString());
        Assert.Contains("NOPE", r.GetProperty("missing").GetString());
        Assert.Equal("""["index.mjs","static/a.txt"]""", r.GetProperty("files").GetRawText());
        Assert.Equal("file-a", r.GetProperty("text").GetString());
        Assert.True(r.GetProperty("isU8").GetBoolean());
        Assert.True(r.GetProperty("frozen").GetBoolean());
    }

    [Fact]
    public void TimersFireInOrderAndClearTimeoutCancels()
    {
        var r = Eval("""
            const seen = [];
            await new Promise((resolve) => {
              setTimeout(() => seen.push("b"), 20);
              const t = setTimeout(() => seen.push("never"), 10);
              setTimeout(() => seen.push("a"), 5);
              clearTimeout(t);
              setTimeout(resolve, 30);
            });
            return seen;
            """);
        Assert.Equal("""["a","b"]""", r.GetRawText());
    }

    [Fact]
    public void ConsoleWritesLevelsAndTheRequestId()
    {
        using var h = new RuntimeHarness("""
            export default { fetch() {
              console.log("plain", { a: 1 }, 2);
              console.debug("dbg"); console.info("inf"); console.warn("wrn"); console.error("err");
              return new Response("ok");
            } };
            """);
        h.Get("/");
        Assert.Contains(h.Logs, l => l is { Level: LogLevel.Info, Message: "plain {\"a\":1} 2" } && l.RequestId == "req-1");
        Assert.Contains(h.Logs, l => l is { Level: LogLevel.Debug, Message: "dbg" });
        Assert.Contains(h.Logs, l => l is { Level: LogLevel.Info, Message: "inf" });
        Assert.Contains(h.Logs, l => l is { Level: LogLevel.Warn, Message: "wrn" });
        Assert.Contains(h.Logs, l => l is { Level: LogLevel.Error, Message: "err" });
    }

    [Fact]
    public void HostOperationsAreNotVisibleToApps()
    {
        var r = Eval("return Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith('__bb_') && n !== '__bb_bootstrap' && n !== '__bb_set_app_module');");
        Assert.Equal(0, r.GetArrayLength());
    }

    [Fact]
    public void ModulesImportRelativelyInsideThePackage()
    {
        using var h = new RuntimeHarness("""
            import { greet } from "./lib/greet";
            export default { fetch: () => new Response(greet("edge")) };
            """, moreFiles: new() { ["lib/greet.js"] = "import { suffix } from '../util/index.mjs'; export const greet = (n) => `hello ${n}${suffix}`;", ["util/index.mjs"] = "export const suffix = '!';" });
        Assert.Equal("hello edge!", h.Get("/").Text);
    }

    [Fact]
    public void ImportEscapingThePackageFailsTheLoad()
    {
        var e = Assert.ThrowsAny<Exception>(() => new RuntimeHarness("import x from '../../etc/passwd'; export default {};"));
        Assert.Contains("escapes the package root", e.ToString());
    }
}
