using Authly.Clients;
using Authly.Grants;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Sessions;
using Authly.Tokens;

namespace Authly.Vault;

/// <summary>
/// This Authly as a provider, called in process: the same grant, revocation and introspection
/// code the HTTP endpoints run, with the vault's own client (registered on first use, redirect
/// URI {issuer}/api/v1/vault/callback). Only the browser leg of the connect flow goes over HTTP.
/// Sessions are Authly's own, so they can be listed and ended.
/// </summary>
public sealed class LocalUpstream(ClientStore clients, VaultProviderStore providers, AuthorizationCodeGrant codeGrant, RefreshTokenGrant refreshGrant,
    TokenRevocation revocation, TokenIntrospection introspection, JwtIssuer jwt, SessionStore sessions, Issuer issuer) : IUpstream
{
    public async Task<string> AuthorizationUrlAsync(VaultProvider p, string redirectUri, string scope, string state, string codeChallenge, string nonce,
        CancellationToken ct)
    {
        var client = await EnsureClientAsync(p, redirectUri, ct);
        var query = new Dictionary<string, string>
        {
            ["response_type"] = "code", ["client_id"] = client.ClientId, ["redirect_uri"] = redirectUri, ["scope"] = scope, ["state"] = state,
            ["code_challenge"] = codeChallenge, ["code_challenge_method"] = "S256", ["nonce"] = nonce,
        };
        if (scope.Split(' ').Contains(OidcScopes.OfflineAccess)) query["prompt"] = "consent"; // OIDC Core §11
        return OidcUpstream.WithQuery(issuer.Value + "/api/v1/oauth/authorize", query);
    }

    // Authly's authorize endpoint always sends iss (RFC 9207).
    public Task<(string Issuer, bool Required)> AuthorizationResponseIssuerAsync(VaultProvider p, CancellationToken ct) =>
        Task.FromResult((issuer.Value, true));

    public async Task<UpstreamTokenResponse> ExchangeCodeAsync(VaultProvider p, string code, string redirectUri, string codeVerifier, CancellationToken ct)
    {
        var client = await ClientAsync(p, ct);
        return await RunAsync(p, () => codeGrant.HandleAsync(Request(new()
        {
            [Parameters.GrantType] = GrantTypes.AuthorizationCode, [Parameters.Code] = code, [Parameters.RedirectUri] = redirectUri,
            [Parameters.CodeVerifier] = codeVerifier,
        }), client, ct));
    }

    public async Task<string?> SubjectAsync(VaultProvider p, UpstreamTokenResponse tokens, string nonce, CancellationToken ct) =>
        // Issued in this process a moment ago: the access token's own validation names the user.
        (await jwt.ValidateAsync(tokens.AccessToken, ct))?.Subject;

    public async Task<UpstreamTokenResponse> RefreshAsync(VaultProvider p, string refreshToken, string? scope, string? resource, CancellationToken ct)
    {
        if (resource is not null)
            throw new AuthlyException(400, $"The provider '{p.Name}' does not support resource indicators (RFC 8707)", "UPSTREAM_INVALID_TARGET");
        var client = await ClientAsync(p, ct);
        var form = new Dictionary<string, string> { [Parameters.GrantType] = GrantTypes.RefreshToken, [Parameters.RefreshToken] = refreshToken };
        if (scope is not null) form[Parameters.Scope] = scope;
        return await RunAsync(p, () => refreshGrant.HandleAsync(Request(form), client, ct));
    }

    public async Task<bool> RevokeAsync(VaultProvider p, string token, string tokenTypeHint, CancellationToken ct)
    {
        var client = await ClientAsync(p, ct);
        await revocation.RevokeAsync(token, tokenTypeHint, client, ct);
        return true;
    }

    public async Task<TokenValidation> ValidateAsync(VaultProvider p, string token, string? method, CancellationToken ct)
    {
        var r = await introspection.IntrospectAsync(token, "access_token", ct);
        if (!r.Active) return TokenValidation.Inactive with { Method = "introspection" };
        return new TokenValidation
        {
            Active = true, Method = "introspection", Sub = r.Sub, ClientId = r.ClientId, Scope = r.Scope, Username = r.Username,
            TokenType = r.TokenType, Exp = r.Exp, Iat = r.Iat, Iss = r.Iss, Aud = r.Aud, Jti = r.Jti,
        };
    }

    public async Task<IReadOnlyList<UpstreamSession>?> ListSessionsAsync(VaultProvider p, string subject, CancellationToken ct)
    {
        if (!Guid.TryParse(subject, out var userId)) return [];
        return (await sessions.ListActiveAsync(userId, ct))
            .Select(s => new UpstreamSession(s.Sid, s.CreatedAt, s.LastSeenAt, s.IdleExpiresAt, s.Ip, s.UserAgent)).ToList();
    }

    public async Task<bool?> EndSessionAsync(VaultProvider p, string subject, string sid, CancellationToken ct) =>
        Guid.TryParse(subject, out var userId) && await sessions.EndBySidAsync(sid, userId, ct);

    public Task<string?> CheckAsync(VaultProvider p, CancellationToken ct) => Task.FromResult<string?>(null);

    private static TokenRequest Request(Dictionary<string, string> form) => new(form, null, null);

    private static async Task<UpstreamTokenResponse> RunAsync(VaultProvider p, Func<Task<TokenResponse>> grant)
    {
        try
        {
            var r = await grant();
            return new UpstreamTokenResponse(r.AccessToken, r.RefreshToken, r.ExpiresIn, r.Scope, r.IdToken, r.TokenType);
        }
        catch (OAuthException e) when (e.Error == OAuthErrors.InvalidGrant)
        {
            throw VaultErrors.UpstreamInvalidGrant(p.Name, e.Detail ?? e.Description);
        }
        catch (OAuthException e)
        {
            throw VaultErrors.UpstreamRejected(p.Name, e.Error, e.Detail ?? e.Description);
        }
    }

    private async Task<Client> ClientAsync(VaultProvider p, CancellationToken ct) =>
        (p.ClientId is null ? null : await clients.FindActiveAsync(p.ClientId, ct))
        ?? throw VaultErrors.UpstreamRejected(p.Name, "invalid_client", "the vault's local client is missing or inactive");

    /// <summary>The vault's client at this Authly, registered on first use and kept pointing at the current callback URL.</summary>
    private async Task<Client> EnsureClientAsync(VaultProvider p, string redirectUri, CancellationToken ct)
    {
        if (p.ClientId is null)
        {
            var created = await clients.CreateAsync(new ClientRegistration
            {
                ClientName = "Authly token vault",
                ClientType = ClientTypes.Confidential,
                RedirectUris = [redirectUri],
                GrantTypes = [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken],
                Scope = p.Scopes,
            }, ct);
            // Its secret is never used: the vault calls the grants in process with the client itself.
            if (!await providers.SetLocalClientAsync(p.Id, created.Client.ClientId, ct))
                await clients.DeactivateAsync(created.Client.ClientId, ct); // another node registered one first
            p = await providers.GetAsync(p.Id, ct) ?? p;
        }
        var client = await ClientAsync(p, ct);
        var missingScopes = p.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Except(client.Scopes, StringComparer.Ordinal).Any();
        if (!client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal) || missingScopes)
            client = await clients.UpdateAsync(client.ClientId, new ClientRegistration
            {
                RedirectUris = client.RedirectUris.Append(redirectUri).Distinct(StringComparer.Ordinal).ToArray(),
                Scope = string.Join(' ', client.Scopes.Union(p.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal)),
            }, ct) ?? client;
        return client;
    }
}
