using Authly.Users;

namespace Authly.Scopes;

/// <summary>
/// Which scopes a user may hold: any active scope, except the privileged ones — <c>admin:*</c>, and
/// <c>introspect</c> (RFC 7662 §4: whoever may introspect learns about every other party's
/// tokens) — which only an admin may hold. The single place that decides it, for every grant.
/// </summary>
public static class UserScopePolicy
{
    public const string AdminPrefix = "admin:";
    public const string IntrospectScope = "introspect";

    /// <summary>A scope a token gets only for an admin user, or for a client an admin registered it on.</summary>
    public static bool IsPrivileged(string scope) =>
        scope.StartsWith(AdminPrefix, StringComparison.Ordinal) || scope == IntrospectScope;

    public static bool MayHold(User user, string scope) => user.IsAdmin || !IsPrivileged(scope);
}
