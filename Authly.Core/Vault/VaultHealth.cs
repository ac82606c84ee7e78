namespace Authly.Vault;

/// <summary>
/// Readiness of the vault's providers: each active one's discovery document fetched now (3 s
/// each, in parallel). Reported, but by default not a reason to be "not ready": one provider
/// being down must not take every Authly node out of its load balancer.
/// </summary>
public sealed class VaultHealth(VaultProviderStore providers, Upstreams upstreams, VaultCipher cipher)
{
    public sealed record Status(bool Enabled, IReadOnlyDictionary<string, string> Providers)
    {
        public bool AllReachable => Providers.Values.All(v => v == "ok");
    }

    public async Task<Status> CheckAsync(CancellationToken ct)
    {
        if (!cipher.Keys.IsEnabled) return new Status(false, new Dictionary<string, string>());
        var active = await providers.ListAsync(includeInactive: false, ct);
        var checks = active.Select(async p =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            try { return (p.Name, await upstreams.For(p).CheckAsync(p, timeout.Token) is { } problem ? "unreachable: " + problem : "ok"); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return (p.Name, "unreachable: timed out"); }
        });
        return new Status(true, (await Task.WhenAll(checks)).ToDictionary(c => c.Name, c => c.Item2, StringComparer.Ordinal));
    }
}
