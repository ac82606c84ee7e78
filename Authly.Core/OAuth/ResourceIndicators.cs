using Authly.Clients;

namespace Authly.OAuth;

/// <summary>
/// RFC 8707 resource indicators, the one place their rules live: what a <c>resource</c> value may be, which ones a client
/// may ask for, narrowing on the token request (§2.2) and on refresh, and the access token's <c>aud</c>.
/// The parameter may be repeated; the request readers hand the values on joined by a space (a space is not allowed in a
/// URI, RFC 3986 §2, so no valid value is split), and <see cref="Parse"/> splits them again.
/// </summary>
public static class ResourceIndicators
{
    public const int MaxResources = 10;
    public const int MaxLength = 2048;

    /// <summary>The values of a repeated <c>resource</c> parameter, as the request readers hand them on.</summary>
    public static string Join(IEnumerable<string> values) => string.Join(' ', values);

    /// <summary>
    /// §2: each value an absolute URI without a fragment; an empty list when the parameter is absent.
    /// Duplicates collapse; the order is kept.
    /// </summary>
    /// <exception cref="OAuthException">invalid_target for anything else</exception>
    public static IReadOnlyList<string> Parse(string? joined)
    {
        if (string.IsNullOrEmpty(joined)) return [];
        var values = joined.Split(' ').Distinct(StringComparer.Ordinal).ToList();
        if (values.Count > MaxResources) throw new OAuthException(OAuthErrors.InvalidTarget, $"At most {MaxResources} resource values");
        foreach (var v in values)
            if (!IsValid(v)) throw new OAuthException(OAuthErrors.InvalidTarget, "resource must be an absolute URI without a fragment");
        return values;
    }

    /// <summary>RFC 8707 §2: an absolute URI, no fragment; no control characters (they are stored).</summary>
    public static bool IsValid(string value) =>
        value.Length is > 0 and <= MaxLength && !value.Contains('#') && !value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        // On Unix "/api" parses as an absolute file URI: the value itself must begin with its scheme.
        && value.StartsWith(uri.Scheme + ":", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// §2: every requested resource must be registered for the client, or be this server's own access-token audience
    /// (the default a token gets anyway). An empty request is allowed (the default audience).
    /// </summary>
    /// <exception cref="OAuthException">invalid_target</exception>
    public static IReadOnlyList<string> CheckAllowed(IReadOnlyList<string> requested, Client client, string ownAudience)
    {
        foreach (var r in requested)
            if (r != ownAudience && !client.Resources.Contains(r, StringComparer.Ordinal))
                throw new OAuthException(OAuthErrors.InvalidTarget, "The resource is not registered for this client", $"client {client.ClientId}, resource {r}");
        return requested;
    }

    /// <summary>
    /// §2.2 (token request after a code) and refresh: the request may narrow what the grant holds, never widen it.
    /// Nothing requested: all of the grant's. A grant with no resources (the default audience) cannot be widened to any.
    /// </summary>
    /// <exception cref="OAuthException">invalid_target</exception>
    public static IReadOnlyList<string> Narrow(IReadOnlyList<string> requested, IReadOnlyList<string> granted)
    {
        if (requested.Count == 0) return granted;
        foreach (var r in requested)
            if (!granted.Contains(r, StringComparer.Ordinal))
                throw new OAuthException(OAuthErrors.InvalidTarget, "The resource was not part of the original grant", $"resource {r}");
        return requested;
    }

    /// <summary>What a client registration may hold (admin API and CLI): valid resource URIs, at most <see cref="MaxRegistered"/>.</summary>
    /// <exception cref="AuthlyException">a validation error on <c>resources</c></exception>
    public static string[] CheckRegistered(string[] values)
    {
        if (values.Length > MaxRegistered) throw AuthlyException.Validation($"at most {MaxRegistered} resources", "resources");
        foreach (var v in values)
            if (!IsValid(v)) throw AuthlyException.Validation("each resource must be an absolute URI without a fragment (RFC 8707 §2)", "resources");
        return values.Distinct(StringComparer.Ordinal).ToArray();
    }

    public const int MaxRegistered = 50;

    /// <summary>The grants that take <c>resource</c>; token exchange takes one (RFC 8693 §2.1).</summary>
    private static readonly HashSet<string> Grants =
        [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken, GrantTypes.ClientCredentials, GrantTypes.TokenExchange];

    /// <summary>A <c>resource</c> on a grant that does not take one is refused rather than silently ignored.</summary>
    /// <exception cref="OAuthException">invalid_target</exception>
    public static void CheckGrant(string grantType, TokenRequest request)
    {
        if (request[Parameters.Resource] is not null && !Grants.Contains(grantType))
            throw new OAuthException(OAuthErrors.InvalidTarget, "resource is not supported with this grant type", $"grant {grantType}");
    }
}
