namespace Authly;

/// <summary>
/// A field of a client registration, user account or profile is invalid or taken. The message is safe to
/// show the caller; <see cref="Field"/> names the offending field. The API maps it to 400 with <c>field</c>.
/// </summary>
public sealed class ValidationException(string message, string field) : Exception(message)
{
    public string Field { get; } = field;
}
