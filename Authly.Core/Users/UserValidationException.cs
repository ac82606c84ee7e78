namespace Authly.Users;

/// <summary>A user field is invalid or taken; <see cref="Field"/> names it.</summary>
public sealed class UserValidationException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
