using Authly.Caching;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Storage;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Security;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Clients;

/// <summary>
/// OAuth clients. Lookups by client_id are cached per node in a <see cref="RefreshingCache{TKey,TValue}"/>
/// (the token endpoint must not pay a database round trip per request); every change is broadcast so
/// all nodes drop the entry. Broadcasts are hints and can be lost (no Redis, a dropped message), so each
/// node also re-reads the clients it holds every <see cref="RevalidateEvery"/> in one query: a deactivated
/// client, a replaced secret or a changed scope stops working everywhere within seconds, bus or no bus.
/// While PostgreSQL is unreachable, cached answers are served for at most AUTHLY_STALE_CACHE_SECONDS.
/// </summary>
public sealed class ClientStore
{
    private const string Topic = "clients";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(60);
    /// <summary>How often a node re-reads the clients it caches (one query for all of them, made by one request).</summary>
    public static readonly TimeSpan RevalidateEvery = TimeSpan.FromSeconds(2);
    /// <summary>Client ids come from callers: unknown ones are cached too, so the cache is bounded.</summary>
    private const int MaxCached = 10_000;
    private readonly NpgsqlDataSource _db;
    private readonly IClusterBus _bus;
    private readonly AuthlyOptions _options;
    // An active client by client_id, or null (no such active client).
    private readonly RefreshingCache<string, Client?> _cache;

    public ClientStore(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock, AuthlyOptions options, ILogger<ClientStore> log)
    {
        (_db, _bus, _options) = (db, bus, options);
        _cache = new RefreshingCache<string, Client?>("clients", clock, log, CacheFor, options.StaleCacheFor, FindActiveUncachedAsync,
            StringComparer.Ordinal, MaxCached, revalidation: new BatchRevalidation<string, Client?>(RevalidateEvery, RevalidateAsync));
        bus.Subscribe(Topic, _cache.Invalidate);
    }

    /// <summary>
    /// Drops a client from this node's cache at once, then tells the others. The bus alone is not
    /// enough here: its messages are hints, and an admin expects a deactivated client or a replaced
    /// secret to stop working with the very next request.
    /// </summary>
    private async Task ChangedAsync(string clientId)
    {
        _cache.Invalidate(clientId);
        await _bus.PublishAsync(Topic, clientId);
    }

    /// <summary>A secret shown once, with the client it belongs to.</summary>
    public sealed record Created(Client Client, string? ClientSecret);

    private const string Columns = """
        c.id, c.client_id, c.client_name, c.client_type, c.client_secret_hash, c.redirect_uris, c.grant_types,
        c.response_types, c.token_endpoint_auth_method, c.require_pkce, c.client_uri, c.logo_uri, c.tos_uri,
        c.policy_uri, c.contacts, c.application_type, c.post_logout_redirect_uris, c.is_active, c.created_at, c.updated_at,
        c.backchannel_logout_uri, c.backchannel_logout_session_required,
        c.jwks, c.jwks_uri, c.require_pushed_authorization_requests, c.profile,
        c.dpop_bound_access_tokens,
        c.resources,
        ARRAY(SELECT s.scope_name FROM client_scopes cs JOIN scopes s ON s.id = cs.scope_id
              WHERE cs.client_id = c.id AND s.is_active ORDER BY s.scope_name) AS scopes
        """;

    /// <summary>An active client by its client_id, or null. Cached.</summary>
    public async Task<Client?> FindActiveAsync(string clientId, CancellationToken ct)
    {
        // RFC 6749 Appendix A.1: client_id is VSCHAR (%x20-7E). Anything else names no client, and
        // must not reach PostgreSQL, which refuses text containing NUL (a 500 otherwise).
        if (clientId.Length > 255 || !clientId.All(c => c is >= '\x20' and <= '\x7E')) return null;
        return await _cache.GetAsync(clientId, ct);
    }

    private async Task<Client?> FindActiveUncachedAsync(string clientId, CancellationToken ct) =>
        await GetAsync(clientId, ct) is { IsActive: true } client ? client : null;

    private const string RevalidateSql = $"SELECT {Columns} FROM clients c WHERE c.client_id = ANY(@Ids)";

