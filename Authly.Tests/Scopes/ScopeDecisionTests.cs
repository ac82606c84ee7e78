using Authly.Clients;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Users;

namespace Authly.Tests.ScopeDecisions; // neither ".Scopes" nor ".ScopeRules": each would hide the Core name of the same spelling (Authly.Scopes, ScopeRules) from other tests

/// <summary>
/// Issue 13: the one scope decision, every grant × case, as a table. Pure: no database, no host. Scopes the
/// table uses: <c>read</c> (default), <c>write</c> (default, not registered on the client), <c>profile</c>,
/// <c>openid</c>, <c>offline_access</c>, <c>admin:users</c> (privileged, needs a user), <c>account:read</c>
/// (first-party, needs a user), <c>introspect</c> (privileged, first-party), <c>retired</c> (registered on
/// the client but inactive) and <c>nosuch</c> (unknown).
/// </summary>
[TestFixture, Category("Core")]
public sealed class ScopeDecisionTests
{
    private const string NotAllowed = "The requested scope is not allowed for this client";
    private const string NoneGrantable = "None of the requested scopes can be granted";
    private const string Exceeds = "The requested scope exceeds the scope originally granted";

    private static readonly IReadOnlyDictionary<string, Scope> Active = new[]
    {
        ("read", true), ("write", true), ("profile", false), (OidcScopes.OpenId, false), (OidcScopes.OfflineAccess, false),
        ("admin:users", false), ("account:read", false), ("introspect", false),
    }.ToDictionary(s => s.Item1, s => new Scope { ScopeName = s.Item1, IsDefault = s.Item2, IsActive = true }, StringComparer.Ordinal);

    private static readonly string[] RegisteredScopes =
        ["read", "profile", OidcScopes.OpenId, OidcScopes.OfflineAccess, "admin:users", "account:read", "introspect", "retired"];

    /// <summary>Registered for every grant, refresh_token included.</summary>
    private static readonly Client App = new()
    {
        ClientId = "app", IsActive = true, Scopes = RegisteredScopes,
        GrantTypes = [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken, GrantTypes.Password, GrantTypes.ClientCredentials, GrantTypes.DeviceCode],
    };

    /// <summary>Registered for the code and device grants, not for refresh_token.</summary>
    private static readonly Client NoRefresh = App with { ClientId = "no-refresh", GrantTypes = [GrantTypes.AuthorizationCode, GrantTypes.DeviceCode] };

    private static readonly User Alice = new() { Id = Guid.NewGuid(), Username = "alice", IsActive = true };
    private static readonly User Root = new() { Id = Guid.NewGuid(), Username = "root", IsActive = true, IsAdmin = true };

    public sealed record Case(string Grant, string? Requested, Client? Client, User? User, string? Original = null)
    {
        /// <summary>The expected scope string, or null when the expected answer is invalid_scope.</summary>
        public string? Scope { get; init; }
        public bool RefreshToken { get; init; }
        public bool IdToken { get; init; }
        /// <summary>The invalid_scope error_description expected instead of a grant.</summary>
        public string? Error { get; init; }
    }

    private static TestCaseData Row(string name, Case c) => new TestCaseData(c).SetName($"Decide_{name}");

