using Authly.Clients;
using Authly.Configuration;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Telemetry;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Authorization;

/// <summary>
/// The authorization endpoint's decision (RFC 6749 §4.1, OIDC Core §3.1.2): from the request's
/// parameters, the browser's session and the consent form's answer, what to do next. The endpoint
/// parses, calls <see cref="DecideAsync"/> and renders the <see cref="Decision"/>; no rule is made there.
/// </summary>
public sealed class AuthorizeFlow(AuthorizeValidator validator, ConsentStore consents, AuthorizationCodeStore codes,
    ScopeStore scopeStore, Issuer issuer, TimeProvider clock, PushedAuthorization pushed, AuthlyOptions options)
{
    /// <summary>The user signed in in this browser, and when (OIDC Core auth_time), in which session (sid) and how (RFC 8176 amr).</summary>
    public sealed record SignedIn(User User, DateTime AuthTime, string Sid, IReadOnlyList<string> Amr)
    {
        public string Acr => Mfa.AuthenticationMethods.AcrOf(Amr.ToList());
    }

    /// <summary>The consent form's answer: approved or not, and whether the form was genuine (its CSRF token matched).</summary>
    public sealed record ConsentAnswer(bool Approved, bool FormIsGenuine);

    /// <summary>What the endpoint does next. Every decision after the client and redirect URI are trusted names them.</summary>
    public abstract record Decision(AuthorizeValidator.Trusted? Trusted);

    /// <summary>RFC 6749 §4.1.2.1: client_id or redirect_uri cannot be trusted; shown to the user, never redirected.</summary>
    public sealed record Refused(string Message) : Decision((AuthorizeValidator.Trusted?)null);

    /// <summary>Show the login page; the request resumes afterwards (<see cref="AuthorizeRequest.ResumeAfterLogin"/>).</summary>
    public sealed record ShowLogin(AuthorizeValidator.Trusted To, string ClientName, string? LoginHint) : Decision(To);

    /// <summary>The user must choose a new password (an admin set it) before anything is issued.</summary>
    public sealed record ChangePassword(AuthorizeValidator.Trusted To) : Decision(To);

    /// <summary>
    /// OIDC Core §3.1.2.1 acr_values: the session's acr is weaker than the request asks for. The user is asked for the
    /// second factor (Mfa/SecondFactorStep.StepUpAsync), or to set one up, and the request resumes afterwards.
    /// </summary>
    public sealed record StepUp(AuthorizeValidator.Trusted To, User User, IReadOnlyList<string> Amr) : Decision(To);

    /// <summary>Ask the user to consent to <paramref name="Scopes"/> (already narrowed to what the user may hold).</summary>
    public sealed record ShowConsent(AuthorizeValidator.Trusted To, string ClientName, string Username, IReadOnlySet<string> Scopes,
        IReadOnlyDictionary<string, Scope> Known) : Decision(To);

    /// <summary>The consent form came back without a valid CSRF token: nothing is decided, the user starts again.</summary>
    public sealed record FormExpired(AuthorizeValidator.Trusted To) : Decision(To);

    /// <summary>Send <see cref="Fields"/> to the client's redirect URI: a code, or an error (RFC 6749 §4.1.2 / §4.1.2.1), with state and iss (RFC 9207).</summary>
    public abstract record Redirect(AuthorizeValidator.Trusted To, IReadOnlyList<KeyValuePair<string, string>> Fields) : Decision(To);

    /// <summary>A code was issued for <paramref name="Scopes"/>.</summary>
    public sealed record CodeIssued(AuthorizeValidator.Trusted To, string Code, IReadOnlySet<string> Scopes, IReadOnlyList<KeyValuePair<string, string>> Fields)
        : Redirect(To, Fields);

    /// <summary>An error the client gets at its redirect URI.</summary>
    public sealed record ErrorRedirect(AuthorizeValidator.Trusted To, string Error, string Description, IReadOnlyList<KeyValuePair<string, string>> Fields)
        : Redirect(To, Fields);

    /// <param name="parameters">The query (GET) or form (POST) parameters.</param>
    /// <param name="session">Reads the browser's session; called only once the request is valid.</param>
    /// <param name="answer">The consent form's answer (a POST with <c>approved</c>), or null.</param>
    public async Task<Decision> DecideAsync(IReadOnlyDictionary<string, string> parameters, Func<CancellationToken, Task<SignedIn?>> session,
        ConsentAnswer? answer, CancellationToken ct)
    {
        using var span = AuthlyTracing.Source.StartActivity("authorize");
        var decision = await DecideUntracedAsync(parameters, session, answer, ct);
        // The kind of answer only (Redirect, ShowLogin, Refused...): never the redirect's fields, which carry the code.
        span?.SetTag("authly.authorize.decision", decision.GetType().Name);
        return decision;
    }

    private async Task<Decision> DecideUntracedAsync(IReadOnlyDictionary<string, string> parameters, Func<CancellationToken, Task<SignedIn?>> session,
        ConsentAnswer? answer, CancellationToken ct)
    {
        // RFC 9126 §4: a request_uri stands for the parameters its client pushed.
        var (resolved, requestUri, unresolved) = await pushed.ResolveAsync(parameters, ct);
        if (resolved is null) return new Refused(unresolved!);
        parameters = resolved;
        var (trusted, refusal) = await validator.TrustAsync(parameters, ct);
        if (trusted is null) return new Refused(refusal!);
        if (requestUri is not null) trusted = trusted with { Pushed = true, RequestUri = requestUri };
        try { return await DecideTrustedAsync(trusted, parameters, session, answer, ct); }
        catch (OAuthException e) { return Error(trusted, e.Error, e.Description); }
    }

    private async Task<Decision> DecideTrustedAsync(AuthorizeValidator.Trusted trusted, IReadOnlyDictionary<string, string> parameters,
        Func<CancellationToken, Task<SignedIn?>> session, ConsentAnswer? answer, CancellationToken ct)
    {
        var request = await validator.ValidateAsync(trusted, parameters, ct);
        var current = await session(ct);
        // OIDC Core §3.1.2.6: with prompt=none, say what would be needed instead of showing a page.
        var silent = request.Prompt.Contains("none");

        // A consent answer comes from a page shown after the login, so it does not ask for a fresh one again.
        if (current is null || (answer is null && request.NeedsFreshLogin(current.AuthTime, clock.GetUtcNow())))
            return silent ? Error(trusted, OAuthErrors.LoginRequired, "The user is not signed in")
                : new ShowLogin(trusted, request.Client.ClientName, request.LoginHint);
        if (current.User.RequiresPasswordChange)
            return silent ? Error(trusted, OAuthErrors.InteractionRequired, "The user must change their password") : new ChangePassword(trusted);
        if (request.NeedsStrongerAcr(current.Acr))
            return silent ? Error(trusted, OAuthErrors.InteractionRequired, "The request asks for a second factor") : new StepUp(trusted, current.User, current.Amr);

        var scopes = request.Scopes.Where(s => UserScopePolicy.MayHold(current.User, s)).ToHashSet(StringComparer.Ordinal);
        if (answer is not null)
        {
            if (!answer.FormIsGenuine) return new FormExpired(trusted);
            if (!answer.Approved) return Error(trusted, OAuthErrors.AccessDenied, "The user denied the request");
            await consents.GrantAsync(current.User.Id, request.Client.ClientId, scopes, ct);
        }
        else if (request.NeedsConsent(await consents.CoversAsync(current.User.Id, request.Client.ClientId, scopes, ct)))
        {
            return silent ? Error(trusted, OAuthErrors.ConsentRequired, "The user has not consented")
                : new ShowConsent(trusted, request.Client.ClientName, current.User.Username, scopes, await scopeStore.ActiveAsync(ct));
        }

        // RFC 9126 §4: a pushed request issues one code.
        if (trusted.RequestUri is { } requestUri && !await pushed.ConsumeAsync(requestUri, request.Client.ClientId, ct))
            throw OAuthException.InvalidRequest("The request_uri was already used");
        var lifetime = Fapi2Profile.AppliesTo(options, request.Client) ? Fapi2Profile.CodeLifetime : AuthorizationCodeStore.Lifetime;
        var code = await codes.CreateAsync(request with { Scopes = scopes }, current.User.Id, current.AuthTime, current.Sid, current.Amr, lifetime, ct);
        return new CodeIssued(trusted, code, scopes, Fields(trusted, new KeyValuePair<string, string>("code", code)));
    }

    private ErrorRedirect Error(AuthorizeValidator.Trusted trusted, string error, string description) =>
        new(trusted, error, description, Fields(trusted, new KeyValuePair<string, string>("error", error), new KeyValuePair<string, string>("error_description", description)));

    private List<KeyValuePair<string, string>> Fields(AuthorizeValidator.Trusted trusted, params KeyValuePair<string, string>[] result)
    {
        var fields = result.ToList();
        if (trusted.State is not null) fields.Add(new("state", trusted.State));
        fields.Add(new("iss", issuer.Value)); // RFC 9207
        return fields;
    }
}
