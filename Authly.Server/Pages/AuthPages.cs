using Authly.Scopes;
using static Authly.Server.Pages.Html;

namespace Authly.Server.Pages;

/// <summary>The sign-in, consent, device and logout pages.</summary>
public static class AuthPages
{
    public static IResult Login(string csrf, string returnTo, string? clientName, string? username, string? error, int status = 200) => Page("Sign in", $"""
        <h1>Sign in</h1>
        {(clientName is null ? "" : $"<p class=\"muted\">to continue to <strong>{E(clientName)}</strong></p>")}
        {Message(error)}
        <form method="post" action="/login">
          {Hidden("csrf_token", csrf)}{Hidden("return_to", returnTo)}
          <label for="username">Username</label>
          <input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" required value="{E(username)}">
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required>
          <button type="submit" id="login-btn">Sign in</button>
        </form>
        {PasskeyPages.SignInButton(returnTo)}
        """, status, script: PasskeyPages.Script);

    public static IResult ChangePassword(string csrf, string returnTo, string? error, int status = 200) => Page("Choose a new password", $"""
        <h1>Choose a new password</h1>
        <p class="muted">Your password was set by an administrator and must be changed before you continue.</p>
        {Message(error)}
        <form method="post" action="/login/password">
          {Hidden("csrf_token", csrf)}{Hidden("return_to", returnTo)}
          <label for="current_password">Current password</label>
          <input type="password" id="current_password" name="current_password" autocomplete="current-password" required>
          <label for="new_password">New password (at least 8 characters)</label>
          <input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="8" required>
          <label for="confirm_password">New password again</label>
          <input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" minlength="8" required>
          <button type="submit" id="change-password-btn">Change password</button>
        </form>
        """, status);

    public static string ScopeList(IEnumerable<string> scopes, IReadOnlyDictionary<string, Scope> known) =>
        "<ul class=\"scopes\">" + string.Concat(scopes.Order(StringComparer.Ordinal).Select(s =>
            $"<li><strong>{E(s)}</strong>{(known.TryGetValue(s, out var d) && d.Description is { Length: > 0 } desc ? $" — {E(desc)}" : "")}</li>")) + "</ul>";

    public static IResult Consent(string csrf, string clientName, string username, IEnumerable<string> scopes, IReadOnlyDictionary<string, Scope> known,
        IEnumerable<KeyValuePair<string, string>> request) => Page("Allow access", $"""
        <h1>Allow <strong>{E(clientName)}</strong> to access your account?</h1>
        <p class="muted">Signed in as {E(username)}. {E(clientName)} is asking to:</p>
        {ScopeList(scopes, known)}
        <form method="post" action="/api/v1/oauth/authorize">
          {Hidden(request.Where(p => p.Key is not ("approved" or "csrf_token")))}{Hidden("csrf_token", csrf)}
          <button type="submit" name="approved" value="true" id="authorize-btn">Allow</button>
          <button type="submit" name="approved" value="false" id="deny-btn" class="secondary">Deny</button>
        </form>
        """);

    public static IResult FormPost(string redirectUri, IEnumerable<KeyValuePair<string, string>> fields) => Page("Continue", $"""
        <h1>Continue to the application</h1>
        <form method="post" action="{E(redirectUri)}" id="form-post">
          {Hidden(fields)}
          <button type="submit" id="continue-btn">Continue</button>
        </form>
        """, script: "/static/form-post.js");

    public static IResult DeviceEnter(string csrf, string? error, string? userCode = null, int status = 200) => Page("Connect a device", $"""
        <h1>Connect a device</h1>
        <p class="muted">Enter the code shown on your device.</p>
        {Message(error)}
        <form method="post" action="/device">
          {Hidden("csrf_token", csrf)}
          <label for="user_code">Code</label>
          <input type="text" id="user_code" name="user_code" autocomplete="one-time-code" autocapitalize="characters" required value="{E(userCode)}">
          <button type="submit" id="device-continue-btn">Continue</button>
        </form>
        """, status);

    /// <summary>The approval form's field for the sealed handle of the request shown (RFC 8628 §5.1: never the raw user code).</summary>
    public const string DeviceHandleField = "device_handle";

    public static IResult DeviceConfirm(string csrf, string userCode, string handle, string clientName, string username, IEnumerable<string> scopes,
        IReadOnlyDictionary<string, Scope> known) => Page("Allow access", $"""
        <h1>Allow <strong>{E(clientName)}</strong> on your device?</h1>
        <p class="muted">Signed in as {E(username)}. Code <code class="usercode">{E(userCode)}</code>. The device asks to:</p>
        {ScopeList(scopes, known)}
        <p class="muted">Only allow this if you started it on a device you trust and the code matches.</p>
        <form method="post" action="/device/confirm">
          {Hidden("csrf_token", csrf)}{Hidden(DeviceHandleField, handle)}
          <button type="submit" name="approved" value="true" id="authorize-btn">Allow</button>
          <button type="submit" name="approved" value="false" id="deny-btn" class="secondary">Deny</button>
        </form>
        """);

    public static IResult LogoutConfirm(string csrf, IEnumerable<KeyValuePair<string, string>> fields) => Page("Sign out", $"""
        <h1>Sign out?</h1>
        <form method="post" action="/oidc/logout">
          {Hidden(fields)}{Hidden("csrf_token", csrf)}
          <button type="submit" id="logout-btn">Sign out</button>
        </form>
        """);

    public static IResult SignedOut() => Page("Signed out", "<h1>You are signed out</h1><p>You can close this window.</p>");
}
