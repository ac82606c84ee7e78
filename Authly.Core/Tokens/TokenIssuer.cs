using Authly.Configuration;
using Authly.OAuth;
using Authly.OAuth.Dpop;
using Authly.Users;
using Npgsql;

namespace Authly.Tokens;

/// <summary>Turns a decided grant into a token response: the access JWT and, for users, a rotated-family refresh token.</summary>
public sealed class TokenIssuer(JwtIssuer jwt, RefreshTokenStore refreshTokens, AuthlyOptions options)
{
    /// <summary>The client_id claim of tokens issued to the first-party CLI, which authenticates no client.</summary>
    public const string FirstPartyClientId = "authly-cli";

    public Task<TokenResponse> ForClientAsync(string clientId, string scope, CancellationToken ct) => ForClientAsync(clientId, scope, null, ct);

    /// <param name="dpop">RFC 9449 §5: the proof's binding (the access token carries cnf.jkt, token_type DPoP), or null</param>
    /// <param name="resources">RFC 8707: the resources the token is for (its aud), already allowed; empty or null: the default audience</param>
    public async Task<TokenResponse> ForClientAsync(string clientId, string scope, DpopBinding? dpop, CancellationToken ct,
        IReadOnlyList<string>? resources = null)
    {
        var access = await jwt.CreateAccessTokenAsync(clientId, clientId, scope, username: null, dpop?.Jkt, ct, resources: resources);
        return Response(access, null, scope, dpop);
    }

    /// <summary>A user's first tokens from a grant: the access token and, unless asked not to, a refresh token in a new family.</summary>
    public Task<(TokenResponse Response, Guid? FamilyId, JwtIssuer.Issued Access)> ForUserAsync(User user, string? clientId, string scope,
        CancellationToken ct, bool withRefreshToken = true) => ForUserAsync(user, clientId, scope, null, ct, withRefreshToken);

    /// <summary>The same, bound to a DPoP key (RFC 9449 §5) when <paramref name="dpop"/> is given.</summary>
    public async Task<(TokenResponse Response, Guid? FamilyId, JwtIssuer.Issued Access)> ForUserAsync(User user, string? clientId, string scope,
        DpopBinding? dpop, CancellationToken ct, bool withRefreshToken = true)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), clientId ?? FirstPartyClientId, scope, user.Username, dpop?.Jkt, ct);
        if (!withRefreshToken) return (Response(access, null, scope, dpop), null, access);
        var (refresh, family) = await refreshTokens.IssueAsync(user, clientId, scope, access.Jti, access.Expires, RefreshJkt(dpop), ct);
        return (Response(access, refresh, scope, dpop), family, access);
    }

    /// <summary>The same, with the refresh family written in the caller's transaction (a code redemption's), which commits it.</summary>
    /// <param name="resources">RFC 8707: the access token's resources (its aud)</param>
    /// <param name="grantResources">RFC 8707 §2.2: all the resources of the grant, which the family keeps (a refresh may narrow to any of them)</param>
    public async Task<(TokenResponse Response, Guid? FamilyId, JwtIssuer.Issued Access)> ForUserAsync(User user, string? clientId, string scope,
        DpopBinding? dpop, NpgsqlTransaction tx, CancellationToken ct, bool withRefreshToken = true, IReadOnlyList<string>? resources = null,
        IReadOnlyList<string>? grantResources = null)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), clientId ?? FirstPartyClientId, scope, user.Username, dpop?.Jkt, ct,
            resources: resources);
        if (!withRefreshToken) return (Response(access, null, scope, dpop), null, access);
        var (refresh, family) = await refreshTokens.IssueAsync(tx, user, clientId, scope, access.Jti, access.Expires, RefreshJkt(dpop), ct, grantResources ?? resources);
        return (Response(access, refresh, scope, dpop), family, access);
    }

    /// <summary>
    /// The answer to a refresh (RFC 6749 §6): a new access token and the rotated token's successor, written in the
    /// rotation's transaction so that the caller's <see cref="RefreshTokenStore.CommitAsync"/> makes them durable together.
    /// </summary>
    /// <param name="resources">RFC 8707: the resources of this access token, within the family's (checked by the caller)</param>
    public async Task<TokenResponse> ForRotationAsync(RefreshTokenStore.Rotation rotation, User user, string scope, DpopBinding? dpop, CancellationToken ct,
        IReadOnlyList<string>? resources = null)
    {
        var access = await jwt.CreateAccessTokenAsync(user.Id.ToString(), rotation.Token!.ClientId ?? FirstPartyClientId, scope, user.Username, dpop?.Jkt, ct,
            resources: resources);
        var refresh = await refreshTokens.IssueAsync(rotation, access.Jti, access.Expires, ct);
        return Response(access, refresh, scope, dpop);
    }

    // RFC 9449 §5: only a public client's refresh family is bound to the key (a confidential client's is bound to its authentication).
    private static string? RefreshJkt(DpopBinding? dpop) => dpop is { BindsRefreshToken: true } ? dpop.Jkt : null;

    private TokenResponse Response(JwtIssuer.Issued access, string? refreshToken, string scope, DpopBinding? dpop) => new()
    {
        AccessToken = access.Token,
        // RFC 9449 §5: a bound access token is of type DPoP.
        TokenType = dpop is null ? "Bearer" : "DPoP",
        ExpiresIn = (int)options.AccessTokenLifetime.TotalSeconds,
        RefreshToken = refreshToken,
        Scope = scope,
    };
}
