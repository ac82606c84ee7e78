using System.Net;
using Authly.Configuration;
using Authly.Storage;
using Npgsql;

namespace Authly.Tests.Core;

/// <summary>API.md "Configuration (environment)": every variable, its default, and one clear message per bad value.</summary>
[TestFixture, Category("Core")]
public sealed class AuthlyOptionsTests
{
    private const string GoodDatabaseUrl = "postgresql://authly:pw@localhost:5432/authly";
    private const string Secret = "0123456789abcdef0123456789abcdef-not-the-default";
    private const string RefreshSecret = "fedcba9876543210fedcba9876543210-not-the-default";

    /// <summary>Loads from exactly these variables (plus a valid DATABASE_URL unless given); nothing from the real environment.</summary>
    private static AuthlyOptions Load(params (string Name, string? Value)[] env)
    {
        var vars = new Dictionary<string, string?> { ["DATABASE_URL"] = GoodDatabaseUrl };
        foreach (var (name, value) in env) vars[name] = value;
        return AuthlyOptions.Load(name => vars.GetValueOrDefault(name));
    }

    private static AuthlyConfigurationException LoadFails(params (string Name, string? Value)[] env) =>
        Assert.Throws<AuthlyConfigurationException>(() => Load(env))!;

    private static readonly (string, string?) Testing = ("AUTHLY_MODE", "testing");

    [Test]
    public void Load_WithNothingButDatabaseUrl_UsesTheDocumentedDefaults()
    {
        var o = Load(("JWT_SECRET_KEY", Secret), ("JWT_REFRESH_SECRET_KEY", RefreshSecret));
        Assert.Multiple(() =>
        {
            Assert.That(o.Mode, Is.EqualTo(AuthlyMode.Production));
            Assert.That(o.RedisUrl, Is.Null);
            Assert.That(o.AdminUsername, Is.EqualTo("admin"));
            Assert.That(o.AdminPassword, Is.Null);
            Assert.That(o.AdminEmail, Is.EqualTo("admin@localhost"));
            Assert.That(o.RateLimitMaxRequests, Is.EqualTo(100));
            Assert.That(o.RateLimitWindowSeconds, Is.EqualTo(60));
            Assert.That(o.LockoutMaxAttempts, Is.EqualTo(10));
            Assert.That(o.LockoutDurationSeconds, Is.EqualTo(300));
            Assert.That(o.AccessTokenExpireMinutes, Is.EqualTo(60));
            Assert.That(o.RefreshTokenExpireDays, Is.EqualTo(7));
            Assert.That(o.StaleCacheSeconds, Is.EqualTo(3600));
            Assert.That(o.Issuer, Is.Null);
            Assert.That(o.AdminApiEnabled, Is.True);
            Assert.That(o.AdminApiLocalhostOnly, Is.True);
            Assert.That(o.TrustedProxies, Is.Empty);
            Assert.That(o.PasswordGrantEnabled, Is.True);
            Assert.That(o.RegistrationEnabled, Is.True);
            Assert.That(o.IntrospectionRequireAuth, Is.True);
            Assert.That(o.Warnings, Is.Empty);
            Assert.That(o.SigningAlgorithm, Is.EqualTo("RS256"));
            Assert.That(o.Argon2OpsLimit, Is.EqualTo(2));
            Assert.That(o.Argon2MemLimitKiB, Is.EqualTo(19456));
            Assert.That(o.LogLevel, Is.EqualTo("Information"));
            Assert.That(o.LogJson, Is.False);
            Assert.That(o.MigrateOnStart, Is.True);
            Assert.That(o.ClockLeewaySeconds, Is.EqualTo(60));
            Assert.That(o.ShutdownDrainSeconds, Is.EqualTo(5));
        });
    }