    public static IEnumerable<TestCaseData> Table()
    {
        const string cc = GrantTypes.ClientCredentials, pw = GrantTypes.Password, rt = GrantTypes.RefreshToken,
            code = GrantTypes.AuthorizationCode, device = GrantTypes.DeviceCode;

        // RFC 6749 §4.4: the client acting for itself. No refresh token (§4.4.3), no ID token, no user-only scope.
        yield return Row("ClientCredentials_Subset_GrantsRequested", new(cc, "read", App, null) { Scope = "read" });
        yield return Row("ClientCredentials_Superset_IsInvalidScope", new(cc, "read write", App, null) { Error = NotAllowed });
        yield return Row("ClientCredentials_UnknownScope_IsInvalidScope", new(cc, "read nosuch", App, null) { Error = NotAllowed });
        yield return Row("ClientCredentials_InactiveScopeOnly_IsInvalidScope", new(cc, "retired", App, null) { Error = NoneGrantable });
        yield return Row("ClientCredentials_UserOnlyScopeOnly_IsInvalidScope", new(cc, "admin:users", App, null) { Error = NoneGrantable });
        yield return Row("ClientCredentials_UserOnlyScopeBesideOthers_IsDropped", new(cc, "read account:read", App, null) { Scope = "read" });
        yield return Row("ClientCredentials_Privileged_WithoutUser_IsGranted", new(cc, "introspect", App, null) { Scope = "introspect" });
        yield return Row("ClientCredentials_OpenIdAndOfflineAccess_NoIdTokenNoRefreshToken",
            new(cc, "openid offline_access", App, null) { Scope = "offline_access openid" });
        yield return Row("ClientCredentials_EmptyRequest_ClientsActiveScopesWithoutUserOnly",
            new(cc, null, App, null) { Scope = "introspect offline_access openid profile read" });

        // RFC 6749 §4.3: with a client, the client's scopes; scopes it may not have are dropped; a family always starts.
        yield return Row("Password_Subset_GrantsRequested", new(pw, "read profile", App, Alice) { Scope = "profile read", RefreshToken = true });
        yield return Row("Password_Superset_DropsWhatTheClientLacks", new(pw, "read write", App, Alice) { Scope = "read", RefreshToken = true });
        yield return Row("Password_UnknownScopeOnly_IsInvalidScope", new(pw, "nosuch", App, Alice) { Error = NoneGrantable });
        yield return Row("Password_UnknownScopeBesideOthers_IsDropped", new(pw, "read nosuch", App, Alice) { Scope = "read", RefreshToken = true });
        yield return Row("Password_PrivilegedForNonAdmin_IsInvalidScope", new(pw, "admin:users", App, Alice) { Error = NoneGrantable });
        yield return Row("Password_PrivilegedForNonAdminBesideOthers_IsDropped", new(pw, "read introspect", App, Alice) { Scope = "read", RefreshToken = true });
        yield return Row("Password_PrivilegedForAdmin_IsGranted", new(pw, "admin:users introspect", App, Root) { Scope = "admin:users introspect", RefreshToken = true });
        yield return Row("Password_OpenIdAndOfflineAccess_RefreshTokenButNoIdToken",
            new(pw, "openid offline_access", App, Alice) { Scope = "offline_access openid", RefreshToken = true });
        yield return Row("Password_EmptyRequest_DefaultScopesTheClientHas", new(pw, null, App, Alice) { Scope = "read", RefreshToken = true });
        // Without a client: the first-party CLI; first-party scopes only (RFC 9700 §4.15).
        yield return Row("Password_Cli_ThirdPartyScopeOnly_IsInvalidScope", new(pw, "read", null, Alice) { Error = NoneGrantable });
        yield return Row("Password_Cli_ThirdPartyScopeBesideFirstParty_IsDropped",
            new(pw, "read account:read", null, Alice) { Scope = "account:read", RefreshToken = true });
        yield return Row("Password_Cli_PrivilegedForNonAdmin_IsDropped", new(pw, "introspect account:read", null, Alice) { Scope = "account:read", RefreshToken = true });
        yield return Row("Password_Cli_PrivilegedForAdmin_IsGranted", new(pw, "admin:users introspect", null, Root) { Scope = "admin:users introspect", RefreshToken = true });
        yield return Row("Password_Cli_EmptyRequest_AccountScopes", new(pw, null, null, Alice) { Scope = "account:read", RefreshToken = true });

        // RFC 6749 §6: only narrower than the original grant; the rotation always carries a refresh token.
        yield return Row("Refresh_Narrowing_GrantsRequested", new(rt, "read", App, Alice, "profile read") { Scope = "read", RefreshToken = true });
        yield return Row("Refresh_Widening_IsInvalidScope", new(rt, "read write", App, Alice, "read") { Error = Exceeds });
        yield return Row("Refresh_UnknownScope_IsInvalidScope", new(rt, "nosuch", App, Alice, "read") { Error = Exceeds });
        yield return Row("Refresh_EmptyRequest_TheOriginalScope", new(rt, null, App, Alice, "openid profile read") { Scope = "openid profile read", RefreshToken = true });
        yield return Row("Refresh_OriginalScopeNowInactive_IsDropped", new(rt, null, App, Alice, "read retired") { Scope = "read", RefreshToken = true });
        yield return Row("Refresh_OriginalScopeNoLongerOnClient_IsDropped", new(rt, null, App, Alice, "read write") { Scope = "read", RefreshToken = true });
        yield return Row("Refresh_PrivilegedForNonAdmin_IsDropped", new(rt, null, App, Alice, "admin:users read") { Scope = "read", RefreshToken = true });
        yield return Row("Refresh_PrivilegedForAdmin_IsKept", new(rt, "admin:users", App, Root, "admin:users read") { Scope = "admin:users", RefreshToken = true });
        yield return Row("Refresh_OpenId_NoIdToken", new(rt, "openid", App, Alice, "openid read") { Scope = "openid", RefreshToken = true });
        yield return Row("Refresh_Cli_ThirdPartyScopeOfAnOldFamily_IsDropped",
            new(rt, null, null, Alice, "account:read read") { Scope = "account:read", RefreshToken = true });
        yield return Row("Refresh_Cli_EmptyResult_IsNotAnError", new(rt, "read", null, Alice, "account:read read") { Scope = "", RefreshToken = true });

        // RFC 6749 §4.1.3 and RFC 8628 §3.5: the scope the user approved (checked against the client when asked for).
        foreach (var (grant, label) in new[] { (code, "Code"), (device, "Device") })
        {
            yield return Row($"{label}_OpenId_IdTokenAndRefreshTokenForRefreshClient",
                new(grant, "openid profile read", App, Alice) { Scope = "openid profile read", RefreshToken = true, IdToken = true });
            yield return Row($"{label}_WithoutOpenId_NoIdToken", new(grant, "read", App, Alice) { Scope = "read", RefreshToken = true });
            yield return Row($"{label}_OfflineAccess_WithoutRefreshGrant_RefreshToken",
                new(grant, "openid offline_access", NoRefresh, Alice) { Scope = "offline_access openid", RefreshToken = true, IdToken = true });
            yield return Row($"{label}_NoOfflineAccess_WithoutRefreshGrant_NoRefreshToken",
                new(grant, "openid read", NoRefresh, Alice) { Scope = "openid read", IdToken = true });
            yield return Row($"{label}_PrivilegedForNonAdmin_IsDropped", new(grant, "read admin:users", App, Alice) { Scope = "read", RefreshToken = true });
            yield return Row($"{label}_PrivilegedForAdmin_IsKept", new(grant, "read admin:users", App, Root) { Scope = "admin:users read", RefreshToken = true });
            yield return Row($"{label}_ApprovedScopeNowInactive_IsDropped", new(grant, "read retired", App, Alice) { Scope = "read", RefreshToken = true });
            yield return Row($"{label}_ApprovedScopeNoLongerOnClient_IsDropped", new(grant, "read write", App, Alice) { Scope = "read", RefreshToken = true });
            yield return Row($"{label}_EmptyApproval_GrantsNothing", new(grant, null, App, Alice) { Scope = "", RefreshToken = true });
        }
    }

