using Authly.Passkeys;
using static Authly.Server.Pages.Html;

namespace Authly.Server.Pages;

/// <summary>The account page's passkey list (issue 16); the ceremonies run in <c>/static/passkeys.js</c>.</summary>
public static class PasskeyPages
{
    public const string Script = "/static/passkeys.js";

    /// <summary>The login page's passwordless button: <c>/static/passkeys.js</c> runs the sign-in and then goes to <paramref name="returnTo"/>.</summary>
    public static string SignInButton(string returnTo) => $"""
        <p class="muted">or</p>
        <button type="button" id="passkey-login-btn" class="secondary" data-return-to="{E(returnTo)}">Sign in with a passkey</button>
        <p class="error" role="alert" id="passkey-status" hidden></p>
        """;

    public static IResult Account(string csrf, string username, IReadOnlyList<Passkey> passkeys) => Page("Passkeys", $"""
        <h1>Passkeys</h1>
        <p class="muted">Signed in as {E(username)}. A passkey signs you in with your device's screen lock or security key instead of a password.</p>
        {(passkeys.Count == 0 ? "<p id=\"no-passkeys\">You have no passkeys yet.</p>" : "<ul class=\"passkeys\" id=\"passkey-list\">" + string.Concat(passkeys.Select(p => Item(csrf, p))) + "</ul>")}
        <h2>Add a passkey</h2>
        {Hidden("csrf_token", csrf)}
        <label for="passkey-name">Name (optional)</label>
        <input type="text" id="passkey-name" maxlength="{PasskeyRegistration.MaxNameLength}" placeholder="e.g. Laptop">
        <button type="button" id="add-passkey-btn">Add a passkey</button>
        <p class="error" role="alert" id="passkey-status" hidden></p>
        """, script: Script);

    private static string Item(string csrf, Passkey p) => $"""
        <li data-passkey-id="{p.Id}"><strong class="passkey-name">{E(p.Name)}</strong>
          <span class="muted">added {p.CreatedAt:yyyy-MM-dd}{(p.LastUsedAt is { } used ? $", last used {used:yyyy-MM-dd}" : ", never used")}{(p.BackupEligible ? ", synced" : "")}</span>
          <form method="post" action="/account/passkeys/{p.Id}/rename">{Hidden("csrf_token", csrf)}
            <input type="text" name="name" aria-label="New name" maxlength="{PasskeyRegistration.MaxNameLength}" required value="{E(p.Name)}">
            <button type="submit" class="secondary">Rename</button></form>
          <form method="post" action="/account/passkeys/{p.Id}/delete">{Hidden("csrf_token", csrf)}
            <button type="submit" class="secondary">Delete</button></form>
        </li>
        """;
}
