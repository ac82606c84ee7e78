using Authly.Authorization;
using Authly.Clients;
using Authly.OAuth;
using Authly.Oidc;
using Authly.Scopes;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Grants;

/// <summary>
/// RFC 8628 §3.4–3.5: the device polls with its device_code. Answers authorization_pending,
/// slow_down (polled faster than the interval; the interval grows by 5 s), access_denied,
/// expired_token, or the tokens, exactly once.
/// </summary>
public sealed class DeviceCodeGrant(DeviceAuthorization devices, UserStore users, ScopeStore scopeStore, TokenIssuer issuer,
    IdTokenIssuer idTokens, TimeProvider clock) : IGrantHandler
{
    public string GrantType => GrantTypes.DeviceCode;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        if (client is null) throw OAuthException.InvalidClient("the device grant needs client_id");
        var deviceCode = request.Required(Parameters.DeviceCode);
        var row = await devices.PollAsync(deviceCode, ct);
        if (row is null || row.ClientId != client.ClientId)
            throw OAuthException.InvalidGrant("The device code is invalid", row is null ? "unknown device code" : "device code of another client");
        if (row.Expired) throw new OAuthException(OAuthErrors.ExpiredToken, "The device code has expired");
        switch (row.Status)
        {
            case "denied": throw OAuthException.AccessDenied("The user denied the request");
            case "consumed": throw OAuthException.InvalidGrant("The device code was already used");
        }
        if (row.TooFast)
            throw new OAuthException(OAuthErrors.SlowDown, "Polling too fast; wait longer between requests");
        if (row.Status == "pending") throw new OAuthException(OAuthErrors.AuthorizationPending, "The user has not yet completed authorization");

        if (!await devices.ConsumeAsync(deviceCode, ct)) throw OAuthException.InvalidGrant("The device code was already used");
        var user = await users.FindByIdAsync(row.UserId!.Value, ct);
        if (user is null || !user.IsActive) throw OAuthException.InvalidGrant("The device code is invalid", "user missing or deactivated");
        // The scope the user approved, as far as the user and the client may still have it (ScopeDecision).
        var granted = ScopeDecision.Decide(GrantType, ScopeSet.Parse(row.Scope), await scopeStore.ActiveAsync(ct), client, user);
        var (response, _, _) = await issuer.ForUserAsync(user, client.ClientId, granted.Scope, request.Dpop, ct, granted.RefreshToken);
        if (granted.IdToken)
            response = response with { IdToken = await idTokens.CreateAsync(user, client.ClientId, granted.Scopes, null, row.AuthTime ?? clock.GetUtcNow().UtcDateTime, row.SessionId, response.AccessToken,
                row.Amr ?? Mfa.AuthenticationMethods.AfterPassword, ct) };
        return response;
    }
}
