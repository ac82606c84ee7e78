using System.Net;
using System.Text.Json.Nodes;

namespace Authly.Tests.Infrastructure;

/// <summary>Wire-level checks shared by the spec folders: RFC 6749 §5.1/§5.2 headers and error bodies, and that nothing internal leaks.</summary>
public static class OAuthAssert
{
    // Text that only ever reaches a response through a leaked exception, stack trace or SQL error.
    private static readonly string[] InternalMarkers =
        ["Exception", "   at ", "StackTrace", "Npgsql", "Postgres", "SqlState", "System.", "Authly.", "Dapper", "syntax error", "stack"];

    /// <summary>RFC 6749 §5.1: token responses and errors are not cached.</summary>
    public static void NoStore(HttpResponseMessage response)
    {
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True, "Cache-Control: no-store");
        Assert.That(response.Headers.Pragma.Select(p => p.Name), Does.Contain("no-cache"), "Pragma: no-cache");
    }

    /// <summary>No stack trace, exception type, SQL or server detail in a body.</summary>
    public static void NothingInternal(string body)
    {
        foreach (var marker in InternalMarkers)
            Assert.That(body, Does.Not.Contain(marker), $"response body leaks internal detail: {body}");
    }

    /// <summary>
    /// RFC 6749 §5.2 error: the status, no-store headers, a JSON body with only "error" and
    /// "error_description" (both strings), the expected code and nothing internal. Returns the body.
    /// </summary>
    public static async Task<JsonObject> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error, string? description = null)
    {
        var raw = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), raw);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), raw);
        var body = JsonNode.Parse(raw)!.AsObject();
        Assert.Multiple(() =>
        {
            NoStore(response);
            Assert.That(body.Select(p => p.Key), Is.SubsetOf(new[] { "error", "error_description" }), raw);
            Assert.That(body["error"]?.GetValue<string>(), Is.EqualTo(error), raw);
            if (body["error_description"] is { } d)
            {
                // §5.2: error_description is ASCII without '"' and '\'.
                var text = d.GetValue<string>();
                Assert.That(text.All(c => c is >= ' ' and <= '~' and not '"' and not '\\'), Is.True, $"error_description charset: {text}");
            }
            if (description is not null) Assert.That(body["error_description"]?.GetValue<string>(), Is.EqualTo(description), raw);
            NothingInternal(raw);
        });
        return body;
    }

    /// <summary>RFC 6749 §5.2: invalid_client is 401 with a WWW-Authenticate challenge (Basic, as API.md names it).</summary>
    public static async Task<JsonObject> InvalidClientAsync(HttpResponseMessage response)
    {
        var body = await ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        var challenge = response.Headers.WwwAuthenticate.SingleOrDefault();
        Assert.That(challenge?.Scheme, Is.EqualTo("Basic"), "WWW-Authenticate scheme");
        Assert.That(challenge?.Parameter, Is.EqualTo("realm=\"authly\""), "WWW-Authenticate realm");
        return body;
    }

    /// <summary>RFC 6749 §5.1 success: 200, no-store, Bearer, an access token, integer expires_in. Returns the body.</summary>
    public static async Task<JsonObject> TokenAsync(HttpResponseMessage response)
    {
        var raw = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), raw);
        var body = JsonNode.Parse(raw)!.AsObject();
        Assert.Multiple(() =>
        {
            NoStore(response);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(body["access_token"]?.GetValue<string>(), Is.Not.Empty, raw);
            Assert.That(body["token_type"]?.GetValue<string>(), Is.EqualTo("Bearer"), raw);
            Assert.That(body["expires_in"]?.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number), raw);
            Assert.That(body["scope"]?.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.String), raw);
        });
        return body;
    }
}
