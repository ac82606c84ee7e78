// The cheapest answer ASP.NET Core gives on this machine: Kestrel, routing and a minimal-API
// endpoint writing the same JSON as Authly's GET /health/live, with no middleware and no logging.
// bench/run.sh measures it like the floor scenario, so "Authly's floor - this" is Authly's own
// per-request share. Usage: barefloor <port>
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
builder.WebHost.UseUrls($"http://127.0.0.1:{(args.Length > 0 ? args[0] : "5099")}");
var app = builder.Build();
app.MapGet("/health/live", () => Results.Json(new Alive("alive"), AliveJson.Default.Alive));
app.Run();

internal sealed record Alive(string status);

[System.Text.Json.Serialization.JsonSerializable(typeof(Alive))]
internal sealed partial class AliveJson : System.Text.Json.Serialization.JsonSerializerContext;
