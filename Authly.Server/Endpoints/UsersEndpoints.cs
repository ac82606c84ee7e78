using System.Text.Json.Serialization;
using Authly.Configuration;
using Authly.Scopes;
using Authly.Server.Http;
using Authly.Sessions;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Server.Endpoints;

/// <summary>/api/v1/users and /api/v1/auth: registration, the caller's account, and admin user management (admin rules as /admin).</summary>
public static class UsersEndpoints
{
    public sealed record Registration(
        [property: JsonPropertyName("username")] string? Username,
        [property: JsonPropertyName("email")] string? Email,
        [property: JsonPropertyName("password")] string? Password);

    public sealed record PasswordChange(
        [property: JsonPropertyName("current_password")] string? CurrentPassword,
        [property: JsonPropertyName("new_password")] string? NewPassword);

    public static void MapUsersEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/users/", RegisterAsync).WithTags("users").AddEndpointFilter<ApiErrorFilter>().RateLimited("registration")
            .WithSummary("Public registration (AUTHLY_REGISTRATION_ENABLED)");

        // Scopes decide (Authly.Core/Users/AccountAccess): /users/me shows what the token's scopes release; the account
        // record and the calls that end sessions or change the password need account:read / account:write or the CLI.
        var me = app.MapGroup("/api/v1").WithTags("users").AddEndpointFilter<ApiErrorFilter>().AddEndpointFilter<BearerUserFilter>();
        me.MapGet("/users/me", (HttpContext http) =>
                Results.Json(UserView.Only(UserView.Of(BearerUserFilter.UserOf(http)), AccountAccess.VisibleFields(BearerUserFilter.ClaimsOf(http)))))
            .WithSummary("The caller's account: the claims the token's scopes allow; all of it with account:read or the CLI");
        me.MapPost("/auth/logout", LogoutAsync).WithMetadata(new AccountScope(UserScopePolicy.AccountWrite))
            .WithSummary("Revoke the caller's tokens and end their sessions (account:write or the CLI)");
        me.MapPost("/auth/change-password", ChangePasswordAsync).WithMetadata(new AccountScope(UserScopePolicy.AccountWrite)).RateLimited("change-password")
            .WithSummary("Change the caller's password (account:write or the CLI)");
        me.MapGet("/auth/password-status", (HttpContext http) =>
        {
            var user = BearerUserFilter.UserOf(http);
            return Results.Json(new { requires_password_change = user.RequiresPasswordChange, username = user.Username });
        }).WithMetadata(new AccountScope(UserScopePolicy.AccountRead));

        var admin = app.MapGroup("/api/v1/users").WithTags("users").AddEndpointFilter<ApiErrorFilter>().AddEndpointFilter<AdminAuthorizationFilter>();
        admin.MapGet("/", ListAsync).Needs("admin:users:read");
        admin.MapGet("/{id}", GetAsync).Needs("admin:users:read");
        admin.MapPut("/{id}", UpdateAsync).Needs("admin:users:write");
        admin.MapDelete("/{id}", DeleteAsync).Needs("admin:users:write");
        admin.MapPut("/{id}/verify", VerifyAsync).Needs("admin:users:write");
    }

    private static async Task<IResult> RegisterAsync(HttpRequest request, UserAccounts accounts, AuthlyOptions options, CancellationToken ct)
    {
        if (!options.RegistrationEnabled) throw new AuthlyException(403, "Registration is disabled", "REGISTRATION_DISABLED");
        var input = await JsonBody.ReadAsync<Registration>(request, ct);
        var user = await accounts.RegisterAsync(input.Username, input.Email, input.Password, ct);
        return Results.Json(UserView.Of(user), statusCode: 201);
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, RevocationList revocations, UserAccounts accounts, CancellationToken ct)
    {
        var claims = BearerUserFilter.ClaimsOf(http);
        await revocations.RevokeAsync(claims.Jti, DateTimeOffset.FromUnixTimeSeconds(claims.Expires), ct);
        await accounts.RevokeEverythingAsync(BearerUserFilter.UserOf(http).Id, "logout", ct);
        return Results.Json(new { message = "Logged out" });
    }

    private static async Task<IResult> ChangePasswordAsync(HttpContext http, UserAccounts accounts, ClientAddress address, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<PasswordChange>(http.Request, ct);
        await accounts.ChangePasswordAsync(BearerUserFilter.UserOf(http).Id, input.CurrentPassword, input.NewPassword,
            BearerUserFilter.ClaimsOf(http).Jti, callerSid: null, address.Of(http)?.ToString(), ct);
        return Results.Json(new { message = "Password changed", requires_password_change = false });
    }

    private static async Task<IResult> ListAsync(UserStore users, int? skip, int? limit, string? username, string? email, bool? is_active,
        bool? is_admin, bool? is_verified, CancellationToken ct)
    {
        var (l, o) = AdminEndpoints.Paging(limit, skip, offsetName: "skip");
        var (page, _) = await users.ListAsync(new UserStore.ListFilter(username, email, is_active, is_admin, is_verified), l, o, ct);
        return Results.Json(page.Select(UserView.Of));
    }

    private static async Task<IResult> GetAsync(string id, UserStore users, CancellationToken ct) =>
        Results.Json(UserView.Of(await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User")));

    private static async Task<IResult> UpdateAsync(string id, HttpRequest request, UserAccounts accounts, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        var input = await JsonBody.ReadAsync<UserProfile>(request, ct);
        return Results.Json(UserView.Of(await accounts.UpdateAsync(guid, input, ct) ?? throw AuthlyException.NotFound("User")));
    }

    private static async Task<IResult> DeleteAsync(string id, UserAccounts accounts, CancellationToken ct) =>
        await accounts.DeleteAsync(RouteIds.Parse(id), ct) ? Results.NoContent() : throw AuthlyException.NotFound("User");

    private static async Task<IResult> VerifyAsync(string id, UserAccounts accounts, CancellationToken ct) =>
        Results.Json(UserView.Of(await accounts.UpdateAsync(RouteIds.Parse(id), new UserProfile { IsVerified = true }, ct) ?? throw AuthlyException.NotFound("User")));
}
