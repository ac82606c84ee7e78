using Authly.OAuth;
using Authly.Proxy;
using Authly.Server.Http;
using Authly.Server.Proxy;

namespace Authly.Tests.Rfc6750;

/// <summary>
/// RFC 6750 §3: the <c>WWW-Authenticate: Bearer</c> challenge, built in one place. The expected strings are
/// the exact header values the server and the proxy wrote before <see cref="BearerChallenge"/> existed.
/// </summary>
[TestFixture, Category("Core")]
public sealed class BearerChallengeTests
{
    [Test]
    public void Rfc6750_3_1_NoCredentials_IsABareChallenge()
    {
        Assert.That(BearerChallenge.Header(), Is.EqualTo("Bearer realm=\"authly\""));
    }

    [Test]
    public void Rfc6750_3_1_InvalidToken_CarriesTheErrorCode()
    {
        Assert.That(BearerChallenge.Header(OAuthErrors.InvalidToken), Is.EqualTo("Bearer realm=\"authly\", error=\"invalid_token\""));
    }

    [Test]
    public void Rfc6750_3_InsufficientScope_NamesTheScopeNeeded()
    {
        Assert.That(BearerChallenge.Header(OAuthErrors.InsufficientScope, scope: "admin:clients:write"),
            Is.EqualTo("Bearer realm=\"authly\", error=\"insufficient_scope\", scope=\"admin:clients:write\""));
    }

    [Test]
    public void Rfc6750_3_ErrorDescription_FollowsTheError()
    {
        Assert.That(BearerChallenge.Header(OAuthErrors.InvalidToken, "The access token is invalid or expired"),
            Is.EqualTo("Bearer realm=\"authly\", error=\"invalid_token\", error_description=\"The access token is invalid or expired\""));
    }

    [Test]
    public void Rfc6750_3_ErrorDescription_QuoteAndBackslashAreOutsideItsCharacterSet_AndAreReplaced()
    {
        Assert.That(BearerChallenge.Header(OAuthErrors.InsufficientScope, "needs \"x\" in a\\b"),
            Is.EqualTo("Bearer realm=\"authly\", error=\"insufficient_scope\", error_description=\"needs 'x' in a/b\""));
    }

    [Test]
    public void Rfc6750_3_Proxy_UsesItsOwnRealm_AndAllThreeParts()
    {
        Assert.That(ProxyServer.Challenge(ProxyErrors.Scope("db:read", "Missing \"db:read\""), triedBearer: true),
            Is.EqualTo("Bearer realm=\"authly-proxy\", error=\"insufficient_scope\", error_description=\"Missing 'db:read'\", scope=\"db:read\""));
    }

    [Test]
    public void Rfc6750_3_1_Proxy_RequestThatDidNotTryBearer_GetsNoErrorCode()
    {
        Assert.That(ProxyServer.Challenge(ProxyErrors.BadToken(), triedBearer: false), Is.EqualTo("Bearer realm=\"authly-proxy\""));
        Assert.That(ProxyServer.Challenge(ProxyErrors.BadToken(), triedBearer: true),
            Is.EqualTo($"Bearer realm=\"authly-proxy\", error=\"invalid_token\", error_description=\"{ProxyErrors.InvalidToken}\""));
    }
}