    private static IEnumerable<TestCaseData> EachVariable()
    {
        TestCaseData Case(string name, string value, Func<AuthlyOptions, object?> read, object? expected) =>
            new TestCaseData(name, value, read, expected).SetArgDisplayNames(name, value);
        yield return Case("REDIS_URL", "redis://cache:6380/2", o => o.RedisUrl, "redis://cache:6380/2");
        yield return Case("AUTHLY_REDIS_PREFIX", "tenant1:", o => o.RedisPrefix, "tenant1:");
        yield return Case("JWT_SECRET_KEY", Secret, o => o.JwtSecretKey, Secret);
        yield return Case("JWT_REFRESH_SECRET_KEY", RefreshSecret, o => o.JwtRefreshSecretKey, RefreshSecret);
        yield return Case("AUTHLY_ALLOW_INSECURE_DEFAULTS", "true", o => o.AllowInsecureDefaults, true);
        yield return Case("AUTHLY_ISSUER", "https://auth.example.com/", o => o.Issuer, "https://auth.example.com");
        yield return Case("AUTHLY_ACCESS_TOKEN_AUDIENCE", "https://api.example.com", o => o.AccessTokenAudience, "https://api.example.com");
        yield return Case("AUTHLY_SIGNING_ALGORITHM", "es256", o => o.SigningAlgorithm, "ES256");
        yield return Case("AUTHLY_ADMIN_USERNAME", "root", o => o.AdminUsername, "root");
        yield return Case("AUTHLY_ADMIN_PASSWORD", "Long-Enough-1", o => o.AdminPassword, "Long-Enough-1");
        yield return Case("AUTHLY_ADMIN_EMAIL", "ops@example.com", o => o.AdminEmail, "ops@example.com");
        yield return Case("RATE_LIMIT_MAX_REQUESTS", "0", o => o.RateLimitMaxRequests, 0);
        yield return Case("RATE_LIMIT_WINDOW_SECONDS", "30", o => o.RateLimitWindowSeconds, 30);
        yield return Case("AUTHLY_LOCKOUT_MAX_ATTEMPTS", "5", o => o.LockoutMaxAttempts, 5);
        yield return Case("AUTHLY_LOCKOUT_DURATION_SECONDS", "900", o => o.LockoutDurationSeconds, 900);
        yield return Case("ACCESS_TOKEN_EXPIRE_MINUTES", " 15 ", o => o.AccessTokenExpireMinutes, 15);
        yield return Case("REFRESH_TOKEN_EXPIRE_DAYS", "30", o => o.RefreshTokenExpireDays, 30);
        yield return Case("AUTHLY_STALE_CACHE_SECONDS", "0", o => o.StaleCacheSeconds, 0);
        yield return Case("AUTHLY_STALE_CACHE_SECONDS", "600", o => o.StaleCacheSeconds, 600);
        yield return Case("AUTHLY_ADMIN_API_ENABLED", "false", o => o.AdminApiEnabled, false);
        yield return Case("AUTHLY_ADMIN_API_LOCALHOST_ONLY", "no", o => o.AdminApiLocalhostOnly, false);
        yield return Case("AUTHLY_PASSWORD_GRANT_ENABLED", "0", o => o.PasswordGrantEnabled, false);
        yield return Case("AUTHLY_REGISTRATION_ENABLED", "OFF", o => o.RegistrationEnabled, false);
        yield return Case("AUTHLY_INTROSPECTION_REQUIRE_AUTH", "yes", o => o.IntrospectionRequireAuth, true);
        yield return Case("AUTHLY_MODE", "Embedded", o => o.Mode, AuthlyMode.Embedded);
        yield return Case("AUTHLY_MODE", "cli", o => o.Mode, AuthlyMode.Cli);
        yield return Case("LOG_LEVEL", "debug", o => o.LogLevel, "Debug");
        yield return Case("LOG_JSON", "1", o => o.LogJson, true);
        yield return Case("AUTHLY_ARGON2_OPSLIMIT", "3", o => o.Argon2OpsLimit, 3);
        yield return Case("AUTHLY_ARGON2_MEMLIMIT_KIB", "65536", o => o.Argon2MemLimitKiB, 65536);
        yield return Case("AUTHLY_MIGRATE_ON_START", "false", o => o.MigrateOnStart, false);
    }

    [TestCaseSource(nameof(EachVariable))]
    public void Load_ReadsEachVariable(string name, string value, Func<AuthlyOptions, object?> read, object? expected)
    {
        // Secrets are set so that modes other than embedded/testing are accepted too.
        var o = Load(("JWT_SECRET_KEY", Secret), ("JWT_REFRESH_SECRET_KEY", RefreshSecret), (name, value));
        Assert.That(read(o), Is.EqualTo(expected));
    }

