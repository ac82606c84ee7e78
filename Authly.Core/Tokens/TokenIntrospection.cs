using Authly.Telemetry;

namespace Authly.Tokens;

/// <summary>RFC 7662: what a token is, or {"active":false} for anything not valid and ours.</summary>
public sealed class TokenIntrospection(JwtIssuer jwt, RevocationList revocations, RefreshTokenStore refreshTokens, Issuer issuer)
{
    public async Task<IntrospectionResponse> IntrospectAsync(string? token, string? tokenTypeHint, CancellationToken ct)
    {
        using var span = AuthlyTracing.Source.StartActivity("introspect");
        var response = await LookUpAsync(token, tokenTypeHint, ct);
        span?.SetTag("oauth.token.active", response.Active);
        return response;
    }

    private async Task<IntrospectionResponse> LookUpAsync(string? token, string? tokenTypeHint, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 8192) return IntrospectionResponse.Inactive;
        // RFC 7662 §2.1: the hint only orders the lookups; a wrong hint must still find the token.
        if (tokenTypeHint == "refresh_token")
            return await RefreshAsync(token, ct) ?? await AccessAsync(token, ct) ?? IntrospectionResponse.Inactive;
        return await AccessAsync(token, ct) ?? await RefreshAsync(token, ct) ?? IntrospectionResponse.Inactive;
    }

    /// <summary>
    /// The claims of an access token presented as a bearer token (RFC 6750), or null: valid, unrevoked, and not DPoP-bound
    /// (RFC 9449 §7.1: a bound token is worthless without its key's proof, wherever it is presented as Bearer).
    /// </summary>
    public async Task<AccessTokenClaims?> ValidateAccessTokenAsync(string token, CancellationToken ct) =>
        await ValidateAsync(token, ct) is { Jkt: null } claims ? claims : null;

    /// <summary>A valid, unrevoked access token's claims, bound or not, or null. Introspection and <see cref="OAuth.Dpop.ResourceTokenAccess"/>.</summary>
    public async Task<AccessTokenClaims?> ValidateAsync(string token, CancellationToken ct)
    {
        var claims = await jwt.ValidateAsync(token, ct);
        if (claims is null || await revocations.IsRevokedAsync(claims.Jti, ct)) return null;
        return claims;
    }

    private async Task<IntrospectionResponse?> AccessAsync(string token, CancellationToken ct)
    {
        var c = await ValidateAsync(token, ct);
        if (c is null) return null;
        return new IntrospectionResponse
        {
            // RFC 9449 §6.2: a bound token shows its binding and its type.
            Active = true, Scope = c.Scope, ClientId = c.ClientId, Username = c.Username, TokenType = c.Jkt is null ? "Bearer" : "DPoP",
            Cnf = c.Jkt is null ? null : new Dictionary<string, string> { ["jkt"] = c.Jkt },
            Exp = c.Expires, Iat = c.IssuedAt, Nbf = c.NotBefore, Sub = c.Subject, Aud = c.Audience, Iss = c.Issuer, Jti = c.Jti,
        };
    }

    private async Task<IntrospectionResponse?> RefreshAsync(string token, CancellationToken ct)
    {
        if (token.Contains('.')) return null;
        var row = await refreshTokens.FindActiveAsync(token, ct);
        if (row is null) return null;
        return new IntrospectionResponse
        {
            Active = true, Scope = row.Scope, ClientId = row.ClientId ?? TokenIssuer.FirstPartyClientId, Username = row.Username,
            TokenType = "refresh_token", Exp = Unix(row.ExpiresAt), Iat = Unix(row.IssuedAt), Sub = row.UserId.ToString(),
            Aud = jwt.Audience, Iss = issuer.Value, Jti = row.Id.ToString(),
        };
    }

    // Npgsql reads timestamptz as a UTC DateTime, so the offset is zero.
    private static long Unix(DateTime utc) => new DateTimeOffset(utc).ToUnixTimeSeconds();
}
