using Authly.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Vault;

public static class VaultServices
{
    /// <summary>Registers the token vault. All singletons; the key ring is built once from the options.</summary>
    public static IServiceCollection AddAuthlyVault(this IServiceCollection services, AuthlyOptions options)
    {
        services.AddSingleton(_ => VaultKeyRing.Create(options));
        services.AddSingleton<VaultCipher>();
        services.AddSingleton<UpstreamHttp>();
        services.AddSingleton<OidcDiscovery>();
        services.AddSingleton<OidcUpstream>();
        services.AddSingleton<LocalUpstream>();
        services.AddSingleton<Upstreams>();
        services.AddSingleton<VaultProviderStore>();
        services.AddSingleton<VaultEntryStore>();
        services.AddSingleton<VaultConnectStateStore>();
        services.AddSingleton<VaultAudit>();
        services.AddSingleton<VaultCallers>();
        services.AddSingleton<TokenVault>();
        services.AddSingleton<AccessTokenMinter>();
        services.AddSingleton<AuthlyTokenDelegation>();
        services.AddSingleton<VaultConnect>();
        services.AddSingleton<VaultTokenValidation>();
        services.AddSingleton<VaultSessions>();
        services.AddSingleton<VaultHealth>();
        services.AddSingleton<VaultProviders>();
        services.AddSingleton<VaultKeyRotation>();
        return services;
    }
}
