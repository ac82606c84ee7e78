using Authly.Users;

namespace Authly.Scopes;

/// <summary>Which scopes a user may hold: any active scope, but admin:* only while the user is an admin.</summary>
public static class UserScopePolicy
{
    public const string AdminPrefix = "admin:";

    public static bool MayHold(User user, string scope) => user.IsAdmin || !scope.StartsWith(AdminPrefix, StringComparison.Ordinal);
}