    [TestCaseSource(nameof(Table))]
    public void Decide(Case c)
    {
        var requested = ScopeSet.Parse(c.Requested);
        var original = c.Original is null ? null : ScopeSet.Parse(c.Original);
        if (c.Error is not null)
        {
            var e = Assert.Throws<OAuthException>(() => ScopeDecision.Decide(c.Grant, requested, Active, c.Client, c.User, original))!;
            Assert.Multiple(() =>
            {
                Assert.That(e.Error, Is.EqualTo(OAuthErrors.InvalidScope));
                Assert.That(e.Description, Is.EqualTo(c.Error));
            });
            return;
        }
        var granted = ScopeDecision.Decide(c.Grant, requested, Active, c.Client, c.User, original);
        Assert.Multiple(() =>
        {
            Assert.That(granted.Scope, Is.EqualTo(c.Scope), "scope");
            Assert.That(granted.RefreshToken, Is.EqualTo(c.RefreshToken), "refresh token");
            Assert.That(granted.IdToken, Is.EqualTo(c.IdToken), "ID token");
        });
    }

    [Test, Description("Issue 13: every grant the engine dispatches has a scope rule")]
    public void Decide_EveryGrantType_HasARow()
    {
        var grants = Table().Select(d => ((Case)d.Arguments[0]!).Grant).ToHashSet();
        Assert.That(grants, Is.EquivalentTo(new[]
        {
            GrantTypes.ClientCredentials, GrantTypes.Password, GrantTypes.RefreshToken, GrantTypes.AuthorizationCode, GrantTypes.DeviceCode,
        }));
    }

    [Test, Description("Issue 13: a grant without a rule is a programming error, not a silent empty scope")]
    public void Decide_UnknownGrantType_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ScopeDecision.Decide("urn:example:unknown", ScopeSet.Parse("read"), Active, App, Alice));
    }
}