    [Test]
    public void Load_TrustedProxies_TakesAddressesAndRanges()
    {
        var o = Load(Testing, ("AUTHLY_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1 fd00::/8"));
        bool Trusted(string ip) => o.TrustedProxies.Any(n => n.Contains(IPAddress.Parse(ip)));
        Assert.Multiple(() =>
        {
            Assert.That(o.TrustedProxies, Has.Count.EqualTo(3));
            Assert.That(Trusted("10.200.3.4"), Is.True);
            Assert.That(Trusted("192.168.1.1"), Is.True);
            Assert.That(Trusted("192.168.1.2"), Is.False, "a single address trusts only itself");
            Assert.That(Trusted("fd12::1"), Is.True);
            Assert.That(Trusted("203.0.113.5"), Is.False);
        });
    }

    [TestCase("   ")]
    [TestCase("")]
    public void Load_BlankValues_MeanNotSet(string blank)
    {
        var o = Load(Testing, ("REDIS_URL", blank), ("AUTHLY_ADMIN_USERNAME", blank), ("RATE_LIMIT_MAX_REQUESTS", blank), ("AUTHLY_ADMIN_API_ENABLED", blank));
        Assert.Multiple(() =>
        {
            Assert.That(o.RedisUrl, Is.Null);
            Assert.That(o.AdminUsername, Is.EqualTo("admin"));
            Assert.That(o.RateLimitMaxRequests, Is.EqualTo(100));
            Assert.That(o.AdminApiEnabled, Is.True);
        });
    }

    [TestCase("RATE_LIMIT_MAX_REQUESTS", "lots")]
    [TestCase("AUTHLY_CLOCK_LEEWAY_SECONDS", "-1")]
    [TestCase("AUTHLY_CLOCK_LEEWAY_SECONDS", "301")]
    [TestCase("AUTHLY_CLOCK_LEEWAY_SECONDS", "1m")]
    [TestCase("AUTHLY_SHUTDOWN_DRAIN_SECONDS", "-1")]
    [TestCase("AUTHLY_SHUTDOWN_DRAIN_SECONDS", "121")]
    [TestCase("AUTHLY_SHUTDOWN_DRAIN_SECONDS", "5s")]
    [TestCase("RATE_LIMIT_MAX_REQUESTS", "-1")]
    [TestCase("RATE_LIMIT_WINDOW_SECONDS", "0")]
    [TestCase("AUTHLY_LOCKOUT_MAX_ATTEMPTS", "0")]
    [TestCase("AUTHLY_LOCKOUT_DURATION_SECONDS", "5m")]
    [TestCase("ACCESS_TOKEN_EXPIRE_MINUTES", "1.5")]
    [TestCase("REFRESH_TOKEN_EXPIRE_DAYS", "99999999999")]
    [TestCase("AUTHLY_STALE_CACHE_SECONDS", "-1")]
    [TestCase("AUTHLY_STALE_CACHE_SECONDS", "1h")]
    [TestCase("AUTHLY_STALE_CACHE_SECONDS", "604801")]
    [TestCase("AUTHLY_ADMIN_API_ENABLED", "maybe")]
    [TestCase("AUTHLY_ADMIN_API_LOCALHOST_ONLY", "tru")]
    [TestCase("LOG_JSON", "json")]
    [TestCase("AUTHLY_MODE", "staging")]
    [TestCase("AUTHLY_MODE", "3")]
    [TestCase("AUTHLY_MODE", "production,testing")]
    [TestCase("AUTHLY_MODE", "embedded, cli")]
    [TestCase("AUTHLY_ISSUER", "ftp://auth.example.com")]
    [TestCase("AUTHLY_ISSUER", "https://auth.example.com/?tenant=1")]
    [TestCase("AUTHLY_ISSUER", "https://auth.example.com/#x")]
    [TestCase("AUTHLY_ISSUER", "auth.example.com")]
    [TestCase("AUTHLY_TRUSTED_PROXIES", "10.0.0.0/33")]
    [TestCase("AUTHLY_TRUSTED_PROXIES", "proxy.internal")]
    [TestCase("AUTHLY_SIGNING_ALGORITHM", "none")]
    [TestCase("LOG_LEVEL", "verbose")]
    [TestCase("REDIS_URL", "http://cache:6379")]
    [TestCase("REDIS_URL", "redis://cache:6379/db")]
    [TestCase("AUTHLY_ARGON2_MEMLIMIT_KIB", "1024")]
    [TestCase("AUTHLY_ARGON2_MEMLIMIT_KIB", "2097152")]
    [TestCase("DATABASE_URL", "not a url")]
    [TestCase("DATABASE_URL", "postgresql://host/db?sslmode=sometimes")]
    [TestCase("DATABASE_URL", "postgresql://host/db?search_path=x")]
    [TestCase("DATABASE_URL", "postgresql://:5432/db")]
    [TestCase("DATABASE_URL", "mysql://user:pw@host/db")]
    public void Load_BadValue_GivesOneMessageNamingTheVariableAndValue(string name, string value)
    {
        var e = LoadFails(Testing, (name, value));
        Assert.That(e.Problems, Has.Count.EqualTo(1), e.Message);
        Assert.That(e.Problems[0], Does.Contain(name));
        // URLs can carry a password, so those two are named but not echoed.
        if (name is not ("DATABASE_URL" or "REDIS_URL")) Assert.That(e.Problems[0], Does.Contain(value.Trim()));
    }

