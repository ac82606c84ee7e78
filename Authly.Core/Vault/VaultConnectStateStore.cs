using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Vault;

/// <summary>
/// The connect flow's server-side state: the browser carries only the random state value; its
/// hash, the user, the provider and the PKCE verifier (sealed) stay here. Consumed by one
/// UPDATE, so a state works once; it expires after ten minutes.
/// </summary>
public sealed class VaultConnectStateStore(NpgsqlDataSource db, VaultCipher cipher, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private const string VerifierField = "/code_verifier";

    public sealed record State
    {
        public byte[] StateHash { get; init; } = [];
        public Guid UserId { get; init; }
        public Guid ProviderId { get; init; }
        public string Purpose { get; init; } = "";
        public string Scope { get; init; } = "";
        public string Nonce { get; init; } = "";
        public string RedirectUri { get; init; } = "";
        public string? ReturnTo { get; init; }
        public string KeyId { get; init; } = "";
        public byte[] WrappedKey { get; init; } = [];
        public byte[] CodeVerifierEncrypted { get; init; } = [];
        public DateTime ExpiresAt { get; init; }

        public string RowContext => RowContextOf(StateHash, UserId, ProviderId);
    }

    private static string RowContextOf(byte[] hash, Guid userId, Guid providerId) =>
        $"vault_connect_states/{Convert.ToHexStringLower(hash)}/{userId}/{providerId}";

    private const string InsertSql = """
        INSERT INTO vault_connect_states (state_hash, user_id, provider_id, purpose, scope, nonce, redirect_uri, return_to, key_id,
            wrapped_key, code_verifier_encrypted, expires_at)
        VALUES (@StateHash, @UserId, @ProviderId, @Purpose, @Scope, @Nonce, @RedirectUri, @ReturnTo, @KeyId, @WrappedKey, @Verifier, @ExpiresAt)
        """;

    public async Task CreateAsync(byte[] stateHash, Guid userId, Guid providerId, string purpose, string scope, string nonce, string redirectUri,
        string? returnTo, string codeVerifier, CancellationToken ct)
    {
        var context = RowContextOf(stateHash, userId, providerId);
        using var key = cipher.NewDataKey(context);
        var now = clock.GetUtcNow().UtcDateTime;
        await using var conn = await db.OpenAsync(ct);
        // Expired states are deleted by Storage.ExpiredRowSweeper.
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            StateHash = stateHash, UserId = userId, ProviderId = providerId, Purpose = purpose, Scope = scope, Nonce = nonce,
            RedirectUri = redirectUri, ReturnTo = returnTo, key.KeyId, WrappedKey = key.Wrapped,
            Verifier = VaultCipher.Seal(key, codeVerifier, context + VerifierField), ExpiresAt = now + Lifetime,
        }, cancellationToken: ct));
    }

    private const string ConsumeSql = """
        UPDATE vault_connect_states SET consumed_at = now()
        WHERE state_hash = @StateHash AND consumed_at IS NULL
        RETURNING state_hash, user_id, provider_id, purpose, scope, nonce, redirect_uri, return_to, key_id, wrapped_key,
            code_verifier_encrypted, expires_at
        """;

    /// <summary>Marks the state used and returns it with its verifier; null when unknown, used or expired.</summary>
    public async Task<(State State, string CodeVerifier)?> ConsumeAsync(byte[] stateHash, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var state = await conn.QuerySingleOrDefaultAsync<State>(new CommandDefinition(ConsumeSql, new { StateHash = stateHash }, cancellationToken: ct));
        if (state is null || state.ExpiresAt <= clock.GetUtcNow().UtcDateTime) return null;
        using var key = cipher.OpenDataKey(state.KeyId, state.WrappedKey, state.RowContext);
        return (state, VaultCipher.Open(key, state.CodeVerifierEncrypted, state.RowContext + VerifierField));
    }
}
