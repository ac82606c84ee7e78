using Authly.Users;

namespace Authly.Scopes;

/// <summary>
/// Which scopes a user may hold, and which belong to Authly's own first party. The single place that
/// decides it, for every grant.
/// <list type="bullet">
/// <item>Privileged: <c>admin:*</c>, and <c>introspect</c> (RFC 7662 §4: whoever may introspect learns
/// about every other party's tokens) — only an admin may hold them.</item>
/// <item>First-party: <c>admin:*</c>, <c>vault:read</c>/<c>vault:write</c> (the owner's own entries), <c>introspect</c> (an admin's own tooling checks tokens: the standalone
/// image's helpers, scripts run by an operator) and <c>account:*</c> (the caller's own account record, ending
/// all of its sessions, changing its password). What the first-party CLI asks for, and all that the client-less
/// password grant ever yields, clamped by <see cref="MayHold"/>. A third-party client gets them only when an admin registered it with them
/// (a client's scopes are always its registration's); none is a default scope.</item>
/// </list>
/// </summary>
public static class UserScopePolicy
{
    public const string AdminPrefix = "admin:";
    public const string AccountPrefix = "account:";
    public const string IntrospectScope = "introspect";
    /// <summary>The whole account record on /api/v1/users/me and /auth/password-status.</summary>
    public const string AccountRead = "account:read";
    /// <summary>POST /api/v1/auth/logout (every session and token family) and /auth/change-password.</summary>
    public const string AccountWrite = "account:write";

    /// <summary>A scope a token gets only for an admin user, or for a client an admin registered it on.</summary>
    public static bool IsPrivileged(string scope) =>
        scope.StartsWith(AdminPrefix, StringComparison.Ordinal) || scope == IntrospectScope;

    /// <summary>Scopes that mean nothing without a user (an admin acting, an account's own record): never in a client_credentials token.</summary>
    public static bool NeedsUser(string scope) =>
        scope.StartsWith(AdminPrefix, StringComparison.Ordinal) || scope.StartsWith(AccountPrefix, StringComparison.Ordinal);

    /// <summary>Authly's own scopes: the only ones the client-less password grant (the CLI) yields.</summary>
    public static bool IsFirstParty(string scope) => NeedsUser(scope) || scope is IntrospectScope or VaultRead or VaultWrite;

    /// <summary>
    /// The owner's own vault scopes are first-party too: an entry connected in the browser is granted to no
    /// client, and its owner lists, grants and revokes it with the first-party token (through a third-party
    /// client a user token reaches only the entries granted to that client).
    /// </summary>
    public const string VaultRead = "vault:read";
    public const string VaultWrite = "vault:write";

    public static bool MayHold(User user, string scope) => user.IsAdmin || !IsPrivileged(scope);
}
