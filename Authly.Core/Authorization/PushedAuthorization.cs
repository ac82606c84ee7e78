using System.Text.Json.Serialization;
using Authly.Clients;
using Authly.OAuth;

namespace Authly.Authorization;

/// <summary>
/// RFC 9126: the pushed authorization request endpoint's decision, and the authorization endpoint's
/// resolution of a request_uri. A pushed request is validated by the same <see cref="AuthorizeValidator"/>
/// as one sent through the browser, after the client authenticated (<see cref="ClientAuthenticator"/>).
/// </summary>
public sealed class PushedAuthorization(ClientAuthenticator authenticator, AuthorizeValidator validator, PushedAuthorizationStore store)
{
    public const string RequestUriParameter = "request_uri";

    /// <summary>RFC 9126 §2.2: the 201 response.</summary>
    public sealed record Pushed(
        [property: JsonPropertyName("request_uri")] string RequestUri,
        [property: JsonPropertyName("expires_in")] int ExpiresIn);

    /// <summary>Parameters that authenticate the client: they go no further than the authenticator.</summary>
    private static readonly HashSet<string> ClientAuthentication =
        [Parameters.ClientSecret, ClientAuthenticator.ClientAssertionParameter, ClientAuthenticator.ClientAssertionTypeParameter];

    /// <exception cref="OAuthException">the client did not authenticate, or the request is not one /authorize would take</exception>
    public async Task<Pushed> PushAsync(IReadOnlyDictionary<string, string> form, ClientCredentials? basic, CancellationToken ct)
    {
        var client = await authenticator.AuthenticateAsync(form, basic, ct)
                     ?? throw OAuthException.InvalidClient("a pushed authorization request names no client");
        // RFC 9126 §2.1: the request_uri parameter MUST NOT be provided.
        if (form.ContainsKey(RequestUriParameter)) throw OAuthException.InvalidRequest("request_uri must not be pushed");
        var parameters = form.Where(kv => !ClientAuthentication.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        parameters[Parameters.ClientId] = client.ClientId;
        // RFC 9126 §2.3: the same errors as the authorization endpoint, answered here instead of redirected.
        var (trusted, refusal) = await validator.TrustAsync(parameters, ct);
        if (trusted is null) throw OAuthException.InvalidRequest(refusal!);
        await validator.ValidateAsync(trusted with { Pushed = true }, parameters, ct);
        return new Pushed(await store.PushAsync(client.ClientId, parameters, ct), (int)PushedAuthorizationStore.Lifetime.TotalSeconds);
    }

    /// <summary>
    /// RFC 9126 §4: an authorization request with a request_uri stands for the pushed parameters; the others
    /// it carries are ignored. Without request_uri: the parameters as given. Refusal: a message for the user
    /// (never redirected: nothing in the request can be trusted).
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, string>? Parameters, string? RequestUri, string? Refusal)> ResolveAsync(
        IReadOnlyDictionary<string, string> p, CancellationToken ct)
    {
        if (!p.TryGetValue(RequestUriParameter, out var requestUri)) return (p, null, null);
        if (!p.TryGetValue(Parameters.ClientId, out var clientId) || clientId.Length == 0) return (null, null, "The request has no client_id.");
        var pushed = await store.StartAsync(requestUri, clientId, ct);
        return pushed is null
            ? (null, null, "The request_uri is unknown, expired or already used, or it belongs to another client.")
            : (pushed, requestUri, null);
    }

    /// <summary>The code is about to be issued: the request_uri's one use. False when another use came first.</summary>
    public Task<bool> ConsumeAsync(string requestUri, string clientId, CancellationToken ct) => store.ConsumeAsync(requestUri, clientId, ct);
}
