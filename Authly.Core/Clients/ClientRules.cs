using Authly.OAuth;
using Authly.Scopes;

namespace Authly.Clients;

/// <summary>What makes a client registration valid: one place, used for create and update.</summary>
public static class ClientRules
{
    public static readonly IReadOnlyList<string> SupportedGrantTypes =
        [OAuth.GrantTypes.AuthorizationCode, OAuth.GrantTypes.ClientCredentials, OAuth.GrantTypes.RefreshToken,
         OAuth.GrantTypes.Password, OAuth.GrantTypes.DeviceCode, OAuth.GrantTypes.TokenExchange];

    /// <summary>
    /// RFC 6749 §3.1.2: absolute, no fragment. RFC 8252 §7 and OAuth 2.1 §2.3.1: a public client's
    /// redirect must be https, http on a loopback address, or a private-use (reverse-DNS) scheme.
    /// </summary>
    public static string? RedirectUriProblem(string uri, bool isPublic)
    {
        if (uri.Length > 2000) return "is longer than 2000 characters";
        // On Unix, .NET also reads "/cb" and "//host/cb" as absolute file: URIs; an absolute URI starts with its scheme.
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || !uri.StartsWith(parsed.Scheme + ":", StringComparison.OrdinalIgnoreCase))
            return "is not an absolute URI";
        if (uri.Contains('#')) return "must not contain a fragment";
        if (parsed.Scheme is "javascript" or "data" or "file" or "vbscript") return $"uses the forbidden scheme '{parsed.Scheme}'";
        if (parsed.Scheme is "http" or "https" && string.IsNullOrEmpty(parsed.Host)) return "has no host";
        if (!isPublic) return null;
        if (parsed.Scheme == "https") return null;
        if (parsed.Scheme == "http")
            return parsed.IsLoopback && parsed.Host is "127.0.0.1" or "[::1]" or "localhost" ? null
                : "must use https (http is allowed only on a loopback address for public clients)";
        return parsed.Scheme.Contains('.') ? null : "must use https, loopback http, or a private-use scheme such as com.example.app";
    }

    /// <summary>
    /// Is <paramref name="given"/> (an authorization request's redirect_uri) one of the client's?
    /// RFC 6749 §3.1.2.3 / OAuth 2.1 §2.3.1 / RFC 9700 §4.1.3: exact string comparison, with the one
    /// exception of RFC 8252 §7.3: for a loopback IP redirect (http, host 127.0.0.1 or [::1]) the
    /// port may be any, because a native app listens on whatever port it was given. Path and query
    /// stay exact; localhost (a name, RFC 8252 §8.3), https and every other host get no freedom.
    /// </summary>
    public static bool MatchesRegisteredRedirectUri(IReadOnlyCollection<string> registered, string given)
    {
        if (registered.Contains(given, StringComparer.Ordinal)) return true;
        if (SplitLoopbackPort(given) is not { } loopback) return false;
        return registered.Any(r => SplitLoopbackPort(r) is { } other && other == loopback);
    }

    private static readonly string[] LoopbackIpLiterals = ["127.0.0.1", "[::1]"];

    /// <summary>
    /// "http://127.0.0.1[:port]rest" or "http://[::1][:port]rest" → (host, rest), where rest is empty
    /// or starts the path or query; anything else (another spelling of the host, userinfo, a port
    /// that is not a plain number from 1 to 65535) → null. Exactly as written: no normalisation.
    /// </summary>
    private static (string Host, string PathAndQuery)? SplitLoopbackPort(string uri)
    {
        foreach (var host in LoopbackIpLiterals)
        {
            var prefix = "http://" + host;
            if (!uri.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var i = prefix.Length;
            if (i < uri.Length && uri[i] == ':')
            {
                var start = ++i;
                while (i < uri.Length && char.IsAsciiDigit(uri[i])) i++;
                var port = uri[start..i];
                if (port.Length is 0 or > 5 || port[0] == '0' || int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) > 65535) return null;
            }
            var rest = uri[i..];
            return rest.Length == 0 || rest[0] is '/' or '?' ? (host, rest) : null;
        }
        return null;
    }

    public static void Validate(ClientRegistration r, bool isCreate)
    {
        if (isCreate && string.IsNullOrWhiteSpace(r.ClientName)) throw AuthlyException.Validation("client_name is required", "client_name");
        if (r.ClientName is { Length: > 255 }) throw AuthlyException.Validation("client_name is longer than 255 characters", "client_name");
        if (isCreate && r.ClientType is not (ClientTypes.Public or ClientTypes.Confidential))
            throw AuthlyException.Validation("client_type must be 'public' or 'confidential'", "client_type");
        if (r.TokenEndpointAuthMethod is { } m && !TokenAuthMethods.All.Contains(m))
            throw AuthlyException.Validation("token_endpoint_auth_method must be client_secret_basic, client_secret_post, private_key_jwt or none", "token_endpoint_auth_method");
        if (r.GrantTypes is { } grants)
            foreach (var g in grants)
                if (!SupportedGrantTypes.Contains(g))
                    throw AuthlyException.Validation($"grant_types: '{g}' is not supported", "grant_types");
        if (r.ResponseTypes is { } rts && rts.Any(t => t != "code"))
            throw AuthlyException.Validation("response_types: only 'code' is supported", "response_types");
        if (r.Scope is not null)
        {
            try { _ = ScopeSet.Parse(r.Scope); }
            catch (OAuthException) { throw AuthlyException.Validation("scope must be space-separated scope names", "scope"); }
        }
        foreach (var (field, uris) in new[] { ("redirect_uris", r.RedirectUris), ("post_logout_redirect_uris", r.PostLogoutRedirectUris) })
            if (uris is { Length: > 50 }) throw AuthlyException.Validation($"{field} has more than 50 entries", field);
        foreach (var (field, uri) in new[] { ("client_uri", r.ClientUri), ("logo_uri", r.LogoUri), ("tos_uri", r.TosUri), ("policy_uri", r.PolicyUri) })
            if (uri is not null && (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http")))
                throw AuthlyException.Validation($"{field} must be an absolute http(s) URL", field);
        if (r.ApplicationType is not null and not ("web" or "native"))
            throw AuthlyException.Validation("application_type must be 'web' or 'native'", "application_type");
    }

    /// <summary>Checks the merged client (after defaults or an update) for consistency.</summary>
    public static void ValidateMerged(string clientType, string authMethod, IEnumerable<string> redirectUris, IEnumerable<string> postLogoutUris, IEnumerable<string> grantTypes)
    {
        var isPublic = clientType == ClientTypes.Public;
        if (isPublic && authMethod != TokenAuthMethods.None)
            throw AuthlyException.Validation("token_endpoint_auth_method must be 'none' for public clients", "token_endpoint_auth_method");
        if (!isPublic && authMethod == TokenAuthMethods.None)
            throw AuthlyException.Validation("token_endpoint_auth_method must be client_secret_basic, client_secret_post or private_key_jwt for confidential clients", "token_endpoint_auth_method");
        if (isPublic && grantTypes.Contains(OAuth.GrantTypes.ClientCredentials))
            throw AuthlyException.Validation("grant_types: public clients cannot use client_credentials", "grant_types");
        foreach (var uri in redirectUris)
            if (RedirectUriProblem(uri, isPublic) is { } p) throw AuthlyException.Validation($"redirect_uris: '{uri}' {p}", "redirect_uris");
        foreach (var uri in postLogoutUris)
            if (RedirectUriProblem(uri, isPublic) is { } p) throw AuthlyException.Validation($"post_logout_redirect_uris: '{uri}' {p}", "post_logout_redirect_uris");
        if (grantTypes.Contains(OAuth.GrantTypes.AuthorizationCode) && !redirectUris.Any())
            throw AuthlyException.Validation("redirect_uris: the authorization_code grant needs at least one redirect URI", "redirect_uris");
    }

    // ---- Issue 18: clients that registered themselves (RFC 7591) ----

    /// <summary>
    /// The grants a client may give itself. Not password (a legacy grant that sees user passwords) and not token
    /// exchange (it needs a policy only an admin sets).
    /// </summary>
    public static readonly IReadOnlyList<string> SelfRegisteredGrantTypes =
        [OAuth.GrantTypes.AuthorizationCode, OAuth.GrantTypes.RefreshToken, OAuth.GrantTypes.ClientCredentials, OAuth.GrantTypes.DeviceCode];

    /// <summary>
    /// The rules a self-registered client meets on top of <see cref="Validate"/> and <see cref="ValidateMerged"/>,
    /// which it meets too. Nobody vouched for it, so: no wildcard anywhere in a redirect URI (RFC 9700 §4.1.3: exact
    /// matching only); a confidential client (the only kind that may use client_credentials) redirects to https on a
    /// real host, never to a loopback or http address that any local program could listen on; and its scopes are
    /// active, and never privileged (admin:*, introspect) or first-party (account:*, vault:*), which only an admin grants.
    /// </summary>
    public static void ValidateSelfRegistered(string clientType, IEnumerable<string> grantTypes, IEnumerable<string> redirectUris,
        IEnumerable<string> postLogoutUris, IEnumerable<string> scopes, IReadOnlyDictionary<string, Scope> activeScopes)
    {
        foreach (var g in grantTypes)
            if (!SelfRegisteredGrantTypes.Contains(g))
                throw AuthlyException.Validation($"grant_types: '{g}' cannot be registered dynamically", "grant_types");
        foreach (var (field, uris) in new[] { ("redirect_uris", redirectUris), ("post_logout_redirect_uris", postLogoutUris) })
            foreach (var uri in uris)
            {
                if (uri.Contains('*')) throw AuthlyException.Validation($"{field}: '{uri}' has a wildcard; register exact URIs", field);
                if (clientType == ClientTypes.Confidential && (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.Scheme != "https"
                        || u.IsLoopback || u.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6))
                    throw AuthlyException.Validation($"{field}: '{uri}' must be https on a host name for a confidential client", field);
            }
        foreach (var s in scopes)
        {
            if (UserScopePolicy.IsPrivileged(s) || UserScopePolicy.IsFirstParty(s))
                throw AuthlyException.Validation($"scope: '{s}' cannot be registered dynamically", "scope");
            if (!activeScopes.ContainsKey(s)) throw AuthlyException.Validation($"scope: '{s}' is not an active scope", "scope");
        }
    }

    /// <summary>
    /// OIDC Back-Channel Logout 1.0 §2.2: an absolute URL without a fragment, where the server POSTs logout tokens.
    /// The server itself makes that request, so outside embedded and testing mode it must be https to a public host:
    /// no loopback, private, link-local or otherwise internal address and no single-label name (an admin or a
    /// self-registered client must not turn logout into a request to the server's own network).
    /// </summary>
    public static void CheckBackchannelLogoutUri(string? uri, Configuration.AuthlyMode mode)
    {
        const string Field = "backchannel_logout_uri";
        if (uri is null) return;
        if (uri.Length > 2000 || !Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http") || u.UserInfo.Length > 0)
            throw AuthlyException.Validation("backchannel_logout_uri must be an absolute http(s) URL without user information", Field);
        if (u.Fragment.Length > 0 || uri.Contains('#'))
            throw AuthlyException.Validation("backchannel_logout_uri must not contain a fragment (OIDC Back-Channel Logout §2.2)", Field);
        if (mode is Configuration.AuthlyMode.Embedded or Configuration.AuthlyMode.Testing) return;
        if (u.Scheme != "https")
            throw AuthlyException.Validation("backchannel_logout_uri must use https", Field);
        if (IsInternalHost(u))
            throw AuthlyException.Validation("backchannel_logout_uri must name a public host, not an internal or loopback address", Field);
    }

    /// <summary>A host that names this machine or a private network: what a server-side request must never be pointed at.</summary>
    public static bool IsInternalHost(Uri u)
    {
        var host = u.IdnHost.TrimEnd('.');
        if (u.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && System.Net.IPAddress.TryParse(u.Host.Trim('[', ']'), out var ip))
            return IsInternalAddress(ip);
        return !host.Contains('.') || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".internal", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".local", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Loopback, unspecified, private (RFC 1918, fc00::/7), link-local, CGNAT, multicast or broadcast.</summary>
    public static bool IsInternalAddress(System.Net.IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (System.Net.IPAddress.IsLoopback(ip) || ip.Equals(System.Net.IPAddress.Any) || ip.Equals(System.Net.IPAddress.IPv6Any)) return true;
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            return ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6Multicast || ip.IsIPv6UniqueLocal;
        var b = ip.GetAddressBytes();
        return b[0] is 0 or 10 or 127 || b[0] >= 224 || (b[0] == 169 && b[1] == 254) || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168) || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }
}
