namespace Authly.Scopes;

/// <summary>What makes a scope definition valid: one place for the admin API's create and update (beside ClientRules and UserRules).</summary>
public static class ScopeRules
{
    public const int MaxNameLength = 100;
    public const int MaxDescriptionLength = 1000;

    /// <summary>
    /// The name a new scope is stored under (trimmed). RFC 6749 §3.3: a scope-token is printable ASCII
    /// without space, quote or backslash, so a scope the server defines can always be requested.
    /// </summary>
    public static string CheckName(string? name)
    {
        var trimmed = name?.Trim();
        if (string.IsNullOrEmpty(trimmed)) throw AuthlyException.Validation("scope_name is required", "scope_name");
        if (trimmed.Length > MaxNameLength || !ScopeSet.IsValidToken(trimmed))
            throw AuthlyException.Validation("scope_name must be 1-100 printable characters without spaces, quotes or backslashes", "scope_name");
        return trimmed;
    }

    /// <summary>A scope's name is its identity in every token and client that carries it: an update may repeat it, never change it.</summary>
    public static void CheckNameUnchanged(string scopeName, string? given)
    {
        if (given is not null && given != scopeName) throw AuthlyException.Validation("scope_name cannot be changed", "scope_name");
    }

    public static void CheckDescription(string? description)
    {
        if (description is { Length: > MaxDescriptionLength })
            throw AuthlyException.Validation("description is longer than 1000 characters", "description");
    }

    /// <summary>The answer when the name is taken (the store's insert found it): a 400 naming the field, as the admin API always gave.</summary>
    public static AuthlyException AlreadyExists(string name) => AuthlyException.Validation($"Scope '{name}' already exists", "scope_name");
}
