using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Admin;

/// <summary>API.md "Keys: GET /admin/keys, POST /admin/keys/rotate" (admin:system:read / admin:system:write).</summary>
[TestFixture, Category("Admin")]
public sealed class KeysAdminTests : AppFixture
{
    private async Task<JsonArray> ListAsync()
    {
        var response = await _app.BearerClient(await _app.AdminTokenAsync("admin:system:read")).GetAsync("/admin/keys");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonNode.Parse(body)!.AsArray();
    }

    private async Task<string[]> JwksKidsAsync() =>
        JsonNode.Parse(await _app.CreateClient().GetStringAsync("/.well-known/jwks.json"))!["keys"]!.AsArray()
            .Select(k => k!["kid"]!.GetValue<string>()).ToArray();

    [Test]
    public async Task List_ShowsTheActiveKeyWithoutKeyMaterial()
    {
        var keys = await ListAsync();
        var active = keys.Where(k => k!["status"]!.GetValue<string>() == "active").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(active, Has.Count.EqualTo(1));
            Assert.That(active[0]!["alg"]!.GetValue<string>(), Is.EqualTo("RS256"));
            Assert.That(keys.SelectMany(k => k!.AsObject().Select(p => p.Key)).Distinct(),
                Is.EquivalentTo(new[] { "kid", "alg", "status", "created_at", "activates_at", "retired_at", "verify_until" }));
        });
    }

    [Test]
    public async Task Rotate_MakesANewActiveKey_TheOldOneStaysInTheJwks_AndItsTokensKeepWorking()
    {
        var before = await _app.AdminTokenAsync("admin:system:write admin:clients:read");
        var oldKid = new JsonWebToken(before).Kid;

        var response = await _app.BearerClient(before).PostAsync("/admin/keys/rotate", null);
        var body = await AuthlyApp.JsonAsync(response);
        var newKid = AuthlyApp.Str(body, "kid");
        var keys = await ListAsync();
        var after = await _app.AdminTokenAsync("admin:clients:read");

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(newKid, Is.Not.EqualTo(oldKid));
            Assert.That(new JsonWebToken(after).Kid, Is.EqualTo(newKid), "new tokens are signed with the new key");
            var old = keys.Single(k => k!["kid"]!.GetValue<string>() == oldKid)!;
            Assert.That(old["status"]!.GetValue<string>(), Is.EqualTo("retiring"), "issue 18: pending, active, retiring");
            Assert.That(old["verify_until"]!.GetValue<DateTime>(), Is.GreaterThan(DateTime.UtcNow.AddMinutes(59)));
            Assert.That(await JwksKidsAsync(), Does.Contain(oldKid).And.Contain(newKid));
            Assert.That((await _app.BearerClient(before).GetAsync("/admin/clients")).StatusCode, Is.EqualTo(HttpStatusCode.OK),
                "a token signed before the rotation is still accepted");
        });
    }

    [Test]
    public async Task Rotate_WithoutSystemWriteScope_Returns403_AndChangesNothing()
    {
        var kidsBefore = (await ListAsync()).Select(k => k!["kid"]!.GetValue<string>()).ToArray();
        var response = await _app.BearerClient(await _app.AdminTokenAsync("admin:system:read")).PostAsync("/admin/keys/rotate", null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((await ListAsync()).Select(k => k!["kid"]!.GetValue<string>()), Is.EquivalentTo(kidsBefore));
    }

    [Test]
    public async Task List_WithoutSystemReadScope_Returns403()
    {
        var response = await _app.BearerClient(await _app.AdminTokenAsync("admin:clients:read")).GetAsync("/admin/keys");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Rotate_InHs256Mode_Returns409WithDetail()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["AUTHLY_SIGNING_ALGORITHM"] = "HS256", ["JWT_SECRET_KEY"] = "hs256-test-secret-that-is-long-enough-0123456789",
        });
        var response = await app.BearerClient(await app.AdminTokenAsync("admin:system:write")).PostAsync("/admin/keys/rotate", null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "detail"), Does.Contain("HS256"));
    }
}
