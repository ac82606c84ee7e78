using Authly.Clients;
using Authly.Configuration;

namespace Authly.Cli.Commands;

/// <summary>
/// `authly serve --seed`: a public demo client (authorization code + PKCE, loopback redirect URIs)
/// for trying Authly out. Created once (found again by name); refused in production mode, where
/// a client nobody asked for is a risk rather than a convenience.
/// </summary>
public static class DevelopmentSeed
{
    public const string DemoClientName = "Authly demo (seed)";

    public static async Task<string> RunAsync(IServiceProvider services, CancellationToken ct)
    {
        var options = services.GetRequiredService<AuthlyOptions>();
        if (options.Mode == AuthlyMode.Production)
            throw new InvalidOperationException("--seed is for development: use it with --embedded or AUTHLY_MODE=embedded|testing");
        var clients = services.GetRequiredService<ClientStore>();
        var existing = (await clients.ListAsync(1000, 0, includeInactive: false, ct)).FirstOrDefault(c => c.ClientName == DemoClientName);
        if (existing is not null) return existing.ClientId;
        var created = await clients.CreateAsync(new ClientRegistration
        {
            ClientName = DemoClientName, ClientType = "public", TokenEndpointAuthMethod = "none", RequirePkce = true,
            RedirectUris = ["http://localhost:3000/callback", "http://127.0.0.1:3000/callback"],
            GrantTypes = ["authorization_code", "refresh_token"], Scope = "openid profile email offline_access read",
        }, ct);
        return created.Client.ClientId;
    }
}