    [Test]
    public void Load_ShortAdminPassword_IsRefusedWithoutEchoingIt()
    {
        var e = LoadFails(Testing, ("AUTHLY_ADMIN_PASSWORD", "s3cr!t"));
        Assert.That(e.Problems, Has.Count.EqualTo(1));
        Assert.That(e.Problems[0], Does.Contain("AUTHLY_ADMIN_PASSWORD"));
        Assert.That(e.Message, Does.Not.Contain("s3cr!t"));
    }

    [Test, Description("Issue 15: the standalone image's documented AUTHLY_ADMIN_PASSWORD=admin is the operator's choice in embedded mode, said loudly")]
    public void Load_ShortAdminPassword_InEmbeddedMode_IsAcceptedWithALoudWarning()
    {
        var o = Load(("AUTHLY_MODE", "embedded"), ("AUTHLY_ADMIN_PASSWORD", "admin"), ("AUTHLY_INTROSPECTION_REQUIRE_AUTH", "true"));
        Assert.That(o.AdminPasswordIsWeak, Is.True);
        Assert.That(o.Warnings, Has.Count.EqualTo(1));
        Assert.That(o.Warnings[0], Does.StartWith("INSECURE: AUTHLY_ADMIN_PASSWORD").And.Contain("first login").And.Not.Contain("'admin'"));
    }

    [Test]
    public void Load_MissingDatabaseUrl_SaysHowToFixIt()
    {
        var e = LoadFails(Testing, ("DATABASE_URL", null));
        Assert.That(e.Problems, Has.Count.EqualTo(1));
        Assert.That(e.Problems[0], Does.Contain("DATABASE_URL").And.Contain("--embedded"));
    }

    [Test]
    public void Load_SeveralBadValues_ReportsAllOfThemAtOnce()
    {
        var e = LoadFails(("RATE_LIMIT_MAX_REQUESTS", "lots"), ("AUTHLY_ADMIN_API_ENABLED", "maybe"), ("AUTHLY_ISSUER", "ftp://x"),
            ("DATABASE_URL", "not a url"));
        Assert.That(e.Problems, Has.Count.EqualTo(5), e.Message); // the four values, and the default secrets in production
        Assert.That(e.Message, Does.Contain("RATE_LIMIT_MAX_REQUESTS").And.Contain("AUTHLY_ADMIN_API_ENABLED")
            .And.Contain("AUTHLY_ISSUER").And.Contain("DATABASE_URL").And.Contain("JWT_SECRET_KEY"));
        Assert.That(e.Message.Split('\n'), Has.Length.EqualTo(6), "a heading, then one line per problem");
    }

    [TestCase(null, Description = "AUTHLY_MODE unset means production")]
    [TestCase("production")]
    [TestCase("cli")]
    public void Load_DefaultSecretsOutsideEmbeddedOrTesting_AreRefusedWithTheReason(string? mode)
    {
        var e = LoadFails(("AUTHLY_MODE", mode));
        Assert.That(e.Problems, Has.Count.EqualTo(1));
        Assert.That(e.Problems[0], Does.Contain("JWT_SECRET_KEY").And.Contain("AUTHLY_ALLOW_INSECURE_DEFAULTS"));
    }

    [Test]
    public void Load_OnlyTheRefreshSecretLeftDefault_IsRefusedInProduction()
    {
        var e = LoadFails(("AUTHLY_MODE", "production"), ("JWT_SECRET_KEY", Secret));
        Assert.That(e.Problems.Single(), Does.Contain("JWT_REFRESH_SECRET_KEY"));
    }

