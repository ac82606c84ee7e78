namespace Authly.Server.Pages;

/// <summary>The stylesheet and the two small external scripts the pages use (CSP allows 'self' scripts, never inline ones).</summary>
public static class StaticAssets
{
    public static void MapStaticAssets(this IEndpointRouteBuilder app)
    {
        app.MapGet("/static/authly.css", () => Asset(Css, "text/css; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/static/form-post.js", () => Asset(FormPost, "text/javascript; charset=utf-8")).ExcludeFromDescription();
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
