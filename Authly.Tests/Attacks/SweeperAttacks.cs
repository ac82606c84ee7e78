using System.Net;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 14: the expired-row sweeper must never delete a row a security decision still needs. An attacker
/// holding a revoked access token, or a stolen code replayed after its lifetime, gains nothing from a sweep.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class SweeperAttacks : RelyingPartyFixture
{
    private Task SweepAsync() => _app.Services.GetRequiredService<ExpiredRowSweeper>().SweepOnceAsync(CancellationToken.None);

    [Test, Description("RFC 7009 §2.2 / issue 14: a sweep keeps an unexpired revocation: the revoked token stays refused, also on a node started after the sweep")]
    public async Task RevokedAccessToken_AfterASweep_IsStillRefusedOnEveryNode()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect), user);
        var access = AuthlyApp.Str(tokens, "access_token");
        var revoke = await _app.PostFormAsync("/api/v1/oauth/revoke", ("token", access), ("client_id", _clientId));
        Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        // An expired revocation beside it, so the round has something to delete.
        await browser.ExecuteSqlAsync("INSERT INTO revoked_tokens (jti, expires_at) VALUES ('long-expired', now() - interval '1 hour')");

        await SweepAsync();

        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM revoked_tokens WHERE jti = 'long-expired'"), Is.Zero, "the sweep ran");
        Assert.That(await browser.IsActiveAsync(access), Is.False);
        using var peer = _app.StartPeer();
        using var peerBrowser = new BrowserFlow(peer);
        Assert.That(await peerBrowser.IsActiveAsync(access), Is.False, "a new node loads the revocation from the database");
    }

    [Test, Description("RFC 6749 §4.1.2 / issue 14: a used code replayed after its lifetime and a sweep still revokes what it issued: its row is kept while that lives")]
    public async Task UsedCode_ReplayedAfterItsLifetimeAndASweep_StillRevokesWhatItIssued()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var code = await browser.CodeAsync(request, user);
        var tokens = await browser.ExchangeAsync(request, code);
        var access = AuthlyApp.Str(tokens, "access_token");
        var refresh = AuthlyApp.Str(tokens, "refresh_token");
        // The code's lifetime ended long ago (moved on the database clock, the one the sweeper reads).
        Assert.That(await browser.ExecuteSqlAsync("UPDATE authorization_codes SET expires_at = now() - interval '1 hour' WHERE user_id = @Id", new { user.Id }), Is.EqualTo(1));

        await SweepAsync();
        var replay = await browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier);

        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(replay), "error"), Is.EqualTo("invalid_grant"));
        Assert.That(await browser.IsActiveAsync(access), Is.False, "the replay revoked the access token the code issued");
        var refreshed = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", _clientId));
        Assert.That(refreshed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the replay revoked the refresh family");
    }
}