    [TestCase("production", "AUTHLY_ALLOW_INSECURE_DEFAULTS", "true")]
    [TestCase("embedded", null, null)]
    [TestCase("testing", null, null)]
    public void Load_DefaultSecrets_AreAllowedWhenExplicitlyAcceptedOrLocal(string mode, string? name, string? value)
    {
        var env = new List<(string, string?)> { ("AUTHLY_MODE", mode) };
        if (name is not null) env.Add((name, value));
        var o = Load(env.ToArray());
        Assert.That(o.UsesInsecureDefaults, Is.True);
    }

    [Test]
    public void Load_ProductionWithRealSecrets_IsAccepted()
    {
        var o = Load(("AUTHLY_MODE", "production"), ("JWT_SECRET_KEY", Secret), ("JWT_REFRESH_SECRET_KEY", RefreshSecret));
        Assert.That(o.UsesInsecureDefaults, Is.False);
    }

    [TestCase("production", true)]
    [TestCase("cli", true)]
    [TestCase("embedded", false)]
    [TestCase("testing", false)]
    [Description("RFC 7662 §2.1: introspection needs caller authentication unless the server only serves its own machine")]
    public void Load_IntrospectionAuthentication_IsRequiredByDefaultOutsideEmbeddedAndTesting(string mode, bool required)
    {
        var o = Load(("AUTHLY_MODE", mode), ("JWT_SECRET_KEY", Secret), ("JWT_REFRESH_SECRET_KEY", RefreshSecret));
        Assert.That(o.IntrospectionRequireAuth, Is.EqualTo(required));
    }

    [TestCase("production", "false", "INSECURE")]
    [TestCase("cli", "false", "INSECURE")]
    [TestCase("embedded", null, "embedded mode")]
    [TestCase("embedded", "false", "embedded mode")]
    [TestCase("testing", "false", "testing mode")]
    [Description("RFC 7662 §4: open introspection is said once at start, loudly where it is a choice against the default")]
    public void Load_OpenIntrospection_GivesOneWarning(string mode, string? setting, string says)
    {
        var o = Load(("AUTHLY_MODE", mode), ("JWT_SECRET_KEY", Secret), ("JWT_REFRESH_SECRET_KEY", RefreshSecret), ("AUTHLY_INTROSPECTION_REQUIRE_AUTH", setting));
        Assert.That(o.IntrospectionRequireAuth, Is.False);
        Assert.That(o.Warnings, Has.Count.EqualTo(1));
        Assert.That(o.Warnings[0], Does.Contain(says).And.Contain("AUTHLY_INTROSPECTION_REQUIRE_AUTH"));
    }

    [TestCase("testing", null)]
    [TestCase("embedded", "true")]
    [TestCase("production", "true")]
    public void Load_IntrospectionAuthRequiredOrTestingDefault_GivesNoWarning(string mode, string? setting)
    {
        var o = Load(("AUTHLY_MODE", mode), ("JWT_SECRET_KEY", Secret), ("JWT_REFRESH_SECRET_KEY", RefreshSecret), ("AUTHLY_INTROSPECTION_REQUIRE_AUTH", setting));
        Assert.That(o.Warnings, Is.Empty);
    }

    [Test]
    public void Load_Hs256WithShortSecret_IsRefused()
    {
        var e = LoadFails(Testing, ("AUTHLY_SIGNING_ALGORITHM", "HS256"), ("JWT_SECRET_KEY", "tiny-secret"));
        Assert.That(e.Problems.Single(), Does.Contain("JWT_SECRET_KEY"));
        Assert.That(e.Message, Does.Not.Contain("tiny-secret"), "secrets are never echoed");
    }

    [Test, Description("Issue12_Finding7/8: leeway and drain can be set; embedded mode (one local process, no load balancer) does not drain by default")]
    public void Load_ClockLeewayAndShutdownDrain_AreReadAndEmbeddedDoesNotDrain()
    {
        var o = Load(Testing, ("AUTHLY_CLOCK_LEEWAY_SECONDS", "0"), ("AUTHLY_SHUTDOWN_DRAIN_SECONDS", "120"));
        Assert.That((o.ClockLeeway, o.ShutdownDrain), Is.EqualTo((TimeSpan.Zero, TimeSpan.FromMinutes(2))));
        Assert.That(Load(("AUTHLY_MODE", "embedded")).ShutdownDrainSeconds, Is.Zero);
        Assert.That(Load(("AUTHLY_MODE", "embedded"), ("AUTHLY_SHUTDOWN_DRAIN_SECONDS", "3")).ShutdownDrainSeconds, Is.EqualTo(3));
    }

