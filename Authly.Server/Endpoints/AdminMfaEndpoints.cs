using System.Text.Json.Serialization;
using Authly.Admin;
using Authly.Mfa;
using Authly.Server.Http;
using Authly.Users;

namespace Authly.Server.Endpoints;

/// <summary>
/// /admin/users/{id}/mfa: see a user's second factors and the mfa_required policy, set the policy, and reset
/// (all factors, or one kind). The rules are <see cref="SecondFactors"/>'; every reset writes an audit line.
/// </summary>
public static class AdminMfaEndpoints
{
    public sealed record MfaView(
        [property: JsonPropertyName("user_id")] Guid UserId,
        [property: JsonPropertyName("mfa_required")] bool MfaRequired,
        [property: JsonPropertyName("required_by_policy")] bool RequiredByPolicy,
        [property: JsonPropertyName("factors")] IReadOnlyList<FactorView> Factors);

    public sealed record FactorView(
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("confirmed_at"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? ConfirmedAt,
        [property: JsonPropertyName("last_used_at"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? LastUsedAt,
        [property: JsonPropertyName("remaining"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Remaining,
        [property: JsonPropertyName("count"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Count = null);

    public sealed record PolicyChange([property: JsonPropertyName("mfa_required")] bool? MfaRequired);

    public static void MapAdminMfaEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/users/{id}/mfa", GetAsync).Needs("admin:users:read").WithSummary("The user's second factors and whether one is required");
        admin.MapPut("/users/{id}/mfa", SetPolicyAsync).Needs("admin:users:write").WithSummary("Set mfa_required for the user");
        admin.MapDelete("/users/{id}/mfa", ResetAsync).Needs("admin:users:write")
            .WithSummary("Remove all of the user's second factors (they enrol again at the next login if one is required)");
        admin.MapDelete("/users/{id}/mfa/{kind}", RemoveAsync).Needs("admin:users:write").WithSummary("Remove one kind of factor: totp, passkey (all of them) or recovery_code");
    }

    private static string Actor(HttpContext http) =>
        http.Items[typeof(AdminAccess.Decision)] is AdminAccess.Decision { User: { } admin } ? "admin:" + admin.Id.ToString("D") : "admin";

    private static async Task<IResult> GetAsync(string id, UserStore users, SecondFactors factors, SecondFactorPolicy policy, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        return Results.Json(await ViewAsync(user, factors, policy, ct));
    }

    private static async Task<MfaView> ViewAsync(User user, SecondFactors factors, SecondFactorPolicy policy, CancellationToken ct)
    {
        var s = await factors.SummaryAsync(user.Id, ct);
        var list = new List<FactorView>();
        if (s.Totp) list.Add(new(SecondFactors.Totp, s.TotpConfirmedAt, s.TotpLastUsedAt, null));
        if (s.Passkeys > 0) list.Add(new(SecondFactors.Passkey, null, null, null, s.Passkeys));
        if (s.RecoveryCodesRemaining > 0) list.Add(new(SecondFactors.RecoveryCode, null, null, s.RecoveryCodesRemaining));
        return new MfaView(user.Id, user.MfaRequired, policy.Requires(user), list);
    }

    private static async Task<IResult> SetPolicyAsync(string id, HttpRequest request, UserStore users, SecondFactors factors, SecondFactorPolicy policy,
        MfaAudit audit, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        var input = await JsonBody.ReadAsync<PolicyChange>(request, ct);
        if (input.MfaRequired is not { } required) throw AuthlyException.Validation("mfa_required (true or false) is required", "mfa_required");
        var user = await users.SetMfaRequiredAsync(guid, required, ct) ?? throw AuthlyException.NotFound("User");
        audit.Write("policy", required ? "required" : "not_required", user.Id, Actor(request.HttpContext));
        return Results.Json(await ViewAsync(user, factors, policy, ct));
    }

    private static async Task<IResult> ResetAsync(string id, HttpContext http, UserStore users, SecondFactors factors, MfaAudit audit, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        var removed = await factors.ResetAsync(user.Id, ct);
        audit.Write("reset", removed ? "removed" : "none", user.Id, Actor(http));
        return Results.Json(new { message = removed ? "Second factors removed" : "The user had no second factor", user_id = user.Id, removed });
    }

    private static async Task<IResult> RemoveAsync(string id, string kind, HttpContext http, UserStore users, SecondFactors factors, MfaAudit audit,
        CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        var removed = await factors.RemoveAsync(user.Id, kind, ct);
        audit.Write("reset", removed ? "removed" : "none", user.Id, Actor(http), kind);
        return Results.Json(new { message = removed ? "Factor removed" : "The user had no such factor", user_id = user.Id, type = kind, removed });
    }
}
