using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Authly.Tests.Infrastructure;

/// <summary>Users made the way a real one is: public registration, then an admin verifies the account.</summary>
public static class TestUsers
{
    public sealed record TestUser(Guid Id, string Username, string Password, string Email);

    public static async Task<TestUser> RegisterUserAsync(this AuthlyApp app, string? username = null, string password = "User-Password-123")
    {
        username ??= "u" + Guid.NewGuid().ToString("N")[..12];
        var email = username + "@example.com";
        var response = await app.CreateClient().PostAsJsonAsync(UsersPath, new { username, email, password });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body);
        var id = Guid.Parse(JsonNode.Parse(body)!["id"]!.GetValue<string>());
        var admin = app.BearerClient(await app.AdminTokenAsync("admin:users:write"));
        var verified = await admin.PutAsync($"/api/v1/users/{id}/verify", null);
        Assert.That((int)verified.StatusCode, Is.EqualTo(200), await verified.Content.ReadAsStringAsync());
        return new TestUser(id, username, password, email);
    }

    /// <summary>Sets profile claims through the admin users API (PUT /api/v1/users/{id}).</summary>
    public static async Task UpdateUserAsync(this AuthlyApp app, Guid id, object profile)
    {
        var admin = app.BearerClient(await app.AdminTokenAsync("admin:users:write"));
        var response = await admin.PutAsJsonAsync($"/api/v1/users/{id}", profile);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
    }
}
