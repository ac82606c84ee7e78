using Authly.Caching;
using Authly.Configuration;
using Authly.Grants;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Tokens;

namespace Authly.Oidc;

/// <summary>
/// The discovery document (RFC 8414 / OpenID Connect Discovery 1.0) as this server publishes it:
/// built and tagged once per version of what it lists. The only part that changes at run time is
/// the active scope set, which <see cref="ScopeStore"/> hands out as the same instance until it is
/// re-read, so a new instance (or a new issuer) is what makes a new version.
/// </summary>
public sealed class PublishedMetadata(Issuer issuer, GrantEngine grants, ScopeStore scopes, AuthlyOptions options)
{
    /// <summary>
    /// How long a client may cache the metadata. It changes only when a scope is added or
    /// (de)activated or the server is reconfigured, and a stale copy at worst lists a scope the
    /// token endpoint then refuses; five minutes, as before.
    /// </summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private sealed record Version(string Issuer, IReadOnlyDictionary<string, Scope> Scopes, PublishedDocument Document);
    private Version? _current;

    public async ValueTask<PublishedDocument> GetAsync(CancellationToken ct)
    {
        var active = await scopes.ActiveAsync(ct);
        var current = Volatile.Read(ref _current);
        if (current is not null && ReferenceEquals(current.Scopes, active) && current.Issuer == issuer.Value) return current.Document;
        var fapi2 = Clients.Fapi2Profile.AppliesTo(options, null);
        var grantTypes = grants.SupportedGrantTypes.Where(g => g != GrantTypes.Password || (options.PasswordGrantEnabled && !fapi2)).ToList();
        // Every endpoint below is served by Authly.Server.
        var document = PublishedDocument.Of(DiscoveryDocument.Build(issuer.Value,
            new DiscoveryDocument.Features(grantTypes, active.Keys.ToList(), options.SigningAlgorithm,
                HasAuthorizeEndpoint: true, HasUserInfo: true, HasDeviceAuthorization: true, HasEndSession: true,
                HasRegistration: options.ClientRegistration != Clients.ClientRegistrationMode.Closed,
                RequirePushedAuthorizationRequests: options.RequirePushedAuthorizationRequests || fapi2, Fapi2: fapi2)), MaxAge);
        Volatile.Write(ref _current, new Version(issuer.Value, active, document));
        return document;
    }
}
