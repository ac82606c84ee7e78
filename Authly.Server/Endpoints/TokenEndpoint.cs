using System.Text.Json;
using Authly.Grants;
using Authly.OAuth;
using Authly.OAuth.Dpop;
using Authly.Tokens;
using Authly.Server.Http;

namespace Authly.Server.Endpoints;

public static class TokenEndpoint
{
    public static void MapTokenEndpoint(this RouteGroupBuilder oauth)
    {
        oauth.MapPost("/token", HandleAsync).RateLimited("token").RequireCors(AuthlyWebApp.PublicCors)
            .WithSummary("OAuth 2.1 token endpoint (RFC 6749 §3.2)").DocumentsFormBody();
        // Compatibility: JSON refresh for the first-party CLI (no client).
        oauth.MapPost("/refresh", RefreshAsync).RateLimited("token")
            .WithSummary("Refresh for the first-party CLI (JSON); same rules as the refresh_token grant");
    }

    private static async Task<IResult> HandleAsync(HttpRequest request, GrantEngine engine, ClientAddress address, Issuer issuer, DpopNonces nonces,
        CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(request, ct);
        var response = await engine.HandleAsync(new TokenRequest(form, BasicCredentials.Parse(request), address.Of(request.HttpContext)?.ToString())
        {
            DpopProofs = BasicCredentials.DpopProofs(request), RequestUrl = issuer.Value + request.Path,
        }, ct);
        // RFC 9449 §8: with nonces on, every answer hands out the current one.
        if (nonces.Required) request.HttpContext.Response.Headers[DpopProofValidator.NonceHeaderName] = nonces.Current();
        return Results.Json(response);
    }

    private static async Task<IResult> RefreshAsync(HttpRequest request, GrantEngine engine, ClientAddress address, Issuer issuer, CancellationToken ct)
    {
        var fields = await JsonFields.ReadAsync(request, ct);
        if (!fields.TryGetValue(Parameters.GrantType, out var grant) || grant != GrantTypes.RefreshToken)
            throw OAuthException.InvalidRequest("grant_type must be refresh_token");
        fields.Remove(Parameters.ClientId);
        fields.Remove(Parameters.ClientSecret);
        var response = await engine.HandleAsync(new TokenRequest(fields, null, address.Of(request.HttpContext)?.ToString())
        {
            DpopProofs = BasicCredentials.DpopProofs(request), RequestUrl = issuer.Value + request.Path,
        }, ct);
        return Results.Json(response);
    }
}

/// <summary>A flat JSON object of string fields, for the JSON variants of OAuth endpoints.</summary>
public static class JsonFields
{
    public static async Task<Dictionary<string, string>> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (!FormParameters.HasMediaType(request, "application/json"))
            throw OAuthException.InvalidRequest("The request must be application/json");
        try
        {
            using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw OAuthException.InvalidRequest("The body must be a JSON object");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null) continue;
                if (p.Value.ValueKind != JsonValueKind.String) throw OAuthException.InvalidRequest($"The {p.Name} field must be a string");
                if (!result.TryAdd(p.Name, p.Value.GetString()!)) throw OAuthException.InvalidRequest($"The {p.Name} field is repeated");
            }
            return result;
        }
        catch (JsonException) { throw OAuthException.InvalidRequest("The body is not valid JSON"); }
        // GetString() refuses an escaped lone surrogate ("\ud800"): valid JSON syntax, but no string a field can hold.
        catch (InvalidOperationException) { throw OAuthException.InvalidRequest("The body has a string that is not valid Unicode"); }
    }
}
