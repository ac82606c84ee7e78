using Authly.Configuration;
using Authly.OAuth;
using Authly.Users;

namespace Authly.Tokens;

/// <summary>Turns a decided grant into a token response: the access JWT and, for users, a rotated-family refresh token.</summary>
public sealed class TokenIssuer(JwtIssuer jwt, RefreshTokenStore refreshTokens, AuthlyOptions options)
{
    /// <summary>The client_id claim of tokens issued to the first-party CLI, which authenticates no client.</summary>
    public const string FirstPartyClientId = "authly-cli";

    public async Task<TokenResponse> ForClientAsync(string clientId, string scope, CancellationToken ct)
    {
        var access = await jwt.CreateAccessTokenAsync(clientId, clientId, scope, username: null, ct);
        return new TokenResponse { AccessToken = access.Token, ExpiresIn = (int)options.AccessTokenLifetime.TotalSeconds, Scope = scope };
    }

    /// <param name="refreshScope">the scope the refresh token keeps (RFC 6749 §6: unchanged by narrowing); defaults to <paramref name="scope"/></param>
    public async Task<(TokenResponse Response, Guid? FamilyId, JwtIssuer.Issued Access)> ForUserAsync(User user, string? clientId, string scope,
        Guid? familyId, string? refreshScope, CancellationToken ct, bool withRefreshToken = true)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), clientId ?? FirstPartyClientId, scope, user.Username, ct);
        if (!withRefreshToken)
            return (new TokenResponse { AccessToken = access.Token, ExpiresIn = (int)options.AccessTokenLifetime.TotalSeconds, Scope = scope }, null, access);
        var (refresh, family) = await refreshTokens.IssueAsync(familyId, user, clientId, refreshScope ?? scope,
            options.RefreshTokenLifetime, access.Jti, access.Expires, ct);
        var response = new TokenResponse
        {
            AccessToken = access.Token,
            ExpiresIn = (int)options.AccessTokenLifetime.TotalSeconds,
            RefreshToken = refresh,
            Scope = scope,
        };
        return (response, family, access);
    }

    /// <summary>
    /// The answer to a refresh (RFC 6749 §6): a new access token and the rotated token's successor, written in the
    /// rotation's transaction so that the caller's <see cref="RefreshTokenStore.CommitAsync"/> makes them durable together.
    /// </summary>
    public async Task<TokenResponse> ForRotationAsync(RefreshTokenStore.Rotation rotation, User user, string scope, CancellationToken ct)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), rotation.Token!.ClientId ?? FirstPartyClientId, scope, user.Username, ct);
        var refresh = await refreshTokens.IssueAsync(rotation, access.Jti, access.Expires, ct);
        return new TokenResponse
        {
            AccessToken = access.Token,
            ExpiresIn = (int)options.AccessTokenLifetime.TotalSeconds,
            RefreshToken = refresh,
            Scope = scope,
        };
    }
}
