using Authly.Clients;

namespace Authly.Tests.Core;

[TestFixture, Category("Core")]
public sealed class ClientRulesTests
{
    private const bool Public = true;
    private const bool Confidential = false;

    // RFC 6749 §3.1.2, RFC 8252 §7.1/§7.3/§8.3, OAuth 2.1 §2.3.1
    [TestCase("https://app.example/cb", Public, true)]
    [TestCase("https://app.example/cb", Confidential, true)]
    [TestCase("https://app.example/cb?x=1", Public, true)]
    [TestCase("http://app.example/cb", Confidential, true)]
    [TestCase("http://app.example/cb", Public, false)]
    [TestCase("http://127.0.0.1/cb", Public, true)]
    [TestCase("http://127.0.0.1:51004/cb", Public, true)]
    [TestCase("http://[::1]:51004/cb", Public, true)]
    [TestCase("http://localhost:3000/cb", Public, true)]
    [TestCase("http://localhost.evil.example/cb", Public, false)]
    [TestCase("http://127.0.0.1.nip.io/cb", Public, false)]
    [TestCase("http://10.0.0.5/cb", Public, false)]
    [TestCase("com.example.app:/oauth2redirect", Public, true)]
    [TestCase("com.example.app:/oauth2redirect", Confidential, true)]
    [TestCase("myapp://callback", Public, false)]
    [TestCase("/callback", Public, false)]
    [TestCase("/callback", Confidential, false)]
    [TestCase("callback", Confidential, false)]
    [TestCase("//app.example/cb", Confidential, false)]
    [TestCase("https://app.example/cb#frag", Confidential, false)]
    [TestCase("https://app.example/cb#", Public, false)]
    [TestCase("javascript:alert(1)", Confidential, false)]
    [TestCase("data:text/html,hi", Confidential, false)]
    [TestCase("file:///etc/passwd", Confidential, false)]
    [TestCase("https:///cb", Confidential, false)]
    [TestCase("", Confidential, false)]
    public void RedirectUriProblem_Matrix(string uri, bool isPublic, bool allowed)
    {
        var problem = ClientRules.RedirectUriProblem(uri, isPublic);
        Assert.That(problem, allowed ? Is.Null : Is.Not.Null, problem);
    }

    [TestCase("/callback")]
    [TestCase("callback")]
    [TestCase("//app.example/cb")]
    [TestCase("../cb")]
    public void RedirectUriProblem_RelativeReference_SaysItIsNotAbsolute(string uri)
    {
        // RFC 6749 §3.1.2: the redirection endpoint URI MUST be an absolute URI. On Linux, .NET reads
        // "/callback" as a file path; the message must still be about the URI the admin wrote.
        Assert.That(ClientRules.RedirectUriProblem(uri, isPublic: false), Does.Contain("absolute"));
    }

    [Test]
    public void RedirectUriProblem_TooLong_IsRefused()
    {
        Assert.That(ClientRules.RedirectUriProblem("https://app.example/" + new string('a', 2000), isPublic: false), Does.Contain("2000"));
    }

    [TestCase("public", "client_secret_basic", new[] { "authorization_code" }, "token_endpoint_auth_method")]
    [TestCase("confidential", "none", new[] { "client_credentials" }, "token_endpoint_auth_method")]
    [TestCase("public", "none", new[] { "client_credentials" }, "grant_types")]
    [TestCase("confidential", "client_secret_basic", new[] { "authorization_code" }, "redirect_uris", Description = "a code grant needs somewhere to send the code")]
    public void ValidateMerged_InconsistentClient_NamesTheField(string type, string authMethod, string[] grants, string field)
    {
        var e = Assert.Throws<AuthlyException>(() => ClientRules.ValidateMerged(type, authMethod, [], [], grants))!;
        Assert.That(e.Field, Is.EqualTo(field));
        Assert.That(e.Message, Does.Contain(field));
    }

    [Test]
    public void ValidateMerged_BadPostLogoutUri_NamesThatField()
    {
        var e = Assert.Throws<AuthlyException>(() =>
            ClientRules.ValidateMerged("public", "none", ["https://app.example/cb"], ["http://app.example/bye"], ["authorization_code"]))!;
        Assert.That(e.Field, Is.EqualTo("post_logout_redirect_uris"));
    }

    [Test]
    public void ValidateMerged_ConsistentClients_Pass()
    {
        Assert.DoesNotThrow(() => ClientRules.ValidateMerged("public", "none", ["http://127.0.0.1/cb"], [], ["authorization_code", "refresh_token"]));
        Assert.DoesNotThrow(() => ClientRules.ValidateMerged("confidential", "client_secret_post", [], [], ["client_credentials"]));
    }

    private static IEnumerable<TestCaseData> BadRegistrations()
    {
        TestCaseData Case(ClientRegistration r, string field) => new TestCaseData(r, field).SetArgDisplayNames(field);
        yield return Case(new ClientRegistration { ClientType = "public" }, "client_name");
        yield return Case(new ClientRegistration { ClientName = new string('n', 256), ClientType = "public" }, "client_name");
        yield return Case(new ClientRegistration { ClientName = "x" }, "client_type");
        yield return Case(new ClientRegistration { ClientName = "x", ClientType = "public", TokenEndpointAuthMethod = "client_secret_jwt" }, "token_endpoint_auth_method");
        yield return Case(new ClientRegistration { ClientName = "x", ClientType = "public", GrantTypes = ["implicit"] }, "grant_types");
        yield return Case(new ClientRegistration { ClientName = "x", ClientType = "public", ResponseTypes = ["token"] }, "response_types");
        yield return Case(new ClientRegistration { ClientName = "x", ClientType = "public", Scope = "read \"write\"" }, "scope");
        yield return Case(new ClientRegistration { ClientName = "x", ClientType = "public", RedirectUris = Enumerable.Repeat("https://a.example/cb", 51).ToArray() }, "redirect_uris");
        yield return Case(new ClientRegistration { ClientName = "x", ClientType = "public", PolicyUri = "ftp://a.example/p" }, "policy_uri");
        yield return Case(new ClientRegistration { ClientName = "x", ClientType = "public", ApplicationType = "desktop" }, "application_type");
    }

    [TestCaseSource(nameof(BadRegistrations))]
    public void Validate_BadRegistration_NamesTheField(ClientRegistration registration, string field)
    {
        var e = Assert.Throws<AuthlyException>(() => ClientRules.Validate(registration, isCreate: true))!;
        Assert.That(e.Field, Is.EqualTo(field));
        Assert.That(e.Message, Does.Contain(field));
    }

    [Test]
    public void Validate_OnUpdate_NameAndTypeAreOptional()
    {
        Assert.DoesNotThrow(() => ClientRules.Validate(new ClientRegistration { Scope = "read" }, isCreate: false));
    }
}
