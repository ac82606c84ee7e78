using Authly.Configuration;
using Authly.OAuth;
using Authly.Users;
using Npgsql;

namespace Authly.Tokens;

/// <summary>Turns a decided grant into a token response: the access JWT and, for users, a rotated-family refresh token.</summary>
public sealed class TokenIssuer(JwtIssuer jwt, RefreshTokenStore refreshTokens, AuthlyOptions options)
{
    /// <summary>The client_id claim of tokens issued to the first-party CLI, which authenticates no client.</summary>
    public const string FirstPartyClientId = "authly-cli";

    public async Task<TokenResponse> ForClientAsync(string clientId, string scope, CancellationToken ct)
    {
        var access = await jwt.CreateAccessTokenAsync(clientId, clientId, scope, username: null, ct);
        return Response(access, null, scope);
    }

    /// <summary>A user's first tokens from a grant: the access token and, unless asked not to, a refresh token in a new family.</summary>
    public async Task<(TokenResponse Response, Guid? FamilyId, JwtIssuer.Issued Access)> ForUserAsync(User user, string? clientId, string scope,
        CancellationToken ct, bool withRefreshToken = true)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), clientId ?? FirstPartyClientId, scope, user.Username, ct);
        if (!withRefreshToken) return (Response(access, null, scope), null, access);
        var (refresh, family) = await refreshTokens.IssueAsync(user, clientId, scope, access.Jti, access.Expires, ct);
        return (Response(access, refresh, scope), family, access);
    }

    /// <summary>The same, with the refresh family written in the caller's transaction (a code redemption's), which commits it.</summary>
    public async Task<(TokenResponse Response, Guid? FamilyId, JwtIssuer.Issued Access)> ForUserAsync(User user, string? clientId, string scope,
        NpgsqlTransaction tx, CancellationToken ct, bool withRefreshToken = true)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), clientId ?? FirstPartyClientId, scope, user.Username, ct);
        if (!withRefreshToken) return (Response(access, null, scope), null, access);
        var (refresh, family) = await refreshTokens.IssueAsync(tx, user, clientId, scope, access.Jti, access.Expires, ct);
        return (Response(access, refresh, scope), family, access);
    }

    /// <summary>
    /// The answer to a refresh (RFC 6749 §6): a new access token and the rotated token's successor, written in the
    /// rotation's transaction so that the caller's <see cref="RefreshTokenStore.CommitAsync"/> makes them durable together.
    /// </summary>
    public async Task<TokenResponse> ForRotationAsync(RefreshTokenStore.Rotation rotation, User user, string scope, CancellationToken ct)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), rotation.Token!.ClientId ?? FirstPartyClientId, scope, user.Username, ct);
        var refresh = await refreshTokens.IssueAsync(rotation, access.Jti, access.Expires, ct);
        return Response(access, refresh, scope);
    }

    private TokenResponse Response(JwtIssuer.Issued access, string? refreshToken, string scope) => new()
    {
        AccessToken = access.Token,
        ExpiresIn = (int)options.AccessTokenLifetime.TotalSeconds,
        RefreshToken = refreshToken,
        Scope = scope,
    };
}
