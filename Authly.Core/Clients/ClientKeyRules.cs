using System.Text.Json.Nodes;
using Authly.Configuration;
using Authly.OAuth;

namespace Authly.Clients;

/// <summary>
/// Issue 17: what makes a client's keys (jwks or jwks_uri, RFC 7591 §2), its PAR rule and its profile valid;
/// one place for create and update, beside <see cref="ClientRules"/>.
/// </summary>
public static class ClientKeyRules
{
    /// <summary>The stored form of the fields, after merging an update into the current client.</summary>
    public sealed record Keys(string? Jwks, string? JwksUri, bool RequirePushedAuthorizationRequests, string? Profile);

    public const int MaxJwksCharacters = 64 * 1024;
    public const int MaxKeys = 20;

    /// <summary>Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1): never accepted from a client.</summary>
    private static readonly string[] SecretMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    /// <exception cref="AuthlyException">the fields are invalid or do not fit the auth method or profile</exception>
    public static Keys Merge(Client? current, ClientRegistration r, string authMethod, AuthlyOptions options)
    {
        // An empty object clears jwks; an empty string clears jwks_uri or profile.
        var jwks = r.Jwks is null ? current?.Jwks : r.Jwks.Count == 0 ? null : r.Jwks.ToJsonString();
        var jwksUri = r.JwksUri is null ? current?.JwksUri : r.JwksUri.Length == 0 ? null : r.JwksUri;
        var profile = r.Profile is null ? current?.Profile : r.Profile.Length == 0 ? null : r.Profile;
        var requirePar = r.RequirePushedAuthorizationRequests ?? current?.RequirePushedAuthorizationRequests ?? false;

        if (r.Jwks is { Count: > 0 }) ValidateJwks(r.Jwks);
        if (r.JwksUri is { Length: > 0 } && JwksUriProblem(r.JwksUri, options) is { } problem)
            throw AuthlyException.Validation($"jwks_uri {problem}", "jwks_uri");
        if (jwks is not null && jwksUri is not null)
            throw AuthlyException.Validation("give jwks or jwks_uri, not both (OIDC Core registration §2)", "jwks");
        if (authMethod == TokenAuthMethods.PrivateKeyJwt && jwks is null && jwksUri is null)
            throw AuthlyException.Validation("token_endpoint_auth_method private_key_jwt needs jwks or jwks_uri", "jwks");
        if (profile is not null && profile != Fapi2Profile.Name)
            throw AuthlyException.Validation($"profile must be '{Fapi2Profile.Name}' or empty", "profile");
        if (profile == Fapi2Profile.Name && authMethod != TokenAuthMethods.PrivateKeyJwt)
            throw AuthlyException.Validation("the fapi2 profile allows only token_endpoint_auth_method private_key_jwt", "token_endpoint_auth_method");
        return new Keys(jwks, jwksUri, requirePar, profile);
    }

    /// <summary>
    /// Why a jwks_uri cannot be used, or null. https only, except in embedded and testing mode, where a
    /// development client may serve its keys over loopback http: a production server never fetches over
    /// plain http (a network attacker would choose the keys) nor from a URL with credentials in it.
    /// </summary>
    public static string? JwksUriProblem(string uri, AuthlyOptions options)
    {
        if (uri.Length > 2000) return "is longer than 2000 characters";
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || !uri.StartsWith(u.Scheme + "://", StringComparison.OrdinalIgnoreCase))
            return "must be an absolute URL";
        if (u.Fragment.Length > 0 || u.UserInfo.Length > 0) return "must have no fragment and no user information";
        if (u.Scheme == "https") return null;
        if (u.Scheme == "http" && options.Mode is AuthlyMode.Embedded or AuthlyMode.Testing) return null;
        return "must use https";
    }

    private static void ValidateJwks(JsonObject jwks)
    {
        var text = jwks.ToJsonString();
        if (text.Length > MaxJwksCharacters) throw AuthlyException.Validation($"jwks is larger than {MaxJwksCharacters} characters", "jwks");
        if (jwks["keys"] is not JsonArray keys || keys.Count == 0) throw AuthlyException.Validation("jwks must have a non-empty \"keys\" array", "jwks");
        if (keys.Count > MaxKeys) throw AuthlyException.Validation($"jwks has more than {MaxKeys} keys", "jwks");
        var kids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in keys)
        {
            if (node is not JsonObject key) throw AuthlyException.Validation("jwks: every key must be a JSON object", "jwks");
            if (SecretMembers.Any(key.ContainsKey))
                throw AuthlyException.Validation("jwks: a key has private or symmetric members; register public keys only", "jwks");
            var kty = key["kty"] is JsonValue v && v.TryGetValue<string>(out var k) ? k : null;
            if (kty is not ("RSA" or "EC")) throw AuthlyException.Validation("jwks: every key must have kty RSA or EC", "jwks");
            var kid = key["kid"] is JsonValue kv && kv.TryGetValue<string>(out var kidText) ? kidText : null;
            if (keys.Count > 1 && string.IsNullOrEmpty(kid)) throw AuthlyException.Validation("jwks: with several keys, each needs a kid", "jwks");
            if (kid is not null && !kids.Add(kid)) throw AuthlyException.Validation($"jwks: the kid '{kid}' is repeated", "jwks");
        }
        int parsed;
        try { parsed = ClientKeys.Parse(text).Count; }
        catch (ArgumentException) { parsed = -1; }
        if (parsed != keys.Count) throw AuthlyException.Validation("jwks: a key is not a valid RSA or EC public key", "jwks");
    }
}
