using System.Net;
using System.Security.Cryptography;
using System.Text;
using Authly.Clients;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Counters;
using Authly.OAuth;
using Authly.Security;
using Authly.Storage;
using Authly.Tests.Faults;
using Authly.Tests.Infrastructure;
using Authly.Tokens;
using Authly.Users;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Authly.Tests.Attacks;

/// <summary>
/// A second review of issue 12 ("fail safe under faults"), as an attacker who can read the database
/// (a backup, a read replica, a leaked dump) but holds none of the server's secrets. What the new
/// tables keep must give such a reader nothing that the project's rule already denies: no usable
/// token (secrets stored only as hashes) and no list of what people typed.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class Issue12ReviewAttacks : AppFixture
{
    private AuthlyApp.TestUser _user = null!;
    private string _public = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _user = await _app.CreateUserAsync();
        (_public, _) = await _app.CreateClientAsync(new { client_name = "spa", client_type = "public", scope = "read", grant_types = new[] { "password", "refresh_token" } });
    }

    private Task<HttpResponseMessage> RefreshAsync(string refresh) =>
        _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", _public));

    [Test, Description("Issue12_Finding5 review: the sealed retry answer needs a server secret; a database copy plus an old rotated token yields no live token")]
    public async Task DatabaseCopy_PlusOldRotatedToken_DoesNotOpenTheStoredAnswer()
    {
        // The client logs in and rotates once; it keeps refresh1 unused (an app in the background for an hour).
        var login = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("client_id", _public),
            ("username", _user.Username), ("password", _user.Password)));
        var refresh0 = AuthlyApp.Str(login, "refresh_token");
        var rotated = await OAuthAssert.TokenAsync(await RefreshAsync(refresh0));
        var refresh1 = AuthlyApp.Str(rotated, "refresh_token");
        // The window is long over: refresh0 is a dead token in the client's old storage or logs, where rotation
        // (OAuth 2.1 §4.3.1) says it is harmless. The attacker has it, and a copy of the database.
        await _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET rotated_at = now() - interval '1 hour' WHERE token_hash = @Hash RETURNING 1",
            new { Hash = OpaqueToken.Hash(refresh0) });
        await using var db = _app.Database();
        await using var conn = await db.OpenConnectionAsync();
        var stored = await conn.QuerySingleAsync<(Guid Id, byte[]? Answer)>(
            // The rotated row's id (the associated data) and the answer its rotation stored on the successor (sql/0010).
            "SELECT t.id, s.retry_response FROM refresh_tokens t JOIN refresh_tokens s ON s.id = t.replaced_by WHERE t.token_hash = @Hash",
            new { Hash = OpaqueToken.Hash(refresh0) });

        // The scheme is public (this repository): HKDF of the rotated token, the row id and the request's scope as associated data.
        if (stored.Answer is { } answer)
        {
            byte[]? opened = null;
            try { opened = new SecretBox(refresh0, "authly-refresh-retry-v1").Open(answer, $"{stored.Id:N}|"); }
            catch (CryptographicException) { }
            Assert.That(opened is null || !Encoding.UTF8.GetString(opened).Contains(refresh1), Is.True,
                "a database copy and a rotated token gave the attacker the family's current refresh token");
        }
        // And what the attacker would have gained was live: the client's current token still works.
        Assert.That(await _app.SqlScalarAsync<bool>("SELECT rotated_at IS NULL FROM refresh_tokens WHERE token_hash = @Hash",
            new { Hash = OpaqueToken.Hash(refresh1) }), Is.True);
    }

    [Test, Description("Issue12_Finding2 review: a password typed into the username field is not kept as an unkeyed digest in attempt_guards")]
    public async Task PasswordTypedAsUsername_IsNotRecoverableFromAttemptGuards()
    {
        // People type their password into the username field; the guard counts that "username" before anything else.
        var typed = "Summer2026!" + Guid.NewGuid().ToString("N")[..6];
        var response = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("client_id", _public),
            ("username", typed), ("password", "anything"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant");

        // A database reader runs a password dictionary through the published key format. The guess is right here
        // (one candidate stands for a dictionary): it must still not match a stored key.
        var candidate = SHA256.HashData(Encoding.UTF8.GetBytes("login:" + typed.ToLowerInvariant()));
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM attempt_guards"), Is.GreaterThan(0), "precondition: the attempt was counted");
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM attempt_guards WHERE key_hash = @Candidate", new { Candidate = candidate }),
            Is.Zero, "attempt_guards confirmed a dictionary guess of what was typed into the username field");
    }

    [Test, Description("Issue12_Finding2 review (RFC 6749 §10.10): an attempt given back after its window ended does not lift a lock that still runs")]
    public async Task GoodLogin_FinishingAfterTheWindowEnded_DoesNotLiftTheAddressLock()
    {
        await using var db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
        var store = new AttemptGuardStore(db, new AuthlyOptions { DatabaseUrl = "" });
        const string address = "login-ip:192.0.2.7";
        var lockFor = TimeSpan.FromMinutes(5);
        var ct = CancellationToken.None;
        // The attacker's own good login reserves the address's first attempt (its window opens) ...
        Assert.That(await store.ReserveAsync([(address, 3)], lockFor, ct), Is.Null);
        // ... and its guesses at other accounts spend the rest: the third attempt locks the address for five minutes.
        Assert.That(await store.ReserveAsync([(address, 3)], lockFor, ct), Is.Null);
        Assert.That(await store.ReserveAsync([(address, 3)], lockFor, ct), Is.Null);
        Assert.That(await store.ReserveAsync([(address, 3)], lockFor, ct), Is.Not.Null, "precondition: the address is locked");
        // The window the first attempt opened ends; the lock, taken later, runs on. (The state a few seconds of
        // guessing produce; set here rather than waited for.) Only then does the good login's slow check finish.
        await using (var conn = await db.OpenConnectionAsync())
            await conn.ExecuteAsync("UPDATE attempt_guards SET window_ends_at = now() - interval '1 second'");
        await store.ReleaseAsync(address, 3, ct);

        Assert.That(await store.ReserveAsync([(address, 3)], lockFor, ct), Is.Not.Null,
            "giving back the good login's attempt lifted a lock taken by the guesses");
    }

    [Test, Description("Issue12_Finding1 review: a password login whose check passed just before a password reset gets nothing that outlives the reset")]
    public async Task PasswordLogin_CheckedJustBeforeAReset_IssuesNothingThatOutlivesTheReset()
    {
        var victim = await _app.CreateUserAsync();
        var ct = CancellationToken.None;
        // The attacker knows the password and signs in again and again; one login's password check has just passed ...
        var checkedUser = await _app.Services.GetRequiredService<PasswordLogin>().CheckAsync(victim.Username, victim.Password, "192.0.2.9", ct);
        // ... when the victim resets the password, which revokes every refresh family of the account ...
        Assert.That(await _app.Services.GetRequiredService<UserAccounts>().ResetPasswordAsync(victim.Id, "N3w-" + Guid.NewGuid().ToString("N"), ct), Is.Not.Null);
        // ... and only then does that login get its tokens (the order a slow Argon2 check and a fast reset produce).
        TokenResponse? issued = null;
        try { (issued, _, _) = await _app.Services.GetRequiredService<TokenIssuer>().ForUserAsync(checkedUser, null, "", ct); }
        catch (OAuthException e) { Assert.That(e.Error, Is.EqualTo(OAuthErrors.InvalidGrant)); }

        if (issued is not null)
        {
            foreach (var token in new[] { issued.AccessToken, issued.RefreshToken! })
            {
                var introspection = await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token)));
                Assert.That(introspection["active"]!.GetValue<bool>(), Is.False, "a token issued for the old password outlived the reset");
            }
        }
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM refresh_token_families WHERE user_id = @Id AND revoked_at IS NULL",
            new { victim.Id }), Is.Zero, "the reset left a live refresh family behind");
    }

    [Test, Description("Issue12_Finding3/4 review: a client deactivated elsewhere is not served from the stale cache by a read its announcement overtook")]
    public async Task DeactivatedClient_AnnouncedWhileAReadFails_IsNotServedStale()
    {
        var ct = CancellationToken.None;
        var direct = await TestServers.CreateDatabaseAsync();
        var b = new NpgsqlConnectionStringBuilder(direct);
        await using var proxy = FaultyTcpProxy.Start(b.Host!, b.Port);
        var throughProxy = new NpgsqlConnectionStringBuilder(direct) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2, CommandTimeout = 2 };
        await using var dbA = NpgsqlDataSource.Create(direct);
        await using var dbB = NpgsqlDataSource.Create(throughProxy.ConnectionString);
        var options = new AuthlyOptions { DatabaseUrl = "" };
        var clockB = new TestClock(DateTimeOffset.UtcNow);
        var toB = new LocalClusterBus(); // what reaches node B from the others
        var nodeA = new ClientStore(dbA, new SilentClusterBus(), TimeProvider.System, options, NullLogger<ClientStore>.Instance);
        var nodeB = new ClientStore(dbB, toB, clockB, options, NullLogger<ClientStore>.Instance);
        var created = await nodeA.CreateAsync(new ClientRegistration
        {
            ClientName = "svc", ClientType = ClientTypes.Confidential, Scope = "read", GrantTypes = ["client_credentials"],
        }, ct);
        var id = created.Client.ClientId;
        Assert.That(await nodeB.FindActiveAsync(id, ct), Is.Not.Null, "precondition: node B caches the client");

        // An admin deactivates the client on node A (committed); node B's entry is due for a re-read.
        await nodeA.DeactivateAsync(id, ct);
        clockB.Advance(TimeSpan.FromSeconds(61));
        proxy.Stall(); // node B's database stops answering
        // One request on B claims the periodic re-validation (which hangs), another re-reads the client (which hangs).
        var revalidating = nodeB.FindActiveAsync("another-client", ct);
        var lookup = nodeB.FindActiveAsync(id, ct);
        // The announcement of the deactivation reaches B while that read hangs; then the read fails (an outage).
        await toB.PublishAsync("clients", id);

        Client? served = null;
        try { served = await lookup; }
        catch (Exception e) when (DependencyOutage.Is(e)) { } // a 503: nothing to serve
        try { await revalidating; }
        catch (Exception e) when (DependencyOutage.Is(e)) { }
        Assert.That(served, Is.Null, "node B served a client it had been told was deactivated");
    }
}
