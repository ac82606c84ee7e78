namespace Authly.Authorization;

/// <summary>
/// An error before the client and redirect URI are trusted: shown to the user, never redirected
/// (RFC 6749 §4.1.2.1), so an attacker cannot use the server as an open redirector.
/// </summary>
public sealed class AuthorizeError(string message) : Exception(message);
