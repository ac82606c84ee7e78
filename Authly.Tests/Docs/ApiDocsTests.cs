using System.Text.RegularExpressions;
using Authly.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Docs;

/// <summary>
/// Issue 15 §3: docs/api.md is the HTTP contract, so every route the server maps is in it. The routes come from the
/// server's own EndpointDataSource (as in BadInput/EveryRouteSweepTests), so a route added later fails this test
/// until it is documented. Route parameters are compared by position, not name (`{clientId}` is written `{client_id}`).
/// </summary>
[TestFixture, Category("Docs")]
public sealed partial class ApiDocsTests : AppFixture
{
    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Parameter();

    private static string Normalized(string path) => Parameter().Replace(path, "{}");

    [Test, Description("Issue 15 §3: every route the server maps is documented in docs/api.md")]
    public void EveryRoute_IsInApiMd()
    {
        var routes = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText ?? "/").Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.That(routes, Has.Count.GreaterThan(60).And.Member("/api/v1/oauth/token").And.Member("/admin/vault/audit"));

        var docs = Normalized(File.ReadAllText(Path.Combine(RepositoryFiles.Root, "docs", "api.md")));
        var missing = routes.Where(r => !Documented(docs, Normalized(r.StartsWith('/') ? r : "/" + r))).ToList();
        Assert.That(missing, Is.Empty, "document these routes in docs/api.md");
    }

    /// <summary>The path, not as the prefix of a longer one (/admin/users is not documented by /admin/users/{id}).</summary>
    private static bool Documented(string docs, string path) =>
        Regex.IsMatch(docs, Regex.Escape(path) + @"(?![\w/{.-])");
}
