using System.Text.Json;
using Authly.Users;

namespace Authly.Oidc;

/// <summary>OIDC Core §5.4: the standard claims each scope releases. Absent values are omitted.</summary>
public static class UserClaims
{
    public static Dictionary<string, object> For(User u, IReadOnlySet<string> scopes)
    {
        var claims = new Dictionary<string, object>(StringComparer.Ordinal) { ["sub"] = u.Id.ToString() };
        if (scopes.Contains("profile"))
        {
            var name = string.Join(' ', new[] { u.GivenName, u.MiddleName, u.FamilyName }.Where(s => !string.IsNullOrEmpty(s)));
            Add(claims, "name", name.Length > 0 ? name : null);
            Add(claims, "given_name", u.GivenName);
            Add(claims, "family_name", u.FamilyName);
            Add(claims, "middle_name", u.MiddleName);
            Add(claims, "nickname", u.Nickname);
            Add(claims, "preferred_username", u.PreferredUsername ?? u.Username);
            Add(claims, "profile", u.Profile);
            Add(claims, "picture", u.Picture);
            Add(claims, "website", u.Website);
            Add(claims, "gender", u.Gender);
            Add(claims, "birthdate", u.Birthdate);
            Add(claims, "zoneinfo", u.Zoneinfo);
            Add(claims, "locale", u.Locale);
            claims["updated_at"] = new DateTimeOffset(u.UpdatedAt).ToUnixTimeSeconds();
        }
        if (scopes.Contains("email"))
        {
            claims["email"] = u.Email;
            claims["email_verified"] = u.IsVerified;
        }
        if (scopes.Contains("address") && u.Address is not null)
        {
            using var doc = JsonDocument.Parse(u.Address);
            var address = doc.RootElement.EnumerateObject()
                .Where(p => p.Value.ValueKind == JsonValueKind.String)
                .ToDictionary(p => p.Name, p => (object)p.Value.GetString()!);
            if (address.Count > 0) claims["address"] = address;
        }
        if (scopes.Contains("phone") && u.PhoneNumber is not null)
        {
            claims["phone_number"] = u.PhoneNumber;
            claims["phone_number_verified"] = u.PhoneNumberVerified ?? false;
        }
        return claims;
    }

    private static void Add(Dictionary<string, object> claims, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value)) claims[name] = value;
    }
}
