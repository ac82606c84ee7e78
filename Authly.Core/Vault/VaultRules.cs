using System.Net;
using System.Text.RegularExpressions;
using Authly.Scopes;

namespace Authly.Vault;

/// <summary>Input rules shared by the vault's API and CLI; each failure is a 400 naming the field.</summary>
public static partial class VaultRules
{
    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")] private static partial Regex NamePattern();
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")] private static partial Regex PurposePattern();

    public const string DefaultPurpose = "default";

    public static string ProviderName(string? name, string field = "name")
    {
        var n = name?.Trim();
        if (string.IsNullOrEmpty(n)) throw VaultErrors.BadRequest($"{field} is required", field);
        if (!NamePattern().IsMatch(n)) throw VaultErrors.BadRequest($"{field} must be 1-63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit", field);
        return n;
    }

    public static string Purpose(string? purpose)
    {
        var p = string.IsNullOrWhiteSpace(purpose) ? DefaultPurpose : purpose.Trim();
        if (!PurposePattern().IsMatch(p)) throw VaultErrors.BadRequest("purpose must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'", "purpose");
        return p;
    }

    /// <summary>
    /// An issuer Authly may call: https, or http only on a loopback address (development and
    /// tests). No query or fragment (OpenID Connect Discovery 1.0 §2). Trailing slash dropped.
    /// </summary>
    public static string Issuer(string? issuer, string field = "issuer")
    {
        var raw = issuer?.Trim();
        if (string.IsNullOrEmpty(raw)) throw VaultErrors.BadRequest($"{field} is required", field);
        if (!Uri.TryCreate(raw, UriKind.Absolute, out var uri) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment)
            || !string.IsNullOrEmpty(uri.UserInfo))
            throw VaultErrors.BadRequest($"{field} must be an absolute URL without query, fragment or credentials", field);
        if (!IsAllowedEndpoint(uri))
            throw VaultErrors.BadRequest($"{field} must use https (http is allowed only on a loopback address)", field);
        return raw.TrimEnd('/');
    }

    /// <summary>https anywhere; http only to loopback, so tokens never cross a network in clear.</summary>
    public static bool IsAllowedEndpoint(Uri uri) =>
        uri.Scheme == Uri.UriSchemeHttps ||
        (uri.Scheme == Uri.UriSchemeHttp && (uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip))));

    /// <summary>A scope string (RFC 6749 §3.3 syntax), normalized; null stays null.</summary>
    public static string? Scope(string? scope, string field = "scope")
    {
        if (scope is null) return null;
        var tokens = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length > 50 || scope.Length > 2000 || tokens.Any(t => !ScopeSet.IsValidToken(t)))
            throw VaultErrors.BadRequest($"{field} must be space-separated scope tokens (RFC 6749 §3.3)", field);
        return string.Join(' ', tokens.Distinct(StringComparer.Ordinal));
    }

    /// <summary>RFC 8707 §2: a resource is an absolute URI without a fragment.</summary>
    public static string? Resource(string? resource)
    {
        if (resource is null) return null;
        if (resource.Length > 2000 || !Uri.TryCreate(resource, UriKind.Absolute, out var uri) || !string.IsNullOrEmpty(uri.Fragment))
            throw VaultErrors.BadRequest("resource must be an absolute URI without a fragment (RFC 8707 §2)", "resource");
        return resource;
    }

    public static string Text(string? value, string field, int max, bool required = true)
    {
        var v = value?.Trim();
        if (string.IsNullOrEmpty(v))
        {
            if (required) throw VaultErrors.BadRequest($"{field} is required", field);
            return "";
        }
        if (v.Length > max || v.Any(char.IsControl)) throw VaultErrors.BadRequest($"{field} must be at most {max} printable characters", field);
        return v;
    }
}
