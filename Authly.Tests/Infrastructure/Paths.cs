namespace Authly.Tests.Infrastructure;

/// <summary>
/// The routes the tests call, written once (API.md). Tests spell them as the wire does, not through the server's own
/// constants, so a route that moves breaks the tests instead of moving them along. Imported with <c>using static</c>
/// for the whole test project (Authly.Tests.csproj).
/// </summary>
public static class Paths
{
    public const string TokenPath = "/api/v1/oauth/token";
    public const string IntrospectPath = "/api/v1/oauth/introspect";
    public const string RevokePath = "/api/v1/oauth/revoke";
    public const string AuthorizePath = "/api/v1/oauth/authorize";
    public const string DeviceAuthorizationPath = "/api/v1/oauth/device_authorization";
    public const string ParPath = "/api/v1/oauth/par";
    public const string LoginPath = "/login";
    public const string SessionCheckPath = "/oidc/session/check";
    public const string UsersPath = "/api/v1/users/";
    public const string AdminClientsPath = "/admin/clients";
}
