using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Scopes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Vault;

/// <summary>
/// Any standard OpenID provider, over HTTP: endpoints from discovery, the provider's client
/// credentials by its registered method (RFC 6749 §2.3.1), JWTs checked against its JWKS.
/// Listing or ending a user's sessions has no standard API (OpenID Connect defines logout, not
/// session listing), so it is reported as unsupported.
/// </summary>
public sealed class OidcUpstream(UpstreamHttp http, OidcDiscovery discovery, VaultProviderStore providers, TimeProvider clock) : IUpstream
{
    private static readonly JsonWebTokenHandler Handler = new();
    // Only asymmetric algorithms: a provider's JWKS never holds a shared secret we could check HS* with, and "none" is never accepted.
    private static readonly string[] Algorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
    private static readonly TimeSpan JwksFresh = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan JwksRefetchAtMost = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (IList<SecurityKey> Keys, DateTimeOffset FetchedAt)> _jwks = new(StringComparer.Ordinal);

    private Task<ProviderMetadata> MetadataAsync(VaultProvider p, CancellationToken ct) => discovery.GetAsync(p.Issuer!, p.Name, ct);

    public async Task<string> AuthorizationUrlAsync(VaultProvider p, string redirectUri, string scope, string state, string codeChallenge, string nonce,
        CancellationToken ct)
    {
        var metadata = await MetadataAsync(p, ct);
        var query = new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = p.ClientId!,
            ["redirect_uri"] = redirectUri,
            ["scope"] = scope,
            ["state"] = state,
            ["code_challenge"] = codeChallenge,
            ["code_challenge_method"] = "S256",
            ["nonce"] = nonce,
        };
        // OIDC Core §11: a request for offline_access must use prompt=consent.
        if (scope.Split(' ').Contains(OidcScopes.OfflineAccess)) query["prompt"] = "consent";
        return WithQuery(metadata.AuthorizationEndpoint, query);
    }

    public async Task<(string Issuer, bool Required)> AuthorizationResponseIssuerAsync(VaultProvider p, CancellationToken ct)
    {
        var metadata = await MetadataAsync(p, ct);
        return (metadata.Issuer, metadata.IssParameterSupported);
    }

    public async Task<UpstreamTokenResponse> ExchangeCodeAsync(VaultProvider p, string code, string redirectUri, string codeVerifier, CancellationToken ct)
    {
        var metadata = await MetadataAsync(p, ct);
        return await TokenRequestAsync(p, metadata,
            [new("grant_type", "authorization_code"), new("code", code), new("redirect_uri", redirectUri), new("code_verifier", codeVerifier)], ct);
    }

    public async Task<UpstreamTokenResponse> RefreshAsync(VaultProvider p, string refreshToken, string? scope, string? resource, CancellationToken ct)
    {
        var metadata = await MetadataAsync(p, ct);
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "refresh_token"), new("refresh_token", refreshToken) };
        if (scope is not null) form.Add(new("scope", scope));
        if (resource is not null) form.Add(new("resource", resource)); // RFC 8707 §2.2
        return await TokenRequestAsync(p, metadata, form, ct);
    }

    public async Task<string?> SubjectAsync(VaultProvider p, UpstreamTokenResponse tokens, string nonce, CancellationToken ct)
    {
        if (tokens.IdToken is null) return null;
        var metadata = await MetadataAsync(p, ct);
        // OIDC Core §3.1.3.7: signature by the provider's key, iss, aud = our client_id, exp, and the nonce we sent.
        var jwt = await ValidateJwtAsync(p, metadata, tokens.IdToken, audience: p.ClientId, ct)
                  ?? throw VaultErrors.UpstreamUnavailable(p.Name, "the ID token did not validate (signature, issuer, audience or lifetime)");
        if (!jwt.TryGetPayloadValue<string>("nonce", out var got) || got != nonce)
            throw VaultErrors.UpstreamUnavailable(p.Name, "the ID token's nonce does not match the request");
        return jwt.Subject;
    }

    public async Task<bool> RevokeAsync(VaultProvider p, string token, string tokenTypeHint, CancellationToken ct)
    {
        var metadata = await MetadataAsync(p, ct);
        if (metadata.RevocationEndpoint is null) return false;
        var form = new List<KeyValuePair<string, string>> { new("token", token), new("token_type_hint", tokenTypeHint) };
        var response = await http.PostFormAsync(metadata.RevocationEndpoint, WithClient(p, form, out var auth), auth, p.Name, ct);
        // RFC 7009 §2.2: 200 whether or not the token was known; §2.2.1: unsupported_token_type means "cannot revoke this kind".
        if (response.Status == 200) return true;
        if (Error(response) == "unsupported_token_type") return false;
        throw Failure(p, response, "revocation");
    }

    public async Task<TokenValidation> ValidateAsync(VaultProvider p, string token, string? method, CancellationToken ct)
    {
        var metadata = await MetadataAsync(p, ct);
        var looksLikeJwt = token.Count(c => c == '.') == 2;
        var useJwks = method switch
        {
            "jwks" => true,
            "introspection" => false,
            _ => looksLikeJwt && metadata.JwksUri is not null,
        };
        if (useJwks)
        {
            if (metadata.JwksUri is null) throw VaultErrors.BadRequest($"The provider '{p.Name}' publishes no JWKS", "method");
            if (!looksLikeJwt) return TokenValidation.Inactive with { Method = "jwks" };
            var jwt = await ValidateJwtAsync(p, metadata, token, audience: null, ct);
            return jwt is null ? TokenValidation.Inactive with { Method = "jwks" } : FromJwt(jwt);
        }
        if (metadata.IntrospectionEndpoint is null)
            throw VaultErrors.BadRequest($"The provider '{p.Name}' offers no introspection endpoint, and the token is not a JWT it signs", "method");
        var form = new List<KeyValuePair<string, string>> { new("token", token), new("token_type_hint", "access_token") };
        var response = await http.PostFormAsync(metadata.IntrospectionEndpoint, WithClient(p, form, out var auth), auth, p.Name, ct);
        if (response.Status != 200 || response.Body is not { } body) throw Failure(p, response, "introspection");
        // RFC 7662 §2.2: anything but active=true is inactive, and then nothing else is trusted.
        if (!(body["active"] is JsonValue a && a.TryGetValue<bool>(out var active) && active)) return TokenValidation.Inactive with { Method = "introspection" };
        return new TokenValidation
        {
            Active = true, Method = "introspection", Sub = Str(body, "sub"), ClientId = Str(body, "client_id"), Scope = Str(body, "scope"),
            Username = Str(body, "username"), TokenType = Str(body, "token_type"), Exp = Long(body, "exp"), Iat = Long(body, "iat"),
            Iss = Str(body, "iss"), Aud = body["aud"]?.DeepClone(), Jti = Str(body, "jti"),
        };
    }

    // TODO: Keycloak lists and ends sessions through its account API (/realms/{realm}/account/sessions), which needs an
    // access token for the 'account' audience; not standard, and no Keycloak to test against here.
    public Task<IReadOnlyList<UpstreamSession>?> ListSessionsAsync(VaultProvider p, string subject, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<UpstreamSession>?>(null);

    public Task<bool?> EndSessionAsync(VaultProvider p, string subject, string sid, CancellationToken ct) => Task.FromResult<bool?>(null);

    public async Task<string?> CheckAsync(VaultProvider p, CancellationToken ct)
    {
        try
        {
            await discovery.GetAsync(p.Issuer!, p.Name, ct, refresh: true);
            return null;
        }
        catch (AuthlyException e) { return e.Private ?? e.Detail; }
    }

    private async Task<UpstreamTokenResponse> TokenRequestAsync(VaultProvider p, ProviderMetadata metadata, List<KeyValuePair<string, string>> form,
        CancellationToken ct)
    {
        var response = await http.PostFormAsync(metadata.TokenEndpoint, WithClient(p, form, out var auth), auth, p.Name, ct);
        if (response.Status == 200 && response.Body is { } body && Str(body, "access_token") is { Length: > 0 } accessToken)
        {
            var tokenType = Str(body, "token_type") ?? "Bearer";
            return new UpstreamTokenResponse(accessToken, Str(body, "refresh_token") is { Length: > 0 } r ? r : null,
                Long(body, "expires_in") is { } e ? (int)Math.Clamp(e, 0, int.MaxValue) : null, Str(body, "scope"), Str(body, "id_token"), tokenType);
        }
        throw Failure(p, response, "token request");
    }

    private static AuthlyException Failure(VaultProvider p, UpstreamHttp.Response response, string what)
    {
        var error = Error(response);
        var detail = $"{what} answered {response.Status}{(error is null ? "" : $" {error}")}";
        if (error == "invalid_grant") return VaultErrors.UpstreamInvalidGrant(p.Name, detail);
        if (response.Status is >= 400 and < 500 and not 429 && error is not null) return VaultErrors.UpstreamRejected(p.Name, error, detail);
        return VaultErrors.UpstreamUnavailable(p.Name, detail);
    }

    private static string? Error(UpstreamHttp.Response r) => r.Body is { } b ? Str(b, "error") : null;

    /// <summary>Adds the provider's client authentication: Basic header (default), form fields, or client_id alone (public client).</summary>
    private List<KeyValuePair<string, string>> WithClient(VaultProvider p, List<KeyValuePair<string, string>> form, out AuthenticationHeaderValue? authorization)
    {
        authorization = null;
        var secret = providers.ClientSecret(p);
        switch (p.TokenEndpointAuthMethod)
        {
            case "client_secret_basic" when secret is not null:
                // RFC 6749 §2.3.1: id and secret are form-url-encoded before Base64.
                var pair = $"{Uri.EscapeDataString(p.ClientId!)}:{Uri.EscapeDataString(secret)}";
                authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
                break;
            case "client_secret_post" when secret is not null:
                form.Add(new("client_id", p.ClientId!));
                form.Add(new("client_secret", secret));
                break;
            default:
                form.Add(new("client_id", p.ClientId!));
                break;
        }
        return form;
    }

    private async Task<JsonWebToken?> ValidateJwtAsync(VaultProvider p, ProviderMetadata metadata, string token, string? audience, CancellationToken ct)
    {
        if (metadata.JwksUri is null || token.Length > 16384) return null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var keys = await SigningKeysAsync(p, metadata.JwksUri, forceRefresh: attempt > 0, ct);
            var parameters = new TokenValidationParameters
            {
                ValidIssuer = metadata.Issuer,
                ValidateAudience = audience is not null,
                ValidAudience = audience,
                IssuerSigningKeys = keys,
                ValidAlgorithms = Algorithms,
                // Lifetime is checked below against the injected clock.
                ValidateLifetime = false,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
            };
            TokenValidationResult result;
            try { result = await Handler.ValidateTokenAsync(token, parameters); }
            catch (ArgumentException) { return null; }
            if (result.IsValid && result.SecurityToken is JsonWebToken jwt)
            {
                var now = clock.GetUtcNow();
                if (jwt.ValidTo == DateTime.MinValue || new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero) + ClockSkew <= now) return null;
                if (jwt.ValidFrom != DateTime.MinValue && new DateTimeOffset(jwt.ValidFrom, TimeSpan.Zero) - ClockSkew > now) return null;
                return jwt;
            }
            // A key we do not know yet may be a rotation at the provider: fetch the JWKS again, once.
            if (result.Exception is not SecurityTokenSignatureKeyNotFoundException) return null;
        }
        return null;
    }

    private async Task<IList<SecurityKey>> SigningKeysAsync(VaultProvider p, string jwksUri, bool forceRefresh, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var cached = _jwks.TryGetValue(jwksUri, out var hit);
        if (cached && (now - hit.FetchedAt < (forceRefresh ? JwksRefetchAtMost : JwksFresh))) return hit.Keys;
        var response = await http.GetJsonAsync(jwksUri, p.Name, ct);
        if (response.Status != 200 || response.Body is null)
        {
            if (cached) return hit.Keys;
            throw VaultErrors.UpstreamUnavailable(p.Name, $"JWKS answered {response.Status}");
        }
        IList<SecurityKey> keys;
        try { keys = new JsonWebKeySet(response.Body.ToJsonString()).GetSigningKeys(); }
        catch (ArgumentException e) { throw VaultErrors.UpstreamUnavailable(p.Name, "JWKS is malformed: " + e.Message); }
        _jwks[jwksUri] = (keys, now);
        return keys;
    }

    private static TokenValidation FromJwt(JsonWebToken jwt)
    {
        string? scope = jwt.TryGetPayloadValue<string>("scope", out var s) ? s
            : jwt.TryGetPayloadValue<string[]>("scp", out var scp) ? string.Join(' ', scp) : null;
        string? clientId = jwt.TryGetPayloadValue<string>("client_id", out var c) ? c : jwt.TryGetPayloadValue<string>("azp", out var azp) ? azp : null;
        var audiences = jwt.Audiences.ToList();
        return new TokenValidation
        {
            Active = true, Method = "jwks", Sub = jwt.Subject, ClientId = clientId, Scope = scope,
            Username = jwt.TryGetPayloadValue<string>("username", out var u) ? u : jwt.TryGetPayloadValue<string>("preferred_username", out var pu) ? pu : null,
            TokenType = "Bearer", Exp = jwt.TryGetPayloadValue<long>("exp", out var exp) ? exp : null,
            Iat = jwt.TryGetPayloadValue<long>("iat", out var iat) ? iat : null, Iss = jwt.Issuer,
            Aud = audiences.Count == 1 ? audiences[0] : audiences.Count == 0 ? null : audiences, Jti = string.IsNullOrEmpty(jwt.Id) ? null : jwt.Id,
        };
    }

    private static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>Appends parameters to an endpoint URL that may already have a query (OIDC Core §3.1.2.1 allows it).</summary>
    public static string WithQuery(string url, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var sb = new StringBuilder(url);
        var separator = url.Contains('?') ? (url.EndsWith('?') || url.EndsWith('&') ? "" : "&") : "?";
        foreach (var (k, v) in parameters)
        {
            sb.Append(separator).Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
            separator = "&";
        }
        return sb.ToString();
    }

    private static long? Long(JsonObject o, string key) =>
        o[key] is JsonValue v ? (v.TryGetValue<long>(out var l) ? l : v.TryGetValue<double>(out var d) ? (long)d
            : v.TryGetValue<string>(out var s) && long.TryParse(s, out var p) ? p : null) : null;
}
