using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// RFC 6749 §4.1.2 / RFC 9700 §4.5: a replayed authorization code revokes what its first use issued —
/// also when the replay lands while that first use is still issuing (it records what it issued only
/// afterwards, so before issue 12 the replay found nothing to revoke and the tokens stayed live).
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class CodeReplayRaceAttacks : RelyingPartyFixture
{
    [Test, Description("RFC 6749 §4.1.2: a replay marked between the first redemption's consumption and its record revokes what that redemption issues")]
    public async Task Replay_DuringTheFirstRedemption_LeavesNothingItIssuedActive()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect);
        var code = await browser.CodeAsync(request, user);
        // The replay's mark, as it lands while the first redemption is issuing (consumption and mark touch the row in either order).
        Assert.That(await browser.ExecuteSqlAsync("UPDATE authorization_codes SET replayed_at = now() WHERE user_id = @Id", new { user.Id }), Is.EqualTo(1));

        var first = await browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier);
        var body = await AuthlyApp.JsonAsync(first);
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo("invalid_grant"));
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM refresh_token_families WHERE revoked_at IS NULL AND user_id = @Id", new { user.Id }), Is.Zero,
            "the family the redemption created is revoked");
        Assert.That(await browser.ScalarAsync<long>(
            "SELECT count(*) FROM authorization_codes c WHERE c.user_id = @Id AND (c.access_jti IS NULL OR NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = c.access_jti))",
            new { user.Id }),
            Is.Zero, "the access token it minted is on the revocation list");
    }

    [Test, Description("RFC 6749 §4.1.2, RFC 9700 §4.5: the same code redeemed twice at once, 20 times: no token from it stays active")]
    public async Task SameCode_RedeemedTwiceInParallel_LeavesNoTokenActive()
    {
        var user = await _app.RegisterUserAsync();
        for (var trial = 0; trial < 20; trial++)
        {
            using var browser = new BrowserFlow(_app);
            var request = new BrowserFlow.Request(_clientId, Redirect);
            var code = await browser.CodeAsync(request, user);
            var answers = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ =>
                browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier)));
            Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.OK), Is.LessThanOrEqualTo(1), $"trial {trial}: a code is used once");
            Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.BadRequest), Is.GreaterThanOrEqualTo(1), $"trial {trial}: the second use is refused");
            foreach (var ok in answers.Where(a => a.StatusCode == HttpStatusCode.OK))
            {
                var tokens = await AuthlyApp.JsonAsync(ok);
                Assert.That(await browser.IsActiveAsync(AuthlyApp.Str(tokens, "access_token")), Is.False,
                    $"trial {trial}: the replay revoked the access token of the first use");
            }
        }
    }
}
