namespace Authly.Server.Pages;

/// <summary>The stylesheet and the two small external scripts the pages use (CSP allows 'self' scripts, never inline ones).</summary>
public static class StaticAssets
{
    public static void MapStaticAssets(this IEndpointRouteBuilder app)
    {
        app.MapGet("/static/authly.css", () => Asset(Css, "text/css; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/static/form-post.js", () => Asset(FormPost, "text/javascript; charset=utf-8")).ExcludeFromDescription();
        app.MapGet(PasskeyPages.Script, () => Asset(Passkeys, "text/javascript; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/static/session-iframe.js", () => Asset(SessionIframe, "text/javascript; charset=utf-8")).ExcludeFromDescription();
    }

    private static IResult Asset(string content, string type) => Results.Text(content, type);

    private const string Css = """
        *{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330}
        .card{max-width:26rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem 1.5rem 1.25rem;box-shadow:0 2px 12px #0001}
        @media (max-width:30rem){.card{margin:0;border-radius:0;min-height:100vh}}
        .brand{font-weight:700;color:#3a4cc0;margin:0 0 .5rem}h1{font-size:1.35rem;margin:.25rem 0 1rem}
        label{display:block;font-weight:600;margin:.75rem 0 .25rem}input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;font-size:1rem;border:1px solid #c5cad5;border-radius:8px}
        button{font-size:1rem;padding:.65rem 1.1rem;border-radius:8px;border:1px solid #3a4cc0;background:#3a4cc0;color:#fff;cursor:pointer;margin:.9rem .5rem 0 0}
        button.secondary{background:#fff;color:#3a4cc0}.error{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:8px}
        ul.scopes{padding-left:1.1rem}ul.scopes li{margin:.3rem 0}.muted{color:#5b6272;font-size:.9rem}code.usercode{font-size:1.4rem;letter-spacing:.15em}
        """;

    // response_mode=form_post: submit the prepared form; without JavaScript the visible button does it.
    private const string FormPost = "document.addEventListener('DOMContentLoaded',function(){var f=document.getElementById('form-post');if(f)f.submit();});";

    // Passkeys (issue 16): the WebAuthn ceremonies of the login page and /account/passkeys. The server's options
    // carry base64url strings where the browser API wants bytes, and the answer goes back as base64url JSON
    // (WebAuthn §5.1.8's JSON form); nulls are dropped, since an enum member given null is a TypeError.
    private const string Passkeys = """
        (function () {
          'use strict';
          function b64u(buf) { var s = '', b = new Uint8Array(buf); for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
            return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
          function bytes(s) { s = s.replace(/-/g, '+').replace(/_/g, '/'); while (s.length % 4) s += '=';
            var r = atob(s), b = new Uint8Array(r.length); for (var i = 0; i < r.length; i++) b[i] = r.charCodeAt(i); return b.buffer; }
          function clean(o) { if (Array.isArray(o)) return o.map(clean); if (o && typeof o === 'object') { var r = {};
            Object.keys(o).forEach(function (k) { if (o[k] !== null && o[k] !== undefined) r[k] = clean(o[k]); }); return r; } return o; }
          function csrf() { var e = document.querySelector('input[name=csrf_token]'); return e ? e.value : ''; }
          function show(m) { var e = document.getElementById('passkey-status'); if (e) { e.textContent = m; e.hidden = false; } }
          function post(url, body) {
            return fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
              .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) {
                if (!r.ok) throw new Error(j.detail || 'The request failed (' + r.status + ').'); return j; }); });
          }
          function creation(o) { o = clean(o); o.challenge = bytes(o.challenge); o.user.id = bytes(o.user.id);
            (o.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); }); return o; }
          function request(o) { o = clean(o); o.challenge = bytes(o.challenge);
            (o.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); }); return o; }
          function attestation(c) { return { id: c.id, rawId: b64u(c.rawId), type: c.type, clientExtensionResults: c.getClientExtensionResults(),
            response: { attestationObject: b64u(c.response.attestationObject), clientDataJSON: b64u(c.response.clientDataJSON),
              transports: c.response.getTransports ? c.response.getTransports() : [] } }; }
          function assertion(c) { return { id: c.id, rawId: b64u(c.rawId), type: c.type, clientExtensionResults: c.getClientExtensionResults(),
            response: { authenticatorData: b64u(c.response.authenticatorData), clientDataJSON: b64u(c.response.clientDataJSON),
              signature: b64u(c.response.signature), userHandle: c.response.userHandle ? b64u(c.response.userHandle) : null } }; }
          document.addEventListener('DOMContentLoaded', function () {
            var login = document.getElementById('passkey-login-btn');
            if (login) login.addEventListener('click', function () {
              post('/login/passkey/options', { csrf_token: csrf() })
                .then(function (o) { return navigator.credentials.get({ publicKey: request(o) }); })
                .then(function (c) { return post('/login/passkey', { csrf_token: csrf(), return_to: login.getAttribute('data-return-to'), credential: assertion(c) }); })
                .then(function (r) { window.location.assign(r.redirect_to); })
                .catch(function (e) { show(e && e.message ? e.message : 'Passkey sign-in failed.'); });
            });
            var second = document.getElementById('passkey-2fa-btn');
            if (second) second.addEventListener('click', function () {
              post('/login/second-factor/passkey/options', { csrf_token: csrf() })
                .then(function (o) { return navigator.credentials.get({ publicKey: request(o) }); })
                .then(function (c) { return post('/login/second-factor/passkey', { csrf_token: csrf(), return_to: second.getAttribute('data-return-to'), credential: assertion(c) }); })
                .then(function (r) { window.location.assign(r.redirect_to); })
                .catch(function (e) { show(e && e.message ? e.message : 'The passkey could not be verified.'); });
            });
            var add = document.getElementById('add-passkey-btn');
            if (add) add.addEventListener('click', function () {
              post('/account/passkeys/options', { csrf_token: csrf() })
                .then(function (o) { return navigator.credentials.create({ publicKey: creation(o) }); })
                .then(function (c) { return post('/account/passkeys', { csrf_token: csrf(), name: document.getElementById('passkey-name').value, credential: attestation(c) }); })
                .then(function () { window.location.reload(); })
                .catch(function (e) { show(e && e.message ? e.message : 'The passkey could not be added.'); });
            });
          });
        })();
        """;

    // OIDC Session Management: the RP posts "client_id session_state"; answer "changed" when the
    // OP's session differs from the one the RP last saw, "unchanged" otherwise.
    private const string SessionIframe = """
        window.addEventListener('message', function (e) {
          var parts = String(e.data || '').split(' ');
          fetch('/oidc/session/check', { credentials: 'include', cache: 'no-store' })
            .then(function (r) { return r.json(); })
            .then(function (s) { e.source.postMessage((s.active && s.session_state === parts[1]) ? 'unchanged' : 'changed', e.origin); })
            .catch(function () { e.source.postMessage('error', e.origin); });
        });
        """;
}
