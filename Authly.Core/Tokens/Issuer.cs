namespace Authly.Tokens;

/// <summary>
/// The issuer identifier (RFC 8414 §2): the same string in discovery, every token's iss and
/// ID tokens. Set from AUTHLY_ISSUER, else from the address the server listens on.
/// </summary>
public sealed class Issuer
{
    private string? _value;
    public string Value => _value ?? throw new InvalidOperationException("The issuer is not set yet.");
    public bool IsSet => _value is not null;
    public void Set(string value) => _value = value.TrimEnd('/');
}
