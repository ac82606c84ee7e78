using Microsoft.Extensions.Logging;

namespace Authly.Vault;

/// <summary>
/// `authly vault rotate-key`: re-wraps every row's data key with the current vault key. Rows are
/// done one by one with a compare-and-set, so servers keep reading and writing meanwhile (each
/// row names the key that wrapped it, and servers hold the previous keys in
/// AUTHLY_VAULT_PREVIOUS_KEYS). Secrets themselves are not re-encrypted: their data keys stay.
/// Connect-flow states are not re-wrapped: they live ten minutes, so keep the previous key
/// configured that long after a rotation.
/// </summary>
public sealed class VaultKeyRotation(VaultEntryStore entries, VaultProviderStore providers, VaultCipher cipher,
    ILogger<VaultKeyRotation> log)
{
    public sealed class Counts
    {
        public int Rewrapped { get; set; }
        public int Unreadable { get; set; }
        public HashSet<string> UnknownKeys { get; } = new(StringComparer.Ordinal);

        public void Add(Counts other)
        {
            Rewrapped += other.Rewrapped;
            Unreadable += other.Unreadable;
            UnknownKeys.UnionWith(other.UnknownKeys);
        }
    }

    public sealed record Result(string CurrentKeyId, int Entries, int Providers, int Unreadable, IReadOnlyCollection<string> UnknownKeyIds);

    public async Task<Result> RunAsync(int batchSize, CancellationToken ct)
    {
        var current = cipher.Keys.Current ?? throw VaultErrors.NotConfigured(cipher.Keys.DisabledReason);
        var e = await entries.RewrapAsync(batchSize, ct);
        var p = await providers.RewrapAsync(batchSize, ct);
        var all = new Counts();
        all.Add(e);
        all.Add(p);
        log.LogInformation("Vault key rotation to {KeyId}: {Entries} entries and {Providers} providers re-wrapped, {Unreadable} unreadable.",
            current.Id, e.Rewrapped, p.Rewrapped, all.Unreadable);
        return new Result(current.Id, e.Rewrapped, p.Rewrapped, all.Unreadable, all.UnknownKeys);
    }
}