    // ---- DATABASE_URL ----

    [Test]
    public void DatabaseUrl_PostgresqlUrl_FillsTheNpgsqlFields()
    {
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString("postgresql://user:p%40ss@host:5433/db?sslmode=require"));
        Assert.Multiple(() =>
        {
            Assert.That(b.Host, Is.EqualTo("host"));
            Assert.That(b.Port, Is.EqualTo(5433));
            Assert.That(b.Username, Is.EqualTo("user"));
            Assert.That(b.Password, Is.EqualTo("p@ss"));
            Assert.That(b.Database, Is.EqualTo("db"));
            Assert.That(b.SslMode, Is.EqualTo(SslMode.Require));
        });
    }

    [TestCase("postgres://u@db.internal/authly", "db.internal", 5432, "u", null, "authly")]
    [TestCase("postgresql://u:a%3Ab%2Fc@[::1]:6000/my%20db", "::1", 6000, "u", "a:b/c", "my db")]
    [TestCase("postgresql://localhost", "localhost", 5432, null, null, "postgres")]
    [TestCase("Host=h;Port=5439;Username=u;Password=pw;Database=d", "h", 5439, "u", "pw", "d")]
    public void DatabaseUrl_OtherForms_AreParsed(string url, string host, int port, string? user, string? password, string database)
    {
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(url));
        Assert.Multiple(() =>
        {
            Assert.That(b.Host, Is.EqualTo(host));
            Assert.That(b.Port, Is.EqualTo(port));
            Assert.That(b.Username, Is.EqualTo(user));
            Assert.That(b.Password, Is.EqualTo(password));
            Assert.That(b.Database, Is.EqualTo(database));
        });
    }

    [TestCase("not a url")]
    [TestCase("postgresql://")]
    [TestCase("postgresql://host:notaport/db")]
    [TestCase("postgresql://host/db?sslmode=sometimes")]
    [TestCase("Host=h;NoSuchKeyword=1")]
    public void DatabaseUrl_Garbage_IsRefusedWithFormatException(string url)
    {
        Assert.Throws<FormatException>(() => DatabaseUrl.ToConnectionString(url));
    }

    [TestCase(null, false)]
    [TestCase("true", true)]
    [TestCase("1", true)]
    [TestCase("false", false)]
    [Description("Issue 13: AUTHLY_ACCESS_LOG is read here, like every setting; off unless set")]
    public void Load_AccessLog_IsABooleanOffByDefault(string? value, bool expected) =>
        Assert.That(Load(Testing, ("AUTHLY_ACCESS_LOG", value)).AccessLog, Is.EqualTo(expected));

    [Test, Description("Issue 13: a bad AUTHLY_ACCESS_LOG is one clear message at startup, not silently off")]
    public void Load_AccessLogNotABoolean_NamesTheSetting() =>
        Assert.That(LoadFails(Testing, ("AUTHLY_ACCESS_LOG", "maybe")).Problems, Has.One.Contains("AUTHLY_ACCESS_LOG='maybe' is not a boolean"));

    [Test, Description("Issue 13: the vault commands read the vault keys with the same parser and messages as the server")]
    public void LoadVaultKeys_WithABadPreviousKey_GivesTheServersMessage()
    {
        var env = new Dictionary<string, string?> { ["AUTHLY_VAULT_ENCRYPTION_KEY"] = new string('a', 64), ["AUTHLY_VAULT_PREVIOUS_KEYS"] = new string('b', 64) + ",xyz" };
        var e = Assert.Throws<AuthlyConfigurationException>(() => AuthlyOptions.LoadVaultKeys(env.GetValueOrDefault))!;
        Assert.That(e.Problems, Is.EqualTo(new[] { "AUTHLY_VAULT_PREVIOUS_KEYS: key #2 must be 64 hexadecimal characters; it has 3." }));
        var keys = AuthlyOptions.LoadVaultKeys(new Dictionary<string, string?> { ["AUTHLY_VAULT_ENCRYPTION_KEY"] = new string('A', 64) }.GetValueOrDefault);
        Assert.That(keys.Current, Is.EqualTo(new string('a', 64)));
        Assert.That(keys.Previous, Is.Empty);
    }
}
