using Authly.Configuration;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Security;
using Authly.Storage;
using Authly.Tokens;
using Dapper;
using Npgsql;

namespace Authly.Clients;

/// <summary>
/// RFC 7591 dynamic client registration and RFC 7592 management of a registration. The metadata meets the admin
/// API's rules (<see cref="ClientRules"/>) and, since nobody vouched for the client, <see cref="ClientRules.ValidateSelfRegistered"/>.
/// Each registered client gets a registration access token (stored hashed, bound to that client) for reading,
/// replacing and deleting its own registration; it is replaced on every update, and its previous value then stops working.
/// </summary>
public sealed class DynamicRegistration(ClientStore clients, ScopeStore scopes, InitialAccessTokenStore initialTokens,
    NpgsqlDataSource db, Issuer issuer, AuthlyOptions options)
{
    public const string Path = "/api/v1/oauth/register";
    private const string DefaultClientName = "Dynamically registered client";

    private const string InsertRegistrationSql = """
        INSERT INTO client_registrations (client_id, registration_token_hash, initial_access_token_id) VALUES (@Id, @Hash, @InitialToken)
        """;

    /// <summary>RFC 7591 §3.1: registers a client; the answer (§3.2.1) carries its secret and registration access token, once.</summary>
    /// <param name="bearer">the initial access token the request carried, if any</param>
    /// <exception cref="OAuthException">invalid_token (§3: a missing or unusable initial access token, per RFC 6750), or a §3.2.2 error</exception>
    public async Task<ClientInformation> RegisterAsync(ClientMetadata metadata, string? bearer, CancellationToken ct)
    {
        var mode = options.ClientRegistration;
        if (mode == ClientRegistrationMode.Closed) throw OAuthException.AccessDenied("Dynamic client registration is disabled");
        // The token is checked before the metadata: without one, the rules are not for the caller to probe.
        if (mode == ClientRegistrationMode.Token && (bearer is null || !await initialTokens.IsUsableAsync(bearer, ct)))
            throw OAuthException.InvalidToken(bearer is null ? "An initial access token is required" : "The initial access token is not valid");

        var registration = await ToRegistrationAsync(metadata, ct);
        var registrationToken = OpaqueToken.New(32);
        ClientStore.Created created;
        try
        {
            created = await clients.CreateAsync(registration, ct, async (conn, tx, id) =>
            {
                Guid? initialToken = null;
                // One use taken in the client's transaction: a racing request for the token's last use gets no client.
                if (mode == ClientRegistrationMode.Token)
                    initialToken = await initialTokens.UseAsync(conn, tx, bearer!, ct)
                                   ?? throw OAuthException.InvalidToken("The initial access token is not valid");
                await conn.ExecuteAsync(new CommandDefinition(InsertRegistrationSql,
                    new { Id = id, Hash = OpaqueToken.Hash(registrationToken), InitialToken = initialToken }, tx, cancellationToken: ct));
            });
        }
        catch (AuthlyException e) when (e.Status == 400) { throw MetadataError(e); }
        return Information(created.Client, created.ClientSecret, registrationToken);
    }

    /// <summary>RFC 7592 §2.1: the client's current registration (without its secret, which is stored hashed).</summary>
    public async Task<ClientInformation> ReadAsync(string clientId, string? bearer, CancellationToken ct)
    {
        var (client, _) = await AuthorizeAsync(clientId, bearer, ct);
        return Information(client, null, null);
    }

    private const string RotateSql = """
        UPDATE client_registrations SET registration_token_hash = @NewHash
        WHERE client_id = @Id AND registration_token_hash = @OldHash
        """;

    /// <summary>
    /// RFC 7592 §2.2: replaces the registration with the metadata given (omitted lists become empty, an omitted scope
    /// the default scopes), under the same rules as registration, and answers with a new registration access token.
    /// </summary>
    public async Task<ClientInformation> UpdateAsync(string clientId, string? bearer, ClientMetadata metadata, CancellationToken ct)
    {
        var (current, tokenHash) = await AuthorizeAsync(clientId, bearer, ct);
        // §2.2: the body's client_id MUST match; a client_secret, if sent, MUST be the current one.
        if (metadata.ClientId != clientId)
            throw new OAuthException(OAuthErrors.InvalidClientMetadata, "client_id must be the client's own");
        if (metadata.ClientSecret is not null && !OpaqueToken.Matches(metadata.ClientSecret, current.ClientSecretHash))
            throw new OAuthException(OAuthErrors.InvalidClientMetadata, "client_secret does not match");
        var registration = await ToRegistrationAsync(metadata, ct);
        if (registration.ClientType != current.ClientType)
            throw new OAuthException(OAuthErrors.InvalidClientMetadata,
                "token_endpoint_auth_method cannot switch between 'none' and a secret; register a new client instead");
        Client updated;
        try { updated = await clients.UpdateAsync(clientId, registration with { ClientType = null }, ct) ?? throw InvalidRegistrationToken(); }
        catch (AuthlyException e) when (e.Status == 400) { throw MetadataError(e); }

        var newToken = OpaqueToken.New(32);
        await using var conn = await db.OpenAsync(ct);
        // Compare-and-swap on the presented token's hash: of two updates racing with one token, one gets the new token.
        var rotated = await conn.ExecuteAsync(new CommandDefinition(RotateSql,
            new { current.Id, OldHash = tokenHash, NewHash = OpaqueToken.Hash(newToken) }, cancellationToken: ct));
        if (rotated == 0) throw InvalidRegistrationToken();
        return Information(updated, null, newToken);
    }

    private const string DeleteRegistrationSql = "DELETE FROM client_registrations WHERE client_id = @Id";

    /// <summary>RFC 7592 §2.3: deactivates the client; its registration access token stops working.</summary>
    public async Task DeleteAsync(string clientId, string? bearer, CancellationToken ct)
    {
        var (client, _) = await AuthorizeAsync(clientId, bearer, ct);
        await clients.DeactivateAsync(clientId, ct);
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(DeleteRegistrationSql, new { client.Id }, cancellationToken: ct));
    }

    private const string TokenHashSql = """
        SELECT r.registration_token_hash FROM client_registrations r JOIN clients c ON c.id = r.client_id
        WHERE c.client_id = @ClientId AND c.is_active
        """;

    private static readonly byte[] NoHash = new byte[32];

    /// <summary>
    /// RFC 7592 §2: the registration access token must be this client's. Unknown client, admin-made client, another
    /// client's token, no token: all the same 401 invalid_token (§2.1: never a 404 that says the client exists).
    /// The comparison is constant-time, and made against a dummy when there is nothing to compare with.
    /// </summary>
    private async Task<(Client Client, byte[] TokenHash)> AuthorizeAsync(string clientId, string? bearer, CancellationToken ct)
    {
        if (bearer is null) throw OAuthException.InvalidToken("A registration access token is required");
        byte[]? stored = null;
        if (clientId.Length <= 255 && clientId.All(c => c is >= '\x20' and <= '\x7E'))
        {
            await using var conn = await db.OpenAsync(ct);
            stored = await conn.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(TokenHashSql, new { ClientId = clientId }, cancellationToken: ct));
        }
        var matches = OpaqueToken.Matches(bearer, stored ?? NoHash);
        if (stored is null || !matches) throw InvalidRegistrationToken();
        var client = await clients.GetAsync(clientId, ct);
        if (client is not { IsActive: true }) throw InvalidRegistrationToken();
        return (client, stored);
    }

    private static OAuthException InvalidRegistrationToken() =>
        OAuthException.InvalidToken("The registration access token is not valid for this client");

    /// <summary>RFC 7591 §2 defaults and §2.1 consistency, then the admin API's rules and the self-registration rules.</summary>
    private async Task<ClientRegistration> ToRegistrationAsync(ClientMetadata m, CancellationToken ct)
    {
        // §3.2.2 / §2.3: Authly trusts no software statement issuer, so none is accepted.
        if (m.SoftwareStatement is not null)
            throw new OAuthException(OAuthErrors.InvalidSoftwareStatement, "Software statements are not accepted by this server");
        var authMethod = m.TokenEndpointAuthMethod ?? TokenAuthMethods.ClientSecretBasic; // §2: the default
        var grantTypes = m.GrantTypes ?? [GrantTypes.AuthorizationCode];                    // §2: the default
        var responseTypes = m.ResponseTypes ?? (grantTypes.Contains(GrantTypes.AuthorizationCode) ? ["code"] : []);
        // §2.1: authorization_code goes with response type code, and code needs authorization_code.
        if (grantTypes.Contains(GrantTypes.AuthorizationCode) != responseTypes.Contains("code"))
            throw new OAuthException(OAuthErrors.InvalidClientMetadata, "grant_types and response_types do not match (RFC 7591 section 2.1)");
        var active = await scopes.ActiveAsync(ct);
        var registration = new ClientRegistration
        {
            ClientName = string.IsNullOrWhiteSpace(m.ClientName) ? DefaultClientName : m.ClientName,
            ClientType = authMethod == TokenAuthMethods.None ? ClientTypes.Public : ClientTypes.Confidential,
            RedirectUris = m.RedirectUris ?? [],
            // Default: the default scopes a self-registered client may have at all.
            Scope = m.Scope ?? ScopeSet.Join(active.Values.Where(s => s.IsDefault && !UserScopePolicy.IsPrivileged(s.ScopeName)
                                                                      && !UserScopePolicy.IsFirstParty(s.ScopeName)).Select(s => s.ScopeName)),
            GrantTypes = grantTypes,
            ResponseTypes = responseTypes,
            RequirePkce = true,
            TokenEndpointAuthMethod = authMethod,
            ClientUri = m.ClientUri, LogoUri = m.LogoUri, TosUri = m.TosUri, PolicyUri = m.PolicyUri,
            Contacts = m.Contacts ?? [],
            ApplicationType = m.ApplicationType,
            PostLogoutRedirectUris = m.PostLogoutRedirectUris ?? [],
        };
        try
        {
            ClientRules.Validate(registration, isCreate: true);
            ClientRules.ValidateMerged(registration.ClientType, authMethod, registration.RedirectUris, registration.PostLogoutRedirectUris, grantTypes);
            ClientRules.ValidateSelfRegistered(registration.ClientType, grantTypes, registration.RedirectUris, registration.PostLogoutRedirectUris,
                ScopeSet.Parse(registration.Scope), active);
        }
        catch (AuthlyException e) when (e.Status == 400) { throw MetadataError(e); }
        return registration;
    }

    /// <summary>RFC 7591 §3.2.2: a bad redirect URI is invalid_redirect_uri, any other bad field invalid_client_metadata.</summary>
    private static OAuthException MetadataError(AuthlyException e) =>
        new(e.Field is "redirect_uris" or "post_logout_redirect_uris" ? OAuthErrors.InvalidRedirectUri : OAuthErrors.InvalidClientMetadata,
            e.Detail, e.Private);

    private ClientInformation Information(Client c, string? secret, string? registrationToken) => new()
    {
        ClientId = c.ClientId,
        ClientSecret = secret,
        ClientIdIssuedAt = new DateTimeOffset(DateTime.SpecifyKind(c.CreatedAt, DateTimeKind.Utc)).ToUnixTimeSeconds(),
        ClientSecretExpiresAt = c.IsPublic ? null : 0,
        RegistrationAccessToken = registrationToken,
        RegistrationClientUri = $"{issuer.Value}{Path}/{Uri.EscapeDataString(c.ClientId)}",
        ClientName = c.ClientName,
        RedirectUris = c.RedirectUris,
        GrantTypes = c.GrantTypes,
        ResponseTypes = c.ResponseTypes,
        TokenEndpointAuthMethod = c.TokenEndpointAuthMethod,
        Scope = ScopeSet.Join(c.Scopes),
        ApplicationType = c.ApplicationType,
        Contacts = c.Contacts,
        PostLogoutRedirectUris = c.PostLogoutRedirectUris,
        ClientUri = c.ClientUri, LogoUri = c.LogoUri, TosUri = c.TosUri, PolicyUri = c.PolicyUri,
    };
}
