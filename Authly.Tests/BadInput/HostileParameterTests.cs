using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.BadInput;

/// <summary>
/// API.md: bad input never reaches SQL unchecked, never produces a 500 and never changes state.
/// Every OAuth parameter that reaches a store gets SQL metacharacters, NUL, control characters,
/// 10k-character strings and unusual Unicode; the answer must be the RFC error (or
/// {"active":false} / 200 where the RFC says so), and the tables must be unchanged afterwards.
/// </summary>
[TestFixture, Category("BadInput")]
public sealed class HostileParameterTests : AppFixture
{
    // Many failed logins on purpose: keep the lockout out of the way (it has its own tests).
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "1000" };

    private AuthlyApp.TestUser _user = null!;
    private (string Id, string Secret) _basicClient;
    private (string Id, string Secret) _postClient;

    public static IEnumerable<TestCaseData> Payloads()
    {
        (string Name, string Value)[] payloads =
        [
            ("sql-or", "' OR 1=1 --"),
            ("sql-or-quoted", "admin' OR '1'='1"),
            ("sql-drop", "\"; DROP TABLE users; --"),
            ("sql-drop-clients", "'); DROP TABLE clients; --"),
            ("sql-comment", "admin'/*"),
            ("sql-union", "x' UNION SELECT password_hash FROM users --"),
            ("like-wildcards", "%_%"),
            ("backslash", "\\'\\\"\\\\"),
            ("nul-only", "\0"),
            ("nul-inside", "admin\0' OR 1=1"),
            ("nul-trailing", "admin\0"),
            ("control-chars", "\u0001\u0002\u001b[31m\u007f"),
            ("crlf", "x\r\nSet-Cookie: a=b"),
            ("tab", "read\twrite"),
            ("long-10k", new string('a', 10_000)),
            ("long-10k-quotes", new string('\'', 10_000)),
            ("unicode", "用户名🙂Ünïcödé"),
            ("unicode-rtl-bom", "\u202Eadmin\uFEFF"),
            ("unicode-combining", "a\u0301\u0301\u0301\u0301"),
            ("percent-literal", "%00%27%22"),
            ("json-ish", "{\"$ne\":null}"),
            ("whitespace", "   "),
        ];
        return payloads.Select(p => new TestCaseData(p.Value).SetArgDisplayNames(p.Name));
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _user = await _app.CreateUserAsync();
        var basic = await _app.CreateConfidentialClientAsync(scope: "read write");
        var post = await _app.CreateConfidentialClientAsync(scope: "read write", authMethod: "client_secret_post");
        (_basicClient, _postClient) = ((basic.Id, basic.Secret!), (post.Id, post.Secret!));
    }

    /// <summary>Runs <paramref name="send"/> between two snapshots; the tables must be identical.</summary>
    private async Task WithoutStateChangeAsync(Func<Task> send)
    {
        var before = await _app.StateSnapshotAsync();
        await send();
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before), "bad input changed the database");
    }

    /// <summary>An RFC 6749 §5.2 error with one of the allowed (status, error) pairs, and nothing internal.</summary>
    private static async Task AssertRefusedAsync(HttpResponseMessage response, params (HttpStatusCode Status, string Error)[] allowed)
    {
        var raw = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.LessThan(500), raw);
        var error = JsonNode.Parse(raw)?["error"]?.GetValue<string>();
        Assert.That(allowed, Does.Contain((response.StatusCode, error!)), $"unexpected answer {(int)response.StatusCode}: {raw}");
        await OAuthAssert.ErrorAsync(response, response.StatusCode, error!);
    }

    // RFC 6749 Appendix A: no OAuth parameter may contain NUL, and ASP.NET's form reader refuses it, so a form
    // carrying one is a malformed request (invalid_request) before any grant logic runs. Basic and JSON carry it further.
    private static bool FormRefuses(string value) => value.Contains('\0');

    private static readonly (HttpStatusCode, string) InvalidGrant = (HttpStatusCode.BadRequest, "invalid_grant");
    private static readonly (HttpStatusCode, string) InvalidRequest = (HttpStatusCode.BadRequest, "invalid_request");
    private static readonly (HttpStatusCode, string) InvalidScope = (HttpStatusCode.BadRequest, "invalid_scope");
    private static readonly (HttpStatusCode, string) InvalidClient = (HttpStatusCode.Unauthorized, "invalid_client");

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §4.3.2, §5.2: a hostile username is just a wrong login")]
    public async Task PasswordGrant_WithHostileUsername_ReturnsInvalidGrant(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var response = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", payload), ("password", "Admin-Password-123"));
            if (FormRefuses(payload) || payload.Trim().Length == 0) await AssertRefusedAsync(response, InvalidGrant, InvalidRequest);
            else await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant", "Incorrect username or password");
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §4.3.2, §5.2: a hostile password is just a wrong password")]
    public async Task PasswordGrant_WithHostilePassword_ReturnsInvalidGrant(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var response = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", _user.Username), ("password", payload));
            if (FormRefuses(payload)) await AssertRefusedAsync(response, InvalidRequest);
            else await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant", "Incorrect username or password");
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §2.3.1, §5.2: a hostile client_id in the form is an unknown client")]
    public async Task TokenRequest_WithHostileFormClientId_ReturnsInvalidClient(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var withSecret = await _app.PostFormAsync(TokenPath, ("grant_type", "client_credentials"), ("client_id", payload), ("client_secret", "x"));
            var withoutSecret = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("client_id", payload),
                ("username", _user.Username), ("password", _user.Password));
            if (FormRefuses(payload))
            {
                await AssertRefusedAsync(withSecret, InvalidRequest);
                await AssertRefusedAsync(withoutSecret, InvalidRequest);
                return;
            }
            if (payload.Trim().Length == 0)
            {
                // A blank client_id with a secret is a failed authentication; without one it may read as no client at all.
                await AssertRefusedAsync(withSecret, InvalidClient, InvalidRequest);
                Assert.That((int)withoutSecret.StatusCode, Is.LessThan(500));
                return;
            }
            await OAuthAssert.InvalidClientAsync(withSecret);
            await OAuthAssert.InvalidClientAsync(withoutSecret);
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §2.3.1, §5.2: a hostile client id in Basic is an unknown client")]
    public async Task TokenRequest_WithHostileBasicClientId_ReturnsInvalidClient(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var response = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(payload, "secret"), ("grant_type", "client_credentials"));
            await OAuthAssert.InvalidClientAsync(response);
            // Also sent without the §2.3.1 encoding, as a careless client would.
            var raw = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(payload.Replace(":", "") + ":secret")));
            await AssertRefusedAsync(await _app.PostFormAsync(TokenPath, raw, ("grant_type", "client_credentials")), InvalidClient);
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 8628 §3.1, RFC 6749 §5.2: a hostile client_id at device authorization is an unknown client")]
    public async Task DeviceAuthorization_WithHostileClientId_ReturnsInvalidClient(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var form = await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", payload), ("scope", "read"));
            if (FormRefuses(payload) || payload.Trim().Length == 0) await AssertRefusedAsync(form, InvalidRequest, InvalidClient);
            else await OAuthAssert.InvalidClientAsync(form);
            await OAuthAssert.InvalidClientAsync(await _app.PostFormAsync("/api/v1/oauth/device_authorization", AuthlyApp.Basic(payload, "x"), ("scope", "read")));
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §2.3.1, §5.2: a hostile secret is a wrong secret")]
    public async Task TokenRequest_WithHostileClientSecret_ReturnsInvalidClient(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            await OAuthAssert.InvalidClientAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_basicClient.Id, payload), ("grant_type", "client_credentials")));
            var post = await _app.PostFormAsync(TokenPath, ("grant_type", "client_credentials"), ("client_id", _postClient.Id), ("client_secret", payload));
            if (FormRefuses(payload)) await AssertRefusedAsync(post, InvalidRequest);
            else await OAuthAssert.InvalidClientAsync(post);
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §3.3, §5.2: a hostile scope is invalid_scope (or an ignored blank)")]
    public async Task TokenRequest_WithHostileScope_ReturnsInvalidScope(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var client = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_basicClient.Id, _basicClient.Secret),
                ("grant_type", "client_credentials"), ("scope", payload));
            var user = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", payload));
            if (FormRefuses(payload))
            {
                await AssertRefusedAsync(client, InvalidRequest);
                await AssertRefusedAsync(user, InvalidRequest);
                return;
            }
            if (payload.Trim().Length == 0)
            {
                // Only spaces: no scope requested, which is valid (§3.3); the state check below still applies to the token rows it adds.
                Assert.That(client.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(user.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.Pass("blank scope is no scope");
            }
            await AssertRefusedAsync(client, InvalidScope);
            await AssertRefusedAsync(user, InvalidScope);
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §6, §5.2: a hostile refresh token is invalid_grant")]
    public async Task RefreshGrant_WithHostileRefreshToken_ReturnsInvalidGrant(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var form = await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", payload));
            await AssertRefusedAsync(form, InvalidGrant, InvalidRequest);
            var json = await _app.CreateClient().PostAsync("/api/v1/oauth/refresh", new StringContent(
                new JsonObject { ["grant_type"] = "refresh_token", ["refresh_token"] = payload }.ToJsonString(), Encoding.UTF8, "application/json"));
            await AssertRefusedAsync(json, InvalidGrant, InvalidRequest);
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 7662 §2.2: a hostile token is {\"active\":false}")]
    public async Task Introspection_WithHostileToken_IsInactive(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            foreach (var hint in new[] { "access_token", "refresh_token", payload })
            {
                var response = await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", payload), ("token_type_hint", hint));
                if (FormRefuses(payload))
                {
                    await AssertRefusedAsync(response, InvalidRequest);
                    continue;
                }
                var raw = await response.Content.ReadAsStringAsync();
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), raw);
                Assert.That(raw, Is.EqualTo("""{"active":false}"""));
            }
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 7009 §2.2: revoking a hostile token answers 200 and revokes nothing")]
    public async Task Revocation_WithHostileToken_Returns200AndChangesNothing(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var form = await _app.PostFormAsync("/api/v1/oauth/revoke", ("token", payload), ("token_type_hint", payload));
            if (FormRefuses(payload)) await AssertRefusedAsync(form, InvalidRequest);
            else Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.OK), await form.Content.ReadAsStringAsync());
            var json = await _app.CreateClient().PostAsync("/api/v1/oauth/revoke", new StringContent(
                new JsonObject { ["token"] = payload, ["token_type_hint"] = "refresh_token" }.ToJsonString(), Encoding.UTF8, "application/json"));
            Assert.That(json.StatusCode, Is.EqualTo(HttpStatusCode.OK), await json.Content.ReadAsStringAsync());
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 7009 §2.1: a hostile client_id on revocation is a failed client authentication")]
    public async Task Revocation_WithHostileClientCredentials_ReturnsInvalidClient(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var response = await _app.PostFormAsync("/api/v1/oauth/revoke", AuthlyApp.Basic(payload, payload), ("token", "x"));
            await OAuthAssert.InvalidClientAsync(response);
            var json = await _app.CreateClient().PostAsync("/api/v1/oauth/revoke", new StringContent(
                new JsonObject { ["token"] = "x", ["client_id"] = payload, ["client_secret"] = payload }.ToJsonString(), Encoding.UTF8, "application/json"));
            if (payload.Trim().Length == 0) await AssertRefusedAsync(json, InvalidClient, InvalidRequest);
            else await OAuthAssert.InvalidClientAsync(json);
        });

    [TestCase(@"\u0000")]
    [TestCase(@"a\u0000b")]
    [TestCase(@"\ud800")]
    [TestCase(@"\udc00x\ud800")]
    [TestCase(@"\u202e\ufeff")]
    [Description("API.md: JSON bodies (revoke, refresh) with NUL and lone surrogates are refused or ignored, never a 500")]
    public async Task JsonEndpoints_WithEscapedNulOrLoneSurrogate_NeverFail(string escaped) =>
        await WithoutStateChangeAsync(async () =>
        {
            var http = _app.CreateClient();
            foreach (var (path, json) in new[]
            {
                ("/api/v1/oauth/revoke", $$"""{"token":"{{escaped}}"}"""),
                ("/api/v1/oauth/revoke", $$"""{"token":"x","client_id":"{{escaped}}","client_secret":"{{escaped}}"}"""),
                ("/api/v1/oauth/refresh", $$"""{"grant_type":"refresh_token","refresh_token":"{{escaped}}"}"""),
                ("/api/v1/oauth/refresh", $$"""{"grant_type":"refresh_token","refresh_token":"x","scope":"{{escaped}}"}"""),
            })
            {
                var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
                if (response.StatusCode == HttpStatusCode.OK) continue; // revoking an unknown token
                await AssertRefusedAsync(response, InvalidRequest, InvalidClient, InvalidGrant, InvalidScope);
            }
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §5.2: a hostile grant_type is unsupported_grant_type")]
    public async Task TokenRequest_WithHostileGrantType_ReturnsUnsupportedGrantType(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var response = await _app.PostFormAsync(TokenPath, ("grant_type", payload));
            if (FormRefuses(payload) || payload.Trim().Length == 0)
                await AssertRefusedAsync(response, InvalidRequest, (HttpStatusCode.BadRequest, "unsupported_grant_type"));
            else await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");
        });

    [TestCaseSource(nameof(Payloads)), Description("RFC 6749 §3.2: unknown parameters, whatever their names, are ignored")]
    public async Task TokenRequest_WithHostileParameterName_IgnoresIt(string payload) =>
        await WithoutStateChangeAsync(async () =>
        {
            var response = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_basicClient.Id, _basicClient.Secret),
                ("grant_type", "client_credentials"), (payload, "1"));
            // ASP.NET's form reader also caps a key at 2048 characters (FormOptions.KeyLengthLimit): a malformed request.
            if (FormRefuses(payload) || payload.Length > 2048) await AssertRefusedAsync(response, InvalidRequest);
            else Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        });
}
