using Authly.Clients;
using Authly.Configuration;
using Authly.Counters;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Security;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Grants;

/// <summary>
/// RFC 6749 §4.3 resource owner password credentials. Not in OAuth 2.1; kept for Authly's CLI,
/// scripts and proxies, and switchable off (AUTHLY_PASSWORD_GRANT_ENABLED=false).
/// </summary>
public sealed class PasswordGrant(UserStore users, PasswordHasher hasher, LoginLockout lockout, ScopeStore scopeStore,
    TokenIssuer issuer, AuthlyOptions options) : IGrantHandler
{
    public const string BadCredentials = "Incorrect username or password";
    public const string Locked = "Too many failed attempts. Account temporarily locked.";

    public string GrantType => GrantTypes.Password;

    public event Action<string>? LoginAttempted;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        if (!options.PasswordGrantEnabled) throw OAuthException.UnsupportedGrantType("password grant disabled by configuration");
        var username = request.Required(Parameters.Username);
        var password = request.Required(Parameters.Password);
        if (username.Length > 255 || password.Length > 1024) throw OAuthException.InvalidGrant(BadCredentials, "oversized credentials");

        if (await lockout.LockedForAsync(username, ct) is { } lockedFor)
        {
            LoginAttempted?.Invoke("locked");
            throw OAuthException.TooManyRequests((int)Math.Ceiling(lockedFor.TotalSeconds), OAuthErrors.InvalidGrant, Locked);
        }

        var user = await users.FindByUsernameAsync(username, ct);
        // Unknown user and wrong password cost the same time and give the same answer.
        if (!hasher.Verify(password, user?.PasswordHash))
        {
            await lockout.RecordFailureAsync(username, ct);
            LoginAttempted?.Invoke("failure");
            throw OAuthException.InvalidGrant(BadCredentials, user is null ? "unknown user" : "wrong password");
        }
        // Only now, with the password proven, may the answer say something about the account.
        if (!user!.IsActive) { LoginAttempted?.Invoke("inactive"); throw OAuthException.InvalidGrant("Account is deactivated"); }
        if (!user.IsVerified) { LoginAttempted?.Invoke("unverified"); throw OAuthException.InvalidGrant("Account not verified"); }
        await lockout.ResetAsync(username, ct);

        var scope = await GrantedScopeAsync(user, client, request.Scope, ct);
        await users.RecordLoginAsync(user.Id, ct);
        LoginAttempted?.Invoke("success");
        var (response, _, _) = await issuer.ForUserAsync(user, client?.ClientId, scope, familyId: null, refreshScope: null, ct);
        return response with { RequiresPasswordChange = user.RequiresPasswordChange };
    }

    /// <summary>requested ∩ active scopes ∩ what the user may hold (∩ the client's, when there is one); nothing requested → the defaults.</summary>
    private async Task<string> GrantedScopeAsync(User user, Client? client, string? requestedScope, CancellationToken ct)
    {
        var active = await scopeStore.ActiveAsync(ct);
        var requested = ScopeSet.Parse(requestedScope);
        IEnumerable<string> candidates = requested.Count > 0 ? requested : active.Values.Where(s => s.IsDefault).Select(s => s.ScopeName);
        var granted = candidates.Where(active.ContainsKey).Where(s => UserScopePolicy.MayHold(user, s));
        if (client is not null) granted = granted.Where(s => client.Scopes.Contains(s, StringComparer.Ordinal));
        var list = granted.ToList();
        if (requested.Count > 0 && list.Count == 0)
            throw OAuthException.InvalidScope("None of the requested scopes can be granted");
        return ScopeSet.Join(list);
    }
}
