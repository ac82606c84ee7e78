namespace Authly.Server.Http;

/// <summary>
/// Ids in a route (/admin/users/{id}, /api/v1/vault/tokens/{id}, …) arrive as strings and are parsed
/// here, so a malformed one is a 400 naming the field instead of the bare 404 a <c>{id:guid}</c>
/// constraint gives (the route would not match at all). A well-formed id that names nothing stays a 404.
/// </summary>
public static class RouteIds
{
    public static Guid Parse(string value, string field = "id") =>
        Guid.TryParse(value, out var id) ? id : throw AuthlyException.BadRequest($"{field} must be a UUID", field);
}
