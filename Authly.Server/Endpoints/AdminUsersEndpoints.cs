using System.Text.Json.Serialization;
using Authly.Server.Http;
using Authly.Sessions;
using Authly.Users;

namespace Authly.Server.Endpoints;

/// <summary>
/// /admin/users: list, create, read, update, delete, reset-password, unlock and sessions. The
/// rules (last active admin, revocation on deactivation or reset) live in <see cref="UserAccounts"/>
/// and <see cref="UserStore"/>; this file only parses and answers.
/// </summary>
public static class AdminUsersEndpoints
{
    public sealed record CreateOptions([property: JsonPropertyName("generate_temp_password")] bool? GenerateTempPassword);

    public sealed record PasswordReset([property: JsonPropertyName("new_password")] string? NewPassword);

    public sealed record SessionView(
        [property: JsonPropertyName("session_id")] string SessionId,
        [property: JsonPropertyName("created_at")] DateTime CreatedAt,
        [property: JsonPropertyName("last_seen_at")] DateTime LastSeenAt,
        [property: JsonPropertyName("auth_time")] DateTime AuthTime,
        [property: JsonPropertyName("expires_at")] DateTime ExpiresAt,
        [property: JsonPropertyName("ip")] string? Ip,
        [property: JsonPropertyName("user_agent")] string? UserAgent)
    {

        public static SessionView Of(Session s) => new(s.Sid, s.CreatedAt, s.LastSeenAt, s.AuthTime,
            s.IdleExpiresAt < s.AbsoluteExpiresAt ? s.IdleExpiresAt : s.AbsoluteExpiresAt, s.Ip, s.UserAgent);
    }

