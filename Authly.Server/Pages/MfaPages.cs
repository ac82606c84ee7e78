using Authly.Mfa;
using QRCoder;
using static Authly.Server.Pages.Html;

namespace Authly.Server.Pages;

/// <summary>The second-factor step, TOTP enrolment, recovery codes and the account's second-factor page.</summary>
public static class MfaPages
{
    /// <summary>
    /// The step after the password: one form per factor the user has. A passkey is a button that <c>/static/passkeys.js</c>
    /// runs against <c>/login/second-factor/passkey</c> (the page's CSP must allow it: <see cref="OffersPasskey"/>).
    /// </summary>
    public static IResult Step(string csrf, string returnTo, IReadOnlyList<string> factors, string? error, int status = 200)
    {
        var passkey = OffersPasskey(factors) ? $"""
            <div id="passkey-2fa">
              {Hidden("csrf_token", csrf)}
              <button type="button" id="passkey-2fa-btn" data-return-to="{E(returnTo)}">Use a passkey</button>
              <p id="passkey-status" class="error" role="alert" hidden></p>
            </div>
            """ : "";
        var totp = factors.Contains(SecondFactors.Totp) ? $"""
            <form method="post" action="/login/second-factor">
              {Hidden("csrf_token", csrf)}{Hidden("return_to", returnTo)}{Hidden("factor", SecondFactors.Totp)}
              <label for="code">Code from your authenticator app</label>
              <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="7" required autofocus>
              <button type="submit" id="verify-btn">Verify</button>
            </form>
            """ : "";
        var recovery = factors.Contains(SecondFactors.RecoveryCode) ? $"""
            <details><summary>Use a recovery code</summary>
            <form method="post" action="/login/second-factor">
              {Hidden("csrf_token", csrf)}{Hidden("return_to", returnTo)}{Hidden("factor", SecondFactors.RecoveryCode)}
              <label for="recovery_code">Recovery code</label>
              <input type="text" id="recovery_code" name="code" autocomplete="off" autocapitalize="characters" maxlength="24" required>
              <button type="submit" id="recovery-btn" class="secondary">Use recovery code</button>
            </form></details>
            """ : "";
        return Page("Second step", $"""
            <h1>Second step</h1>
            {Message(error)}
            {passkey}{totp}{recovery}
            """, status, script: OffersPasskey(factors) ? PasskeyPages.Script : null);
    }

    public static bool OffersPasskey(IReadOnlyList<string> factors) => factors.Contains(SecondFactors.Passkey);

    /// <summary>Set up an authenticator app: the secret as a QR code (PNG, inline) and as text, confirmed by one code.</summary>
    public static IResult Enrol(string csrf, string action, string returnTo, string keyUri, string secretText, string? error, int status = 200)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(keyUri, QRCodeGenerator.ECCLevel.M);
        var png = Convert.ToBase64String(new PngByteQRCode(data).GetGraphic(5));
        return Page("Set up your authenticator app", $"""
            <h1>Set up your authenticator app</h1>
            <p class="muted">Scan the code with an authenticator app (or type the key), then enter the code it shows.</p>
            {Message(error)}
            <p><img id="totp-qr" alt="QR code of the key" width="200" height="200" src="data:image/png;base64,{png}"></p>
            <p>Key: <code id="totp-secret">{E(secretText)}</code></p>
            <form method="post" action="{E(action)}">
              {Hidden("csrf_token", csrf)}{Hidden("return_to", returnTo)}
              <label for="code">Code from the app</label>
              <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="7" required>
              <button type="submit" id="enrol-btn">Turn on</button>
            </form>
            """, status);
    }

    /// <summary>The recovery codes, shown this once.</summary>
    public static IResult RecoveryCodes(IReadOnlyList<string> codes, string continueTo) => Page("Your recovery codes", $"""
        <h1>Save your recovery codes</h1>
        <p>Each code signs you in once if you lose your authenticator app. They are shown only now: store them somewhere safe.</p>
        <ul id="recovery-codes" class="scopes">{string.Concat(codes.Select(c => $"<li><code>{E(c)}</code></li>"))}</ul>
        <p><a href="{E(continueTo)}" id="continue-link">Continue</a></p>
        """);

    /// <summary>/account/mfa: what the user has, and what they can do.</summary>
    public static IResult Account(string csrf, string username, SecondFactors.Summary summary, string? message) => Page("Second factors", $"""
        <h1>Second factors</h1>
        <p class="muted">Signed in as {E(username)}.</p>
        {Message(message)}
        {(summary.Totp
            ? $"""
              <p id="totp-status">Authenticator app: on (since {summary.TotpConfirmedAt:yyyy-MM-dd}). Recovery codes left: {summary.RecoveryCodesRemaining}.</p>
              <form method="post" action="/account/mfa/recovery-codes">
                {Hidden("csrf_token", csrf)}
                <button type="submit" id="regenerate-btn" class="secondary">New recovery codes (the old ones stop working)</button>
              </form>
              """
            : """<p id="totp-status">Authenticator app: off.</p><p><a href="/account/mfa/totp" id="enrol-link">Set up an authenticator app</a></p>""")}
        """);
}
