namespace Authly.Vault;

/// <summary>Picks how to reach a provider: in process for this Authly, over HTTP for everyone else.</summary>
public sealed class Upstreams(OidcUpstream oidc, LocalUpstream local)
{
    public IUpstream For(VaultProvider provider) => provider.IsLocal ? local : oidc;
}
