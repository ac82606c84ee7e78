using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.BadInput;

/// <summary>
/// Issue 13: the JSON APIs (admin, users, vault) read a body only when its media type, parsed, is
/// application/json (RFC 9110 §8.3.1: any case, any parameters). A prefix test let application/jsonp,
/// application/json-seq and the like through to the JSON parser; they get the 415 every other type gets.
/// </summary>
[TestFixture, Category("BadInput")]
public sealed class JsonMediaTypeTests
{
    private AuthlyApp _app = null!;
    private HttpClient _admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _app = await AuthlyApp.StartAsync();
        _admin = _app.BearerClient(await _app.AdminTokenAsync("admin:scopes:read admin:scopes:write"));
    }

    [OneTimeTearDown] public void Stop() => _app.Dispose();

    private async Task<(HttpStatusCode Status, string Raw)> CreateScopeAsync(string name, string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"scope_name":"{{name}}","description":"media type test"}"""));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await _admin.PostAsync("/admin/scopes", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string NewScope() => "mt:" + Guid.NewGuid().ToString("N")[..10];

    [TestCase("application/jsonp")]
    [TestCase("application/json-seq")]
    [TestCase("application/jsonx")]
    [TestCase("application/json-patch+json")]
    [TestCase("application/json5")]
    [TestCase("text/plain")]
    [TestCase("text/plain; charset=application/json")]
    [TestCase("application/x-www-form-urlencoded")]
    [TestCase("multipart/form-data; boundary=x")]
    [TestCase("json")]
    [TestCase("")]
    [Description("Issue 13; RFC 9110 §8.3.1: a media type other than application/json → 415, and nothing is created")]
    public async Task AdminCreate_WithAnotherMediaType_Returns415AndCreatesNothing(string contentType)
    {
        var name = NewScope();
        var (status, raw) = await CreateScopeAsync(name, contentType);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.UnsupportedMediaType), $"{contentType}: {raw}");
            Assert.That(AuthlyApp.Str(JsonNode.Parse(raw)!.AsObject(), "detail"), Is.EqualTo("The request body must be application/json"));
        });
        var shown = await _admin.GetAsync("/admin/scopes/" + name);
        Assert.That(shown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a refused body must create nothing");
    }

    [Test, Description("Issue 13: a body without any Content-Type → 415")]
    public async Task AdminCreate_WithoutContentType_Returns415()
    {
        var response = await _admin.PostAsync("/admin/scopes", new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"scope_name":"{{NewScope()}}"}""")));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType), await response.Content.ReadAsStringAsync());
    }

    [TestCase("application/json")]
    [TestCase("application/json; charset=utf-8")]
    [TestCase("application/json;charset=UTF-8")]
    [TestCase("APPLICATION/JSON")]
    [TestCase("Application/Json ; charset=\"utf-8\"")]
    [Description("RFC 9110 §8.3.1: application/json in any case, with parameters, is read")]
    public async Task AdminCreate_WithApplicationJsonVariants_IsRead(string contentType)
    {
        var name = NewScope();
        var (status, raw) = await CreateScopeAsync(name, contentType);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), $"{contentType}: {raw}");
        Assert.That(AuthlyApp.Str(JsonNode.Parse(raw)!.AsObject(), "scope_name"), Is.EqualTo(name));
    }
}