    public static void MapAdminUsersEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/users", ListAsync).Needs("admin:users:read").WithSummary("Users, filtered and paged: {users, total_count, page_info}");
        admin.MapPost("/users", CreateAsync).Needs("admin:users:write").WithSummary("Create a user (generate_temp_password → temporary_password, shown once)");
        admin.MapGet("/users/{id}", GetAsync).Needs("admin:users:read");
        admin.MapPut("/users/{id}", UpdateAsync).Needs("admin:users:write")
            .WithSummary("Update a user; deactivation or a new password revokes the user's tokens and sessions");
        admin.MapDelete("/users/{id}", DeleteAsync).Needs("admin:users:write");
        admin.MapPost("/users/{id}/reset-password", ResetPasswordAsync).Needs("admin:users:write")
            .WithSummary("Set a new password (given, or generated and shown once); the user must change it at next login");
        admin.MapPost("/users/{id}/unlock", UnlockAsync).Needs("admin:users:write").WithSummary("Clear the user's failed-login lockout");
        admin.MapGet("/users/{id}/sessions", SessionsAsync).Needs("admin:users:read");
        admin.MapDelete("/users/{id}/sessions", EndSessionsAsync).Needs("admin:users:write").WithSummary("End all of the user's sessions and revoke their tokens");
        admin.MapDelete("/users/{id}/sessions/{sessionId}", EndSessionAsync).Needs("admin:users:write");
    }

    private static async Task<IResult> ListAsync(UserStore users, int? skip, int? limit, string? username, string? email, bool? is_active,
        bool? is_admin, bool? is_verified, string? search, CancellationToken ct)
    {
        var (l, o) = AdminEndpoints.Paging(limit, skip, offsetName: "skip");
        foreach (var (name, value) in new[] { ("username", username), ("email", email), ("search", search) })
            if (value is { Length: > 255 }) throw AuthlyException.BadRequest($"{name} is longer than 255 characters", name);
        var (page, total) = await users.ListAsync(new UserStore.ListFilter(username, email, is_active, is_admin, is_verified, search), l, o, ct);
        var pages = (int)((total + l - 1) / l);
        return Results.Json(new
        {
            users = page.Select(UserView.Of),
            total_count = total,
            page_info = new
            {
                skip = o, limit = l, count = page.Count, total_pages = pages, current_page = o / l + 1,
                has_next = o + page.Count < total, has_previous = o > 0,
            },
        });
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, UserAccounts accounts, CancellationToken ct)
    {
        // The body is read twice (the profile, then the create option), so it is buffered; it is at most 1 MiB.
        request.EnableBuffering();
        var profile = await JsonBody.ReadAsync<UserProfile>(request, ct);
        request.Body.Position = 0;
        var options = await JsonBody.ReadAsync<CreateOptions>(request, ct);
        var generate = options.GenerateTempPassword ?? false;
        if (generate && profile.Password is not null)
            throw AuthlyException.BadRequest("Give either password or generate_temp_password, not both", "password");
        var (user, temporary) = await accounts.CreateAsync(profile, generate, ct);
        var view = UserView.Of(user);
        if (temporary is null) return Results.Json(view, statusCode: 201);
        // Shown once, here; only its hash is stored.
        var body = System.Text.Json.JsonSerializer.SerializeToNode(view)!.AsObject();
        body["temporary_password"] = temporary;
        return Results.Json(body, statusCode: 201);
    }

    private static async Task<IResult> GetAsync(string id, UserStore users, CancellationToken ct) =>
        Results.Json(UserView.Of(await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User")));

    private static async Task<IResult> UpdateAsync(string id, HttpRequest request, UserAccounts accounts, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        var input = await JsonBody.ReadAsync<UserProfile>(request, ct);
        return Results.Json(UserView.Of(await accounts.UpdateAsync(guid, input, ct) ?? throw AuthlyException.NotFound("User")));
    }

    private static async Task<IResult> DeleteAsync(string id, UserAccounts accounts, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        return await accounts.DeleteAsync(guid, ct)
            ? Results.Json(new { message = "User deleted", user_id = guid })
            : throw AuthlyException.NotFound("User");
    }

    private static async Task<IResult> ResetPasswordAsync(string id, HttpRequest request, UserAccounts accounts, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        // No body (or an empty one) asks for a generated temporary password.
        var input = request.ContentLength is null or 0 && !request.Headers.TransferEncoding.Any()
            ? new PasswordReset(null)
            : await JsonBody.ReadAsync<PasswordReset>(request, ct);
        var result = await accounts.ResetPasswordAsync(guid, input.NewPassword, ct) ?? throw AuthlyException.NotFound("User");
        var body = new Dictionary<string, object?>
        {
            ["message"] = "Password reset; the user's tokens and sessions are revoked and a password change is required at next login",
            ["user_id"] = guid,
            ["requires_password_change"] = true,
        };
        // Only a generated password is shown (once); one the caller chose is never echoed.
        if (input.NewPassword is null) body["temporary_password"] = result.Password;
        return Results.Json(body);
    }

    private static async Task<IResult> UnlockAsync(string id, UserAccounts accounts, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        return await accounts.UnlockAsync(guid, ct)
            ? Results.Json(new { message = "User unlocked", user_id = guid })
            : throw AuthlyException.NotFound("User");
    }

    private static async Task<IResult> SessionsAsync(string id, UserStore users, SessionStore sessions, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        var list = await sessions.ListActiveAsync(user.Id, ct);
        return Results.Json(new { user_id = user.Id, sessions = list.Select(SessionView.Of), total_count = list.Count });
    }

    private static async Task<IResult> EndSessionsAsync(string id, UserStore users, UserAccounts accounts, SessionStore sessions, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        var count = (await sessions.ListActiveAsync(user.Id, ct)).Count;
        await accounts.RevokeEverythingAsync(user.Id, "sessions ended by admin", ct);
        return Results.Json(new { message = "Sessions ended and tokens revoked", user_id = user.Id, sessions_ended = count });
    }

    private static async Task<IResult> EndSessionAsync(string id, string sessionId, UserStore users, SessionStore sessions, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        if (sessionId.Length > 100) throw AuthlyException.NotFound("Session");
        return await sessions.EndBySidAsync(sessionId, user.Id, ct)
            ? Results.Json(new { message = "Session ended", user_id = user.Id, session_id = sessionId })
            : throw AuthlyException.NotFound("Session");
    }
}
