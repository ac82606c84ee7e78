namespace Authly.Scopes;

/// <summary>RFC 6749 §3.3 scope strings: space-delimited, case-sensitive, order-free.</summary>
public static class ScopeSet
{
    public static bool IsValidToken(string token)
    {
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if (token.Length == 0) return false;
        foreach (var c in token)
            if (c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E) return false;
        return true;
    }

    /// <summary>Parses a scope parameter. Null or empty gives an empty set; bad syntax throws invalid_scope.</summary>
    public static IReadOnlySet<string> Parse(string? scope)
    {
        if (string.IsNullOrEmpty(scope)) return new HashSet<string>(StringComparer.Ordinal);
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!IsValidToken(token))
                throw OAuth.OAuthException.InvalidScope("The scope parameter is malformed");
            set.Add(token);
        }
        return set;
    }

    public static string Join(IEnumerable<string> scopes) => string.Join(' ', scopes.Order(StringComparer.Ordinal));
}
