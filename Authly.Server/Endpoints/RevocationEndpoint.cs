using Authly.Clients;
using Authly.OAuth;
using Authly.Server.Http;
using Authly.Tokens;

namespace Authly.Server.Endpoints;

public static class RevocationEndpoint
{
    public static void MapRevocationEndpoint(this RouteGroupBuilder oauth) =>
        oauth.MapPost("/revoke", HandleAsync).RateLimited("revoke").RequireCors(AuthlyWebApp.PublicCors)
            .WithSummary("Token revocation (RFC 7009); form or JSON body");

    private static async Task<IResult> HandleAsync(HttpRequest request, ClientAuthenticator authenticator, TokenRevocation revocation, CancellationToken ct)
    {
        // RFC 7009 §2.1 uses a form; Authly's older clients send JSON, so both are accepted.
        var fields = FormParameters.IsForm(request) ? await FormParameters.ReadAsync(request, ct) : await JsonFields.ReadAsync(request, ct);
        var client = await authenticator.AuthenticateAsync(fields, BasicCredentials.Parse(request), ct);
        if (!fields.TryGetValue(Parameters.Token, out var token) || token.Length == 0)
            throw OAuthException.InvalidRequest("The token parameter is required");
        fields.TryGetValue(Parameters.TokenTypeHint, out var hint);
        await revocation.RevokeAsync(token, hint, client, ct);
        // RFC 7009 §2.2: 200 whether or not the token was known.
        return Results.Ok();
    }
}
