using System.Net.Mail;

namespace Authly.Users;

/// <summary>What a valid username, email, password and profile look like: one place for registration, admin and userinfo.</summary>
public static class UserRules
{
    public const int MinPasswordLength = 8;

    /// <summary>
    /// Whether <paramref name="username"/> could have been registered. A login with any other name is an unknown user
    /// without a lookup: PostgreSQL's lower() under a glibc locale folds non-ASCII letters (İ → i) that the counters'
    /// invariant lower-casing keeps, so such a name would find an account under a lockout key of its own.
    /// </summary>
    public static bool IsValidUsername(string username) =>
        username.Length is >= 1 and <= 50 && username.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '@');

    public static void CheckUsername(string? username)
    {
        if (string.IsNullOrWhiteSpace(username)) throw AuthlyException.Validation("username is required", "username");
        if (username.Length is < 1 or > 50) throw AuthlyException.Validation("username must be 1-50 characters", "username");
        if (!username.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '@'))
            throw AuthlyException.Validation("username may contain letters, digits, '_', '-', '.' and '@' only", "username");
    }

    public static void CheckEmail(string? email)
    {
        if (string.IsNullOrWhiteSpace(email)) throw AuthlyException.Validation("email is required", "email");
        if (email.Length > 254 || !MailAddress.TryCreate(email, out var parsed) || parsed.Address != email || !email.Contains('@'))
            throw AuthlyException.Validation("email is not a valid address", "email");
    }

    public static void CheckPassword(string? password, string field = "password")
    {
        if (string.IsNullOrEmpty(password)) throw AuthlyException.Validation($"{field} is required", field);
        if (password.Length < MinPasswordLength) throw AuthlyException.Validation($"{field} must be at least {MinPasswordLength} characters", field);
        if (password.Length > 1024) throw AuthlyException.Validation($"{field} is longer than 1024 characters", field);
    }

    public static void CheckProfile(UserProfile p)
    {
        if (p.Username is not null) CheckUsername(p.Username);
        if (p.Email is not null) CheckEmail(p.Email);
        if (p.Password is not null) CheckPassword(p.Password);
        foreach (var (name, value) in new[] { ("given_name", p.GivenName), ("family_name", p.FamilyName), ("middle_name", p.MiddleName),
                     ("nickname", p.Nickname), ("preferred_username", p.PreferredUsername), ("gender", p.Gender), ("zoneinfo", p.Zoneinfo),
                     ("locale", p.Locale), ("phone_number", p.PhoneNumber) })
            if (value is { Length: > 255 }) throw AuthlyException.Validation($"{name} is longer than 255 characters", name);
        foreach (var (name, value) in new[] { ("profile", p.Profile), ("picture", p.Picture), ("website", p.Website) })
            if (value is not null && (value.Length > 2000 || !Uri.TryCreate(value, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
                throw AuthlyException.Validation($"{name} must be an absolute http(s) URL", name);
        // OIDC Core §5.1: birthdate is YYYY-MM-DD (or YYYY, or 0000-MM-DD).
        if (p.Birthdate is not null && !System.Text.RegularExpressions.Regex.IsMatch(p.Birthdate, @"^(\d{4}|\d{4}-\d{2}-\d{2})$"))
            throw AuthlyException.Validation("birthdate must be YYYY-MM-DD or YYYY", "birthdate");
        if (p.Address is { } a && a.ValueKind != System.Text.Json.JsonValueKind.Object)
            throw AuthlyException.Validation("address must be a JSON object", "address");
    }
}
