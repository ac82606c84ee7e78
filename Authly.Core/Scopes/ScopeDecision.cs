using Authly.Clients;
using Authly.OAuth;
using Authly.Users;

namespace Authly.Scopes;

/// <summary>
/// Which scopes a grant yields, and whether with a refresh token and an ID token: the one rule every grant
/// calls. The candidates (what was asked for, or the grant's default) are kept when the scope is active,
/// the user may hold it (<see cref="UserScopePolicy.MayHold"/>; with no user, only scopes that need none),
/// and the client is registered for it — or, without a client (the first-party CLI), it is first-party.
/// A pure function of its arguments, so the whole table is tested without a database.
/// </summary>
public static class ScopeDecision
{
    /// <summary>What the grant issues: the access token's scopes, and which other tokens come with it.</summary>
    public sealed record Granted(IReadOnlySet<string> Scopes, bool RefreshToken, bool IdToken)
    {
        /// <summary>The scope string of the token response and the tokens (RFC 6749 §3.3).</summary>
        public string Scope => ScopeSet.Join(Scopes);
    }

    /// <param name="grantType">one of <see cref="GrantTypes"/></param>
    /// <param name="requested">the request's scope parameter; for the code and device grants, the scope the user approved
    /// (checked against the client when it was asked for)</param>
    /// <param name="active">the active scopes (<see cref="ScopeStore.ActiveAsync"/>)</param>
    /// <param name="client">the client, or null for the first-party CLI (password and refresh grants only)</param>
    /// <param name="user">the resource owner, or null for client_credentials</param>
    /// <param name="original">refresh_token: the scope of the grant the refresh token belongs to</param>
    /// <exception cref="OAuthException">invalid_scope, when the request asks for more than it may</exception>
    public static Granted Decide(string grantType, IReadOnlySet<string> requested, IReadOnlyDictionary<string, Scope> active,
        Client? client, User? user, IReadOnlySet<string>? original = null)
    {
        IEnumerable<string> candidates;
        switch (grantType)
        {
            case GrantTypes.ClientCredentials:
                ArgumentNullException.ThrowIfNull(client);
                // RFC 6749 §4.4.2 / §3.3: a requested scope must be among the client's; with none requested, the client's scopes.
                if (!client.AllowsScopes(requested))
                    throw OAuthException.InvalidScope("The requested scope is not allowed for this client",
                        $"client {client.ClientId} asked for {string.Join(' ', requested.Except(client.Scopes))}");
                candidates = requested.Count > 0 ? requested : client.Scopes;
                break;
            case GrantTypes.Password:
                ArgumentNullException.ThrowIfNull(user);
                // Nothing requested: the default scopes with a client; without one, the account scopes (what the CLI needs
                // for the caller's own account; admin scopes are asked for by name). Scopes it may not have are dropped.
                candidates = requested.Count > 0 ? requested
                    : client is null ? active.Keys.Where(s => s.StartsWith(UserScopePolicy.AccountPrefix, StringComparison.Ordinal))
                    : active.Values.Where(s => s.IsDefault).Select(s => s.ScopeName);
                break;
            case GrantTypes.RefreshToken:
                ArgumentNullException.ThrowIfNull(user);
                ArgumentNullException.ThrowIfNull(original);
                // RFC 6749 §6: a requested scope MUST NOT include any scope not originally granted; omitted, it is the original.
                if (!Narrows(requested, original))
                    throw OAuthException.InvalidScope("The requested scope exceeds the scope originally granted");
                candidates = requested.Count > 0 ? requested : original;
                break;
            case GrantTypes.AuthorizationCode or GrantTypes.DeviceCode:
                ArgumentNullException.ThrowIfNull(client);
                ArgumentNullException.ThrowIfNull(user);
                candidates = requested;
                break;
            case GrantTypes.TokenExchange:
                ArgumentNullException.ThrowIfNull(client);
                ArgumentNullException.ThrowIfNull(original);
                // RFC 8693 §2.1/§5: never wider than the subject token's scope ∩ the client's exchange policy (original);
                // omitted, all of that. user is null when the subject is a client (a client_credentials token).
                if (!Narrows(requested, original))
                    throw OAuthException.InvalidScope("The requested scope exceeds what the subject token and the exchange policy allow",
                        $"client {client.ClientId} asked for {string.Join(' ', requested.Except(original))}");
                candidates = requested.Count > 0 ? requested : original;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(grantType), grantType, "no scope rule for this grant");
        }

        var granted = candidates.Where(active.ContainsKey)
            // A client acting for itself never gets a scope that means nothing without a user (admin:*, account:*).
            .Where(s => user is null ? !UserScopePolicy.NeedsUser(s) : UserScopePolicy.MayHold(user, s))
            // A client-less grant acts for the first-party CLI and yields first-party scopes only (RFC 9700 §4.15); a
            // refresh of a family issued before that rule keeps its wide scope in the row but not in new tokens.
            .Where(s => client is null ? UserScopePolicy.IsFirstParty(s) : client.Scopes.Contains(s, StringComparer.Ordinal))
            .ToHashSet(StringComparer.Ordinal);

        switch (grantType)
        {
            // §5.2: a request none of whose scope can be granted is invalid_scope, rather than a token that grants nothing.
            case GrantTypes.ClientCredentials when requested.Count > 0 && granted.Count == 0:
                throw OAuthException.InvalidScope("None of the requested scopes can be granted", $"client {client!.ClientId} asked only for admin or inactive scopes");
            case GrantTypes.Password when requested.Count > 0 && granted.Count == 0:
                throw OAuthException.InvalidScope("None of the requested scopes can be granted");
            case GrantTypes.TokenExchange when requested.Count > 0 && granted.Count == 0:
                throw OAuthException.InvalidScope("None of the requested scopes can be granted");
            // RFC 8693 §2.2.1: the exchanged token comes alone; the caller exchanges again when it expires.
            case GrantTypes.TokenExchange:
                return new Granted(granted, RefreshToken: false, IdToken: false);
            // RFC 6749 §4.4.3: no refresh token for a client acting for itself.
            case GrantTypes.ClientCredentials:
                return new Granted(granted, RefreshToken: false, IdToken: false);
            // The password grant always starts a family; a refresh always rotates into its family.
            case GrantTypes.Password or GrantTypes.RefreshToken:
                return new Granted(granted, RefreshToken: true, IdToken: false);
            // OIDC Core §11 / RFC 6749 §1.5: a refresh token for offline_access or for a client registered for the
            // refresh_token grant; OIDC Core §3.1.3.3: an ID token when openid was granted.
            default:
                return new Granted(granted,
                    RefreshToken: granted.Contains(OidcScopes.OfflineAccess) || client!.AllowsGrant(GrantTypes.RefreshToken),
                    IdToken: granted.Contains(OidcScopes.OpenId));
        }
    }

    /// <summary>RFC 6749 §6: whether a refresh's requested scope stays within the original grant (nothing requested: it does).</summary>
    public static bool Narrows(IReadOnlySet<string> requested, IReadOnlySet<string> original) => requested.IsSubsetOf(original);
}
