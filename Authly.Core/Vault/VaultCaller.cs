namespace Authly.Vault;

/// <summary>
/// Who is calling the vault. A user acts on their own entries (through a third-party client, only on
/// those granted to that client); a service client (a client_credentials token) acts only on entries
/// granted to it. Either needs vault:read to
/// use entries and vault:write to change them. A user at their own browser (session cookie)
/// holds both.
/// </summary>
public sealed record VaultCaller(VaultCaller.Kinds Kind, Guid? UserId, string? ClientId, IReadOnlySet<string> Scopes, string? Ip)
{
    public enum Kinds { User, Client, Admin }

    public const string ReadScope = "vault:read";
    public const string WriteScope = "vault:write";

    public static VaultCaller User(Guid userId, string? clientId, IReadOnlySet<string> scopes, string? ip) => new(Kinds.User, userId, clientId, scopes, ip);
    public static VaultCaller BrowserUser(Guid userId, string? ip) =>
        new(Kinds.User, userId, null, new HashSet<string>(StringComparer.Ordinal) { ReadScope, WriteScope }, ip);
    public static VaultCaller Client(string clientId, IReadOnlySet<string> scopes, string? ip) => new(Kinds.Client, null, clientId, scopes, ip);
    public static VaultCaller Administrator(Guid userId, string? ip) => new(Kinds.Admin, userId, null, new HashSet<string>(StringComparer.Ordinal), ip);
    /// <summary>An operator at the `authly vault …` command line (direct database access).</summary>
    public static VaultCaller CommandLine() => new(Kinds.Admin, null, null, new HashSet<string>(StringComparer.Ordinal), null);

    /// <summary>How the audit names this caller.</summary>
    public string Actor => Kind switch
    {
        Kinds.User => ClientId is null ? $"user:{UserId}" : $"user:{UserId} via client:{ClientId}",
        Kinds.Client => $"client:{ClientId}",
        _ => UserId is null ? "admin:cli" : $"admin:{UserId}",
    };

    /// <summary>
    /// The user in person: at their browser or with the first-party CLI token, not an app acting with their token.
    /// Only they decide which clients may use an entry, and read its access record (RFC 9700 §4.10).
    /// </summary>
    public bool IsFirstPartyUser => Kind == Kinds.User && ClientId is null;

    public void Require(string scope)
    {
        if (!Scopes.Contains(scope)) throw VaultErrors.InsufficientScope(scope);
    }

    /// <summary>
    /// Whether this caller may see the entry at all: a client it is granted to, or its owner — through a
    /// first-party channel (the browser session, the CLI: <see cref="ClientId"/> null) or through a client
    /// the entry is granted to. RFC 9700 §4.10: a user's token held by one app must not open the tokens the
    /// user gave to another.
    /// </summary>
    public bool CanSee(VaultEntry e) => Kind switch
    {
        Kinds.User => e.UserId == UserId && (ClientId is null || e.Grants.Contains(ClientId, StringComparer.Ordinal)),
        Kinds.Client => e.Grants.Contains(ClientId!, StringComparer.Ordinal),
        _ => false,
    };
}
