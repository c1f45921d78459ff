using Blueboat.Channel;
using Blueboat.Runtime.Glue;

namespace Blueboat.Tests.Unit;

/// <summary>The text forms between the worker and the runtime: request events and response header lines.</summary>
public class RuntimeEventsTests
{
    private static RequestHead Head(string url = "https://h.test/p?q=1", string requestId = "u:1", string method = "GET", params (string Name, string Value)[] headers) =>
        new(method, url, requestId, "127.0.0.1", headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value)).ToList());

    [Fact]
    public void ARequestIsItsFieldsJoinedByNewlines()
    {
        var text = RuntimeEvents.ForRequest(7, Head(headers: [("host", "h.test"), ("x-empty", ""), ("x-latin", "café"), ("x-utf", "€ 😀")]), 12);
        Assert.Equal("1\n7\n12\nu:1\nGET\nhttps://h.test/p?q=1\nhost\nh.test\nx-empty\n\nx-latin\ncafé\nx-utf\n€ 😀", text);
        Assert.Equal("1\n4294967295\n0\nu:1\nGET\nhttps://h.test/p?q=1", RuntimeEvents.ForRequest(uint.MaxValue, Head(), 0));
    }

    [Theory]
    [InlineData("url")]
    [InlineData("requestId")]
    [InlineData("method")]
    [InlineData("name")]
    [InlineData("value")]
    public void AFieldHoldingTheSeparatorSendsTheRequestAsJson(string field)
    {
        var head = Head(
            url: field == "url" ? "https://h.test/a\nb" : "https://h.test/",
            requestId: field == "requestId" ? "id\n2" : "u:1",
            method: field == "method" ? "GE\nT" : "GET",
            headers: [("host", "h.test"), (field == "name" ? "x-\nname" : "x-name", field == "value" ? "\nv\n" : "v")]);
        var text = RuntimeEvents.ForRequest(3, head, 5);
        Assert.StartsWith("{", text);
        var json = System.Text.Json.JsonDocument.Parse(text).RootElement;
        Assert.Equal(1, json.GetProperty("kind").GetInt32());
        Assert.Equal(3, json.GetProperty("id").GetInt32());
        Assert.Equal(5, json.GetProperty("bodyLength").GetInt32());
        Assert.Equal(head.Url, json.GetProperty("url").GetString());
        Assert.Equal(head.RequestId, json.GetProperty("requestId").GetString());
        Assert.Equal(head.Method, json.GetProperty("method").GetString());
        Assert.Equal(head.Headers.SelectMany(h => new[] { h.Key, h.Value }), json.GetProperty("headers").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void TimersAndAbandonsAreTwoFields()
    {
        Assert.Equal("2\n42", RuntimeEvents.ForTimer(42));
        Assert.Equal("3\n4294967295", RuntimeEvents.ForAbandon(uint.MaxValue));
    }

    [Fact]
    public void HeaderLinesSplitIntoPairs()
    {
        Assert.Empty(RuntimeEvents.ParseHeaderLines(""));
        Assert.Equal([new("content-type", "text/plain")], RuntimeEvents.ParseHeaderLines("content-type\ntext/plain"));
        Assert.Equal([new("x-a", ""), new("x-b", ""), new("set-cookie", "a=1"), new("set-cookie", "b=2"), new("x-latin", "café"), new("x-c", "")],
            RuntimeEvents.ParseHeaderLines("x-a\n\nx-b\n\nset-cookie\na=1\nset-cookie\nb=2\nx-latin\ncafé\nx-c\n"));
        var many = Enumerable.Range(0, 1000).Select(i => new KeyValuePair<string, string>($"x-{i}", i % 3 == 0 ? "" : $"v {i}")).ToList();
        Assert.Equal(many, RuntimeEvents.ParseHeaderLines(string.Join("\n", many.Select(h => h.Key + "\n" + h.Value))));
    }

    [Theory]
    [InlineData("x-a")] // a name without its value
    [InlineData("x-a\nv\nx-b")]
    [InlineData("x-a\nv\n")] // ends with a separator: an odd number of fields
    [InlineData("\nv")] // an empty name
    [InlineData("x-a\nv\n\nw")]
    [InlineData("\n")]
    public void MalformedHeaderLinesAreRefused(string lines) =>
        Assert.Throws<ArgumentException>(() => RuntimeEvents.ParseHeaderLines(lines));
}
