using System.Diagnostics;

namespace Authly.Telemetry;

/// <summary>
/// Authly's spans (ActivitySource "Authly"): token issuance per grant, authorize, introspection and
/// the Redis calls. With no listener (tracing off: no OTEL_EXPORTER_OTLP_ENDPOINT) StartActivity
/// returns null and nothing is allocated. Names and tags carry grant types, outcomes and decisions
/// only: never a secret, password, code or token (Authly.Tests/Attacks/TracingAttacks.cs checks it).
/// </summary>
public static class AuthlyTracing
{
    public const string SourceName = "Authly";
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Marks a span failed with the OAuth error code or exception type (never the message: it can quote input).</summary>
    public static void Fail(this Activity? activity, string error)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, error);
        activity.SetTag("error.type", error);
    }
}
