using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 14 made a refresh rotation and a code redemption one connection use and one transaction each. The single-use
/// guarantees must hold as before under a burst of parallel presentations of one credential (OAuth 2.1 §4.3.1,
/// RFC 9700 §4.14.2 for refresh tokens; RFC 6749 §4.1.2 for codes), with the retry window off, so that every loser is
/// a replay and must be treated as one.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class RedemptionRaceAttacks : RelyingPartyFixture
{
    private const int Burst = 20;
    private AuthlyApp.TestUser _user = null!;
    private (string Id, string Secret) _client;

    protected override IReadOnlyDictionary<string, string?>? Settings =>
        new Dictionary<string, string?> { ["AUTHLY_REFRESH_RETRY_GRACE_SECONDS"] = "0" };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _user = await _app.CreateUserAsync();
        var c = await _app.CreateConfidentialClientAsync("read", ["password", "refresh_token"]);
        _client = (c.Id, c.Secret!);
    }

    private async Task<string> LoginAsync()
    {
        var login = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_client.Id, _client.Secret),
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password)));
        return AuthlyApp.Str(login, "refresh_token");
    }

    private Task<HttpResponseMessage> RefreshAsync(string refresh) =>
        _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_client.Id, _client.Secret), ("grant_type", "refresh_token"), ("refresh_token", refresh));

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private Task<bool> FamilyRevokedAsync(string refresh) => _app.SqlScalarAsync<bool>(
        "SELECT f.revoked_at IS NOT NULL FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id WHERE t.token_hash = @Hash",
        new { Hash = Hash(refresh) });

    private Task<long> FamilySizeAsync(string refresh) => _app.SqlScalarAsync<long>(
        "SELECT count(*) FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash)",
        new { Hash = Hash(refresh) });

    private async Task<bool> IsActiveAsync(string token) =>
        (await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    [Test, Description("OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: 20 parallel refreshes of one token, no retry window: exactly one rotation wins, " +
                       "every other use is reuse, so the family and what the winner got are revoked")]
    public async Task Rfc9700_4_14_2_TwentyParallelRefreshesOfOneToken_OneRotation_TheRestIsReuse()
    {
        var refresh0 = await LoginAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => RefreshAsync(refresh0)));

        var won = answers.Where(a => a.StatusCode == HttpStatusCode.OK).ToArray();
        Assert.That(won, Has.Length.EqualTo(1), "a refresh token rotates once");
        foreach (var lost in answers.Where(a => a.StatusCode != HttpStatusCode.OK))
            await OAuthAssert.ErrorAsync(lost, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await FamilySizeAsync(refresh0), Is.EqualTo(2), "the login's token and exactly one successor");
        Assert.That(await FamilyRevokedAsync(refresh0), Is.True, "the losers presented a rotated token: reuse");
        var winner = await AuthlyApp.JsonAsync(won[0]);
        Assert.That(await IsActiveAsync(AuthlyApp.Str(winner, "access_token")), Is.False, "the winner's access token is revoked with the family");
        await OAuthAssert.ErrorAsync(await RefreshAsync(AuthlyApp.Str(winner, "refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: a rotated token replayed after rotation revokes the family: " +
                       "the successor and its access token die with it, and the replay gets nothing")]
    public async Task Rfc9700_4_14_2_ReplayAfterRotation_RevokesTheFamilyAndTheSuccessor()
    {
        var refresh0 = await LoginAsync();
        var rotated = await OAuthAssert.TokenAsync(await RefreshAsync(refresh0));
        var (access1, refresh1) = (AuthlyApp.Str(rotated, "access_token"), AuthlyApp.Str(rotated, "refresh_token"));

        var replay = await OAuthAssert.ErrorAsync(await RefreshAsync(refresh0), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(replay.ContainsKey("access_token") || replay.ContainsKey("refresh_token"), Is.False);
        Assert.That(await FamilyRevokedAsync(refresh0), Is.True);
        Assert.That(await IsActiveAsync(access1), Is.False, "the successor's access token is on the revocation list");
        await OAuthAssert.ErrorAsync(await RefreshAsync(refresh1), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await FamilySizeAsync(refresh0), Is.EqualTo(2), "the replay and the successor's use issued nothing");
    }

    [Test, Description("RFC 6749 §4.1.2, RFC 9700 §4.5: 20 parallel redemptions of one code: exactly one is served, every other is a replay " +
                       "and revokes what the first issued")]
    public async Task Rfc6749_4_1_2_TwentyParallelRedemptionsOfOneCode_OneServed_AndNothingItIssuedStaysActive()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var code = await browser.CodeAsync(request, user);
        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ =>
            browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier)));

        var served = answers.Where(a => a.StatusCode == HttpStatusCode.OK).ToArray();
        Assert.That(served, Has.Length.EqualTo(1), "a code is used once");
        foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.OK))
            await OAuthAssert.ErrorAsync(refused, HttpStatusCode.BadRequest, "invalid_grant");
        var tokens = await AuthlyApp.JsonAsync(served[0]);
        Assert.That(tokens.ContainsKey("refresh_token"), Is.True, "the redemption issued a refresh family");
        Assert.That(await browser.IsActiveAsync(AuthlyApp.Str(tokens, "access_token")), Is.False, "the replays revoked the access token");
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM refresh_token_families WHERE user_id = @Id", new { user.Id }), Is.EqualTo(1),
            "one redemption created one family");
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM refresh_token_families WHERE user_id = @Id AND revoked_at IS NULL", new { user.Id }),
            Is.Zero, "and the replays revoked it");
    }

    // ---- round trips -------------------------------------------------------------------------------------------------

    /// <summary>
    /// The database commands one token request makes, from Npgsql's own tracing (one activity per command or batch sent;
    /// a batch is one round trip), with the backend each ran on. The request carries a W3C traceparent of the test's own
    /// trace, so ASP.NET Core's request activity and the commands under it join that trace: the app's background work
    /// (sweeper, cache refreshes) and other fixtures' commands are not counted.
    /// </summary>
    private sealed class CommandRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<(ActivityTraceId Trace, string? Connection, string Text)> _commands = new();

        public CommandRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name is "Npgsql" or "Microsoft.AspNetCore",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    if (a.Source.Name == "Npgsql")
                        _commands.Enqueue((a.TraceId, a.GetTagItem("db.npgsql.connection_id")?.ToString(), a.GetTagItem("db.query.text") as string ?? a.DisplayName));
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        /// <summary>POSTs the form to the token endpoint in a trace of its own: (the answer, commands, distinct connections, their text).</summary>
        public async Task<(HttpResponseMessage Answer, int Commands, int Connections, string Log)> PostTokenAsync(AuthlyApp app,
            System.Net.Http.Headers.AuthenticationHeaderValue? authorization, params (string Key, string Value)[] form)
        {
            var trace = ActivityTraceId.CreateRandom();
            using var message = new HttpRequestMessage(HttpMethod.Post, TokenPath) { Content = AuthlyApp.Form(form) };
            message.Headers.Authorization = authorization;
            message.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
            var answer = await app.CreateClient().SendAsync(message);
            await answer.Content.LoadIntoBufferAsync();
            // The client cache's periodic re-read (ClientStore.RevalidateEvery, one query for every cached client, run by
            // whichever request finds the cache older than 2 s) is not part of the grant: a slow login before the measured
            // request (Argon2id on a busy machine) made it land here now and then.
            var mine = _commands.Where(c => c.Trace == trace && !c.Text.Contains("FROM clients c WHERE c.client_id = ANY(@Ids)", StringComparison.Ordinal))
                .ToArray();
            return (answer, mine.Length, mine.Select(c => c.Connection).Distinct().Count(), string.Join("\n---\n", mine.Select(c => c.Text)));
        }

        public void Dispose() => _listener.Dispose();
    }

    [Test, Description("Issue 14: a refresh rotation is one connection use and one transaction: two round trips of commands " +
                       "(the rotation batch; the successor with the retry answer), then COMMIT")]
    public async Task Issue14_RefreshRotation_IsOneConnectionUseOfTwoCommands()
    {
        using var recorder = new CommandRecorder();
        await OAuthAssert.TokenAsync(await RefreshAsync(await LoginAsync())); // clients and scopes are cached from here on
        var refresh = await LoginAsync();
        var (answer, commands, connections, log) = await recorder.PostTokenAsync(_app, AuthlyApp.Basic(_client.Id, _client.Secret),
            ("grant_type", "refresh_token"), ("refresh_token", refresh));
        await OAuthAssert.TokenAsync(answer);
        Assert.That(commands, Is.EqualTo(2), log);
        Assert.That(connections, Is.EqualTo(1), log);
    }

    [Test, Description("Issue 14: a code redemption with a refresh token is one connection use and one transaction: three round trips " +
                       "of commands (the consumption batch, the family, the record of what was issued), then COMMIT")]
    public async Task Issue14_CodeRedemption_IsOneConnectionUseOfThreeCommands()
    {
        using var recorder = new CommandRecorder();
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        await browser.ExchangeAsync(request, await browser.CodeAsync(request, user)); // clients and scopes are cached from here on
        var code = await browser.CodeAsync(request, user);
        var (answer, commands, connections, log) = await recorder.PostTokenAsync(_app, null, ("grant_type", "authorization_code"),
            ("client_id", request.ClientId), ("code", code), ("redirect_uri", request.RedirectUri), ("code_verifier", request.Verifier));
        Assert.That(AuthlyApp.Str(await OAuthAssert.TokenAsync(answer), "refresh_token"), Is.Not.Empty);
        Assert.That(commands, Is.EqualTo(3), log);
        Assert.That(connections, Is.EqualTo(1), log);
    }
}