    /// <summary>
    /// Issue 12 finding 3: the clients this node holds, re-read in one query every <see cref="RevalidateEvery"/>.
    /// A client deleted or deactivated since is answered null.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, Client?>> RevalidateAsync(IReadOnlyList<string> clientIds, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        var found = (await conn.QueryAsync<Client>(new CommandDefinition(RevalidateSql, new { Ids = clientIds.ToArray() }, cancellationToken: ct)))
            .ToDictionary(c => c.ClientId, StringComparer.Ordinal);
        return clientIds.ToDictionary(id => id, id => found.GetValueOrDefault(id) is { IsActive: true } c ? c : null, StringComparer.Ordinal);
    }

    private const string GetSql = $"SELECT {Columns} FROM clients c WHERE c.client_id = @ClientId";
    public async Task<Client?> GetAsync(string clientId, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Client>(new CommandDefinition(GetSql, new { ClientId = clientId }, cancellationToken: ct));
    }

    private const string ListSql = $"""
        SELECT {Columns} FROM clients c WHERE (@IncludeInactive OR c.is_active)
        ORDER BY c.created_at, c.client_id LIMIT @Limit OFFSET @Offset
        """;
    public async Task<IReadOnlyList<Client>> ListAsync(int limit, int offset, bool includeInactive, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        return (await conn.QueryAsync<Client>(new CommandDefinition(ListSql,
            new { Limit = limit, Offset = offset, IncludeInactive = includeInactive }, cancellationToken: ct))).AsList();
    }

    private const string InsertSql = """
        INSERT INTO clients (client_id, client_name, client_type, client_secret_hash, redirect_uris, grant_types, response_types,
            token_endpoint_auth_method, require_pkce, client_uri, logo_uri, tos_uri, policy_uri, contacts, application_type,
            post_logout_redirect_uris,
            backchannel_logout_uri, backchannel_logout_session_required, jwks, jwks_uri, require_pushed_authorization_requests, profile)
        VALUES (@ClientId, @ClientName, @ClientType, @SecretHash, @RedirectUris, @GrantTypes, @ResponseTypes,
            @AuthMethod, @RequirePkce, @ClientUri, @LogoUri, @TosUri, @PolicyUri, @Contacts, @ApplicationType,
            @PostLogoutRedirectUris,
            @BackchannelLogoutUri, @BackchannelLogoutSessionRequired, @Jwks, @JwksUri, @RequirePar, @Profile)
        RETURNING id
        """;

    private const string SetScopesDeleteSql = "DELETE FROM client_scopes WHERE client_id = @Id";
    private const string SetScopesInsertSql = """
        INSERT INTO client_scopes (client_id, scope_id)
        SELECT @Id, s.id FROM scopes s WHERE s.scope_name = ANY(@Names)
        """;
    private const string UnknownScopesSql = "SELECT n FROM unnest(@Names) AS n WHERE NOT EXISTS (SELECT 1 FROM scopes s WHERE s.scope_name = n)";

    /// <summary>Creates a client; the secret (confidential clients) is returned here and never again.</summary>
    /// <param name="alongside">more writes that commit with the client or not at all (RFC 7591: the initial access token's
    /// use and the registration access token), given the new client's row id</param>
    /// <exception cref="AuthlyException">the registration is invalid</exception>
    public async Task<Created> CreateAsync(ClientRegistration r, CancellationToken ct,
        Func<NpgsqlConnection, NpgsqlTransaction, Guid, Task>? alongside = null)
    {
        ClientRules.Validate(r, isCreate: true);
        var isPublic = r.ClientType == ClientTypes.Public;
        var authMethod = r.TokenEndpointAuthMethod ?? (isPublic ? TokenAuthMethods.None : TokenAuthMethods.ClientSecretBasic);
        var grantTypes = r.GrantTypes ?? (isPublic ? [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken]
                                                   : [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken, GrantTypes.ClientCredentials]);
        var redirectUris = r.RedirectUris ?? [];
        var postLogout = r.PostLogoutRedirectUris ?? [];
        if (r.RedirectUris is null && grantTypes.Contains(GrantTypes.AuthorizationCode))
            grantTypes = grantTypes.Where(g => g is not (GrantTypes.AuthorizationCode)).ToArray();
        ClientRules.ValidateMerged(r.ClientType!, authMethod, redirectUris, postLogout, grantTypes);
        var backchannelUri = string.IsNullOrEmpty(r.BackchannelLogoutUri) ? null : r.BackchannelLogoutUri;
        ClientRules.CheckBackchannelLogoutUri(backchannelUri, _options.Mode);
        var keys = ClientKeyRules.Merge(null, r, authMethod, _options);
        var scopes = ScopeSet.Parse(r.Scope).ToArray();
        var resources = r.Resources is null ? null : ResourceIndicators.CheckRegistered(r.Resources);

        var clientId = "authly_" + OpaqueToken.New(16);
        // A private_key_jwt client authenticates with its keys: it gets no secret that could be used instead.
        var secret = isPublic || authMethod == TokenAuthMethods.PrivateKeyJwt ? null : OpaqueToken.New(32);

        await using var conn = await _db.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await EnsureScopesExistAsync(conn, tx, scopes, ct);
        var id = await conn.ExecuteScalarAsync<Guid>(new CommandDefinition(InsertSql, new
        {
            ClientId = clientId, ClientName = r.ClientName!.Trim(), ClientType = r.ClientType,
            SecretHash = secret is null ? null : OpaqueToken.Hash(secret),
            RedirectUris = redirectUris, GrantTypes = grantTypes, ResponseTypes = r.ResponseTypes ?? ["code"],
            AuthMethod = authMethod, RequirePkce = r.RequirePkce ?? true, r.ClientUri, r.LogoUri, r.TosUri, r.PolicyUri,
            Contacts = r.Contacts ?? [], ApplicationType = r.ApplicationType ?? "web", PostLogoutRedirectUris = postLogout,
            BackchannelLogoutUri = backchannelUri, BackchannelLogoutSessionRequired = r.BackchannelLogoutSessionRequired ?? false,
            keys.Jwks, keys.JwksUri, RequirePar = keys.RequirePushedAuthorizationRequests, keys.Profile,
        }, tx, cancellationToken: ct));
        await conn.ExecuteAsync(new CommandDefinition(SetScopesInsertSql, new { Id = id, Names = scopes }, tx, cancellationToken: ct));
        if (alongside is not null) await alongside(conn, tx, id);
        await SetDpopAsync(conn, tx, id, r.DpopBoundAccessTokens, ct);
        await SetResourcesAsync(conn, tx, id, resources, ct);
        await tx.CommitAsync(ct);
        await ChangedAsync(clientId);
        return new Created((await GetAsync(clientId, ct))!, secret);
    }

    private const string UpdateSql = """
        UPDATE clients SET client_name = @ClientName, redirect_uris = @RedirectUris, grant_types = @GrantTypes,
            response_types = @ResponseTypes, token_endpoint_auth_method = @AuthMethod, require_pkce = @RequirePkce,
            client_uri = @ClientUri, logo_uri = @LogoUri, tos_uri = @TosUri, policy_uri = @PolicyUri, contacts = @Contacts,
            application_type = @ApplicationType, post_logout_redirect_uris = @PostLogoutRedirectUris, is_active = @IsActive,
            backchannel_logout_uri = @BackchannelLogoutUri, backchannel_logout_session_required = @BackchannelLogoutSessionRequired,
            jwks = @Jwks, jwks_uri = @JwksUri, require_pushed_authorization_requests = @RequirePar, profile = @Profile,
            updated_at = now()
        WHERE id = @Id
        """;

    /// <summary>Applies the fields given; null when the client does not exist. client_type cannot change.</summary>
    public async Task<Client?> UpdateAsync(string clientId, ClientRegistration r, CancellationToken ct)
    {
        ClientRules.Validate(r, isCreate: false);
        var current = await GetAsync(clientId, ct);
        if (current is null) return null;
        if (r.ClientType is not null && r.ClientType != current.ClientType)
            throw AuthlyException.Validation("client_type cannot be changed; create a new client instead", "client_type");
        var merged = current with
        {
            ClientName = r.ClientName?.Trim() ?? current.ClientName,
            RedirectUris = r.RedirectUris ?? current.RedirectUris,
            GrantTypes = r.GrantTypes ?? current.GrantTypes,
            ResponseTypes = r.ResponseTypes ?? current.ResponseTypes,
            TokenEndpointAuthMethod = r.TokenEndpointAuthMethod ?? current.TokenEndpointAuthMethod,
            RequirePkce = r.RequirePkce ?? current.RequirePkce,
            ClientUri = r.ClientUri ?? current.ClientUri,
            LogoUri = r.LogoUri ?? current.LogoUri,
            TosUri = r.TosUri ?? current.TosUri,
            PolicyUri = r.PolicyUri ?? current.PolicyUri,
            Contacts = r.Contacts ?? current.Contacts,
            ApplicationType = r.ApplicationType ?? current.ApplicationType,
            PostLogoutRedirectUris = r.PostLogoutRedirectUris ?? current.PostLogoutRedirectUris,
            IsActive = r.IsActive ?? current.IsActive,
            BackchannelLogoutUri = r.BackchannelLogoutUri is null ? current.BackchannelLogoutUri : r.BackchannelLogoutUri.Length == 0 ? null : r.BackchannelLogoutUri,
            BackchannelLogoutSessionRequired = r.BackchannelLogoutSessionRequired ?? current.BackchannelLogoutSessionRequired,
        };
        if (r.BackchannelLogoutUri is { Length: > 0 }) ClientRules.CheckBackchannelLogoutUri(merged.BackchannelLogoutUri, _options.Mode);
        ClientRules.ValidateMerged(merged.ClientType, merged.TokenEndpointAuthMethod, merged.RedirectUris, merged.PostLogoutRedirectUris, merged.GrantTypes);
        var keys = ClientKeyRules.Merge(current, r, merged.TokenEndpointAuthMethod, _options);
        if (current.ClientSecretHash is null && merged.TokenEndpointAuthMethod is TokenAuthMethods.ClientSecretBasic or TokenAuthMethods.ClientSecretPost)
            throw AuthlyException.Validation("this client has no secret (it was created for private_key_jwt); create a new client to use a secret",
                "token_endpoint_auth_method");
        var scopes = r.Scope is null ? null : ScopeSet.Parse(r.Scope).ToArray();
        var resources = r.Resources is null ? null : ResourceIndicators.CheckRegistered(r.Resources);

        await using var conn = await _db.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        if (scopes is not null) await EnsureScopesExistAsync(conn, tx, scopes, ct);
        await conn.ExecuteAsync(new CommandDefinition(UpdateSql, new
        {
            merged.Id, merged.ClientName, merged.RedirectUris, merged.GrantTypes, merged.ResponseTypes,
            AuthMethod = merged.TokenEndpointAuthMethod, merged.RequirePkce, merged.ClientUri, merged.LogoUri, merged.TosUri,
            merged.PolicyUri, merged.Contacts, merged.ApplicationType, merged.PostLogoutRedirectUris, merged.IsActive,
            merged.BackchannelLogoutUri, merged.BackchannelLogoutSessionRequired,
            keys.Jwks, keys.JwksUri, RequirePar = keys.RequirePushedAuthorizationRequests, keys.Profile,
        }, tx, cancellationToken: ct));
        if (scopes is not null)
        {
            await conn.ExecuteAsync(new CommandDefinition(SetScopesDeleteSql, new { merged.Id }, tx, cancellationToken: ct));
            await conn.ExecuteAsync(new CommandDefinition(SetScopesInsertSql, new { merged.Id, Names = scopes }, tx, cancellationToken: ct));
        }
        await SetDpopAsync(conn, tx, merged.Id, r.DpopBoundAccessTokens, ct);
        await SetResourcesAsync(conn, tx, merged.Id, resources, ct);
        await tx.CommitAsync(ct);
        await ChangedAsync(clientId);
        return await GetAsync(clientId, ct);
    }

    // Issue 17, RFC 9449 §5.2: dpop_bound_access_tokens, in a statement of its own in the create/update transaction.
    private const string SetDpopSql = "UPDATE clients SET dpop_bound_access_tokens = @Value WHERE id = @Id";
    private static async Task SetDpopAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid id, bool? value, CancellationToken ct)
    {
        if (value is { } v) await conn.ExecuteAsync(new CommandDefinition(SetDpopSql, new { Id = id, Value = v }, tx, cancellationToken: ct));
    }

    // Issue 17, RFC 8707: the client's registered resources, in a statement of its own in the create/update transaction.
    private const string SetResourcesSql = "UPDATE clients SET resources = @Value WHERE id = @Id";
    private static async Task SetResourcesAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid id, string[]? value, CancellationToken ct)
    {
        if (value is not null) await conn.ExecuteAsync(new CommandDefinition(SetResourcesSql, new { Id = id, Value = value }, tx, cancellationToken: ct));
    }

    private const string DeactivateSql = "UPDATE clients SET is_active = false, updated_at = now() WHERE client_id = @ClientId";
    public async Task<bool> DeactivateAsync(string clientId, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        var n = await conn.ExecuteAsync(new CommandDefinition(DeactivateSql, new { ClientId = clientId }, cancellationToken: ct));
        await ChangedAsync(clientId);
        return n > 0;
    }

    private const string RegenerateSql = """
        UPDATE clients SET client_secret_hash = @Hash, updated_at = now()
        WHERE client_id = @ClientId AND client_type = 'confidential' AND token_endpoint_auth_method <> 'private_key_jwt'
        """;
    /// <summary>A new secret for a confidential client (the old one stops working at once); null if there is none.</summary>
    public async Task<string?> RegenerateSecretAsync(string clientId, CancellationToken ct)
    {
        var secret = OpaqueToken.New(32);
        await using var conn = await _db.OpenAsync(ct);
        var n = await conn.ExecuteAsync(new CommandDefinition(RegenerateSql, new { ClientId = clientId, Hash = OpaqueToken.Hash(secret) }, cancellationToken: ct));
        await ChangedAsync(clientId);
        return n > 0 ? secret : null;
    }

    private static async Task EnsureScopesExistAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string[] scopes, CancellationToken ct)
    {
        if (scopes.Length == 0) return;
        var unknown = (await conn.QueryAsync<string>(new CommandDefinition(UnknownScopesSql, new { Names = scopes }, tx, cancellationToken: ct))).AsList();
        if (unknown.Count > 0)
            throw AuthlyException.Validation($"unknown scope(s): {string.Join(' ', unknown)}", "scope");
    }
}
