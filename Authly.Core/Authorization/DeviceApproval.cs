using Authly.Clients;
using Authly.Scopes;
using Authly.Users;

namespace Authly.Authorization;

/// <summary>
/// The /device pages' decisions (RFC 8628 §3.3): a signed-in user enters a user code, sees what the
/// device asks for, and approves or denies it. The pages parse, call and render the <see cref="Step"/>.
/// Every lookup and every decision spends an attempt of <see cref="UserCodeAttempts"/>; over budget,
/// the <see cref="ThrottledException"/> (or the attempt guard's 429) goes to the page error mapper.
/// </summary>
public sealed class DeviceApproval(DeviceAuthorization devices, ClientStore clients, ScopeStore scopeStore)
{
    /// <summary>The user signed in in this browser, the session, and the address the request came from (for the attempt budget).</summary>
    public sealed record SignedIn(User User, DateTime AuthTime, string Sid, string? ClientIp, IReadOnlyList<string> Amr)
    {
        public DeviceAuthorization.Verifier Verifier => new(User.Id, Sid, ClientIp);
    }

    public abstract record Step;

    /// <summary>Nobody is signed in: the login page, resuming the verification page (with <paramref name="UserCode"/> when the link carried one).</summary>
    public sealed record SignIn(string? UserCode) : Step;

    /// <summary>The code entry form, empty.</summary>
    public sealed record EnterCode : Step;

    /// <summary>The form came back without a valid CSRF token (or unreadable): nothing was looked up or decided.</summary>
    public sealed record FormExpired : Step;

    /// <summary>The code is malformed, unknown, decided, expired, or its client is gone; all alike (§5.1).</summary>
    public sealed record UnknownCode(string UserCode) : Step;

    /// <summary>Ask the user: this client wants these scopes; the form carries <paramref name="Handle"/> back, never the user code.</summary>
    public sealed record Confirm(string UserCode, string Handle, string ClientName, string Username, IReadOnlySet<string> Scopes,
        IReadOnlyDictionary<string, Scope> Known) : Step;

    /// <summary>The handle is not valid for this session, or the request is no longer waiting: nothing changed.</summary>
    public sealed record NotWaiting : Step;

    /// <summary>The user's decision was recorded; the device learns it on its next poll.</summary>
    public sealed record Decided(bool Approved) : Step;

    /// <summary>GET /device: the page a link (verification_uri_complete) or the bare URI opens.</summary>
    public async Task<Step> ShowAsync(SignedIn? who, string? userCode, CancellationToken ct)
    {
        if (who is null) return new SignIn(userCode);
        if (userCode is null) return new EnterCode();
        return await LookUpAsync(who, userCode, ct);
    }

    /// <summary>POST /device: the code the user typed.</summary>
    public async Task<Step> EnterAsync(Func<CancellationToken, Task<SignedIn?>> session, bool formIsGenuine, string? userCode, CancellationToken ct)
    {
        if (!formIsGenuine) return new FormExpired();
        var who = await session(ct);
        if (who is null) return new SignIn(null);
        return await LookUpAsync(who, userCode ?? "", ct);
    }

    /// <summary>POST /device/confirm: approve or deny the request the handle names (only the handle; a raw user_code is ignored).</summary>
    public async Task<Step> DecideAsync(Func<CancellationToken, Task<SignedIn?>> session, bool formIsGenuine, string? handle, bool approve, CancellationToken ct)
    {
        if (!formIsGenuine) return new FormExpired();
        var who = await session(ct);
        if (who is null) return new SignIn(null);
        return await devices.DecideAsync(handle, approve, who.Verifier, who.AuthTime, who.Amr, ct) ? new Decided(approve) : new NotWaiting();
    }

    private async Task<Step> LookUpAsync(SignedIn who, string userCode, CancellationToken ct)
    {
        var shown = await devices.ShowAsync(userCode, who.Verifier, ct);
        var client = shown is null ? null : await clients.FindActiveAsync(shown.Row.ClientId, ct);
        if (shown is null || client is null) return new UnknownCode(userCode);
        return new Confirm(shown.UserCode, shown.Handle, client.ClientName, who.User.Username, ScopeSet.Parse(shown.Row.Scope), await scopeStore.ActiveAsync(ct));
    }
}
