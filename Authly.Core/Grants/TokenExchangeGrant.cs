using Authly.Clients;
using Authly.OAuth;
using Authly.Oidc;
using Authly.Scopes;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Grants;

/// <summary>
/// RFC 8693 token exchange. A confidential client with a policy (<see cref="TokenExchangePolicyStore"/>) trades a token
/// of this Authly (the subject: an access, refresh or ID token) for an access token for the same subject, with a scope
/// and audience no wider than the subject token's scope ∩ the policy, and never living longer than the subject token.
/// With an <c>actor_token</c> (delegation) the result carries an <c>act</c> claim naming the actor, with the subject
/// token's own chain nested inside it (§4.1); without one it is impersonation, which the policy may forbid.
/// No refresh token is issued: the caller exchanges again.
/// </summary>
public sealed class TokenExchangeGrant(TokenIntrospection introspection, RefreshTokenStore refreshTokens, IdTokenIssuer idTokens,
    TokenExchangePolicyStore policies, ScopeStore scopeStore, UserStore users, JwtIssuer jwt, TimeProvider clock) : IGrantHandler
{
    public string GrantType => GrantTypes.TokenExchange;
    public bool RequiresClientAuthentication => true;

    /// <summary>Who the subject token stands for, and what it allows.</summary>
    private sealed record Subject(string Sub, Guid? UserId, string Scope, DateTimeOffset? Expires, ActorClaim? Act);

    /// <summary>An ID token proves who the user is, and grants nothing beyond that.</summary>
    private const string IdTokenScope = OidcScopes.OpenId;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client); // RequiresClientAuthentication: GrantEngine let only an authenticated client through
        var policy = await policies.GetAsync(client.ClientId, ct)
                     ?? throw OAuthException.UnauthorizedClient("The client is not allowed to exchange tokens", $"client {client.ClientId} has no token exchange policy");

        // RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED; actor_token_type goes with actor_token.
        var subjectToken = request.Required(Parameters.SubjectToken);
        var subjectType = request.Required(Parameters.SubjectTokenType);
        var actorToken = request[Parameters.ActorToken];
        var actorType = request[Parameters.ActorTokenType];
        if ((actorToken is null) != (actorType is null))
            throw OAuthException.InvalidRequest("actor_token and actor_token_type go together");
        if (request[Parameters.RequestedTokenType] is { } requestedType && requestedType is not (TokenTypes.AccessToken or TokenTypes.Jwt))
            throw OAuthException.InvalidRequest("Only access tokens can be requested");
        if (actorToken is null && policy.RequireActor)
            throw OAuthException.InvalidRequest("This client must present an actor_token");
        var audience = Target(request[Parameters.Audience], request[Parameters.Resource], policy);

        // §2.2.2: a subject or actor token that is invalid or unacceptable is invalid_request.
        var subject = await SubjectAsync(subjectToken, subjectType, client, ct)
                      ?? throw OAuthException.InvalidRequest("The subject token is not valid", $"subject_token_type {subjectType}");
        var act = subject.Act;
        if (actorToken is not null)
        {
            if (actorType is not (TokenTypes.AccessToken or TokenTypes.Jwt))
                throw OAuthException.InvalidRequest("The actor token must be an access token of this server");
            var actor = await introspection.ValidateAccessTokenAsync(actorToken, ct)
                        ?? throw OAuthException.InvalidRequest("The actor token is not valid");
            // The actor is the caller itself: a client cannot name another party (whose token it may hold) as the one acting.
            if (actor.ClientId != client.ClientId)
                throw OAuthException.InvalidRequest("The actor token was not issued to this client", $"actor token of client {actor.ClientId}");
            act = new ActorClaim(actor.Subject, actor.ClientId, subject.Act);
            if (act.Depth > ActorClaim.MaxDepth) throw OAuthException.InvalidRequest("The actor chain is too long");
        }

        return await IssueAsync(client, policy, subject, act, ScopeSet.Parse(request.Scope), audience, ct);
    }

    /// <summary>
    /// The token vault's delegation (issue 18): a service client that a user granted a vault entry of this Authly gets an
    /// access token for that user, acting as itself (<c>act</c> = the service). The subject is the entry's refresh token,
    /// which the vault holds for its own client (<paramref name="vaultClientId"/>), so it must still be current here, be
    /// the user's and be that client's; the grant of the entry stands in for the refresh token's client binding. Then the
    /// same rules as every exchange: a policy for the service, scope ⊆ the entry's scope ∩ the refresh token's ∩ the policy
    /// (narrowed to the client, the user and active scopes), an audience from the policy, never beyond the refresh token.
    /// </summary>
    /// <exception cref="OAuthException">unauthorized_client (no policy), invalid_request (the subject is no longer valid),
    /// invalid_scope, invalid_target</exception>
    public async Task<TokenResponse> ForVaultEntryAsync(Client service, string vaultClientId, string refreshToken, Guid userId, string entryScope,
        string? scope, string? audience, CancellationToken ct)
    {
        var policy = await policies.GetAsync(service.ClientId, ct)
                     ?? throw OAuthException.UnauthorizedClient("The client is not allowed to exchange tokens", $"client {service.ClientId} has no token exchange policy");
        var target = Target(audience, null, policy);
        var row = !refreshToken.Contains('.') ? await refreshTokens.FindActiveAsync(refreshToken, ct) : null;
        if (row is null || row.UserId != userId || row.ClientId != vaultClientId)
            throw OAuthException.InvalidRequest("The vault entry's token is no longer valid at this server", "refresh token not current, or not the entry user's");
        var entryScopes = ScopeSet.Parse(entryScope);
        var subject = new Subject(row.UserId.ToString(), row.UserId, ScopeSet.Join(ScopeSet.Parse(row.Scope).Where(entryScopes.Contains)),
            new DateTimeOffset(DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc)), null);
        // The service acts for the user; it names no one but itself (a client_credentials token's sub is its client_id).
        var act = new ActorClaim(service.ClientId, service.ClientId, null);
        return await IssueAsync(service, policy, subject, act, ScopeSet.Parse(scope), target, ct);
    }

    private async Task<TokenResponse> IssueAsync(Client client, TokenExchangePolicyStore.Policy policy, Subject subject, ActorClaim? act,
        IReadOnlySet<string> requested, string? audience, CancellationToken ct)
    {
        User? user = null;
        if (subject.UserId is { } userId && (user = await users.FindByIdAsync(userId, ct)) is not { IsActive: true })
            throw OAuthException.InvalidRequest("The subject token is not valid", "user missing or deactivated");

        // Never wider than the subject token's scope ∩ the policy; ScopeDecision narrows further to the client, the user and active scopes.
        var allowed = ScopeSet.Parse(subject.Scope).Where(policy.Scopes.Contains).ToHashSet(StringComparer.Ordinal);
        var granted = ScopeDecision.Decide(GrantType, requested, await scopeStore.ActiveAsync(ct), client, user, allowed);
        var access = await jwt.CreateAccessTokenAsync(subject.Sub, client.ClientId, granted.Scope, user?.Username, ct, audience, act, subject.Expires);
        return new TokenResponse
        {
            AccessToken = access.Token,
            ExpiresIn = (int)Math.Max(1, Math.Ceiling((access.Expires - clock.GetUtcNow()).TotalSeconds)),
            Scope = granted.Scope,
            IssuedTokenType = TokenTypes.AccessToken,
        };
    }

    /// <summary>
    /// RFC 8693 §2.1 audience / resource (RFC 8707): one target per token; it must be in the client's policy, or be this
    /// server's own access-token audience (the subject token's, so no widening). Null: that default audience.
    /// </summary>
    private string? Target(string? audience, string? resource, TokenExchangePolicyStore.Policy policy)
    {
        // RFC 8707 §2: a resource is an absolute URI without a fragment (ResourceIndicators); one target per exchanged token.
        var resources = ResourceIndicators.Parse(resource);
        if (resources.Count > 1) throw new OAuthException(OAuthErrors.InvalidTarget, "Ask for one target: several resources were given");
        resource = resources.Count == 1 ? resources[0] : null;
        if (audience is not null && resource is not null && audience != resource)
            throw new OAuthException(OAuthErrors.InvalidTarget, "Ask for one target: audience and resource differ");
        var target = audience ?? resource;
        if (target is null || target == jwt.Audience) return null;
        if (!policy.Audiences.Contains(target, StringComparer.Ordinal))
            throw new OAuthException(OAuthErrors.InvalidTarget, "The client may not ask for this audience", $"client {policy.ClientId}, target {target}");
        return target;
    }

    private async Task<Subject?> SubjectAsync(string token, string type, Client client, CancellationToken ct) => type switch
    {
        TokenTypes.AccessToken => await FromAccessTokenAsync(token, ct),
        TokenTypes.RefreshToken => await FromRefreshTokenAsync(token, client, ct),
        TokenTypes.IdToken => await FromIdTokenAsync(token, client, ct),
        TokenTypes.Jwt => await FromAccessTokenAsync(token, ct) ?? await FromIdTokenAsync(token, client, ct),
        _ => throw OAuthException.InvalidRequest("Unsupported subject_token_type"),
    };

    /// <summary>Any client's unrevoked, current access token of ours (with our audience): the delegation a service receives.</summary>
    private async Task<Subject?> FromAccessTokenAsync(string token, CancellationToken ct) =>
        await introspection.ValidateAccessTokenAsync(token, ct) is { } c
            ? new Subject(c.Subject, c.UserId, c.Scope, DateTimeOffset.FromUnixTimeSeconds(c.Expires), c.Act)
            : null;

    /// <summary>A current refresh token, issued to this very client (RFC 6749 §6: refresh tokens are bound to their client).</summary>
    private async Task<Subject?> FromRefreshTokenAsync(string token, Client client, CancellationToken ct) =>
        !token.Contains('.') && await refreshTokens.FindActiveAsync(token, ct) is { } row && row.ClientId == client.ClientId
            ? new Subject(row.UserId.ToString(), row.UserId, row.Scope, null, null)
            : null;

    /// <summary>A current ID token issued to this client (its aud): the user's identity, scope openid only.</summary>
    private async Task<Subject?> FromIdTokenAsync(string token, Client client, CancellationToken ct) =>
        await idTokens.ValidateAsync(token, ct) is { } id && id.Audiences.Contains(client.ClientId, StringComparer.Ordinal)
            && Guid.TryParse(id.Subject, out var userId)
            ? new Subject(id.Subject, userId, IdTokenScope, DateTimeOffset.FromUnixTimeSeconds(id.Expires), null)
            : null;
}
