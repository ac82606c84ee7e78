namespace Authly.Clients;

/// <summary>A client registration is invalid; <see cref="Field"/> names the offending field.</summary>
public sealed class ClientValidationException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
