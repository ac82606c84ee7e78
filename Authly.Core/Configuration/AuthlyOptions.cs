using System.Net;

namespace Authly.Configuration;

/// <summary>
/// Every setting Authly reads, with its default, parsed and checked once at startup from the
/// environment names in API.md. Bad values are collected so one start reports all of them.
/// </summary>
public sealed record AuthlyOptions
{
    /// <summary>Shipped defaults for the secrets: fine for a laptop, refused in production.</summary>
    public const string InsecureDefaultSecret = "insecure-default-change-me-authly-jwt-secret";
    public const string InsecureDefaultRefreshSecret = "insecure-default-change-me-authly-refresh-secret";

    public AuthlyMode Mode { get; init; } = AuthlyMode.Production;
    public required string DatabaseUrl { get; init; }
    public string? RedisUrl { get; init; }
    public string RedisPrefix { get; init; } = "authly:";
    public string JwtSecretKey { get; init; } = InsecureDefaultSecret;
    public string JwtRefreshSecretKey { get; init; } = InsecureDefaultRefreshSecret;
    public bool AllowInsecureDefaults { get; init; }
    public string? Issuer { get; init; }
    public string? AccessTokenAudience { get; init; }
    public string SigningAlgorithm { get; init; } = "RS256";

    public string AdminUsername { get; init; } = "admin";
    public string? AdminPassword { get; init; }
    public string AdminEmail { get; init; } = "admin@localhost";
    public const int MinimumAdminPasswordLength = 8;
    /// <summary>An AUTHLY_ADMIN_PASSWORD below the length rule: only embedded mode accepts one, and the admin created with it must change it.</summary>
    public bool AdminPasswordIsWeak => AdminPassword is { Length: < MinimumAdminPasswordLength };

    public int RateLimitMaxRequests { get; init; } = 100;
    public int RateLimitWindowSeconds { get; init; } = 60;
    public int LockoutMaxAttempts { get; init; } = 10;
    /// <summary>Password attempts per client address (across usernames) before the address is locked out.</summary>
    public int LockoutIpMaxAttempts { get; init; } = 100;
    public int LockoutDurationSeconds { get; init; } = 300;
    public int AccessTokenExpireMinutes { get; init; } = 60;
    public int RefreshTokenExpireDays { get; init; } = 7;
    /// <summary>AUTHLY_CLOCK_LEEWAY_SECONDS: how far in the future nbf/iat of our JWTs may lie (another node's clock); none on exp (<see cref="Tokens.TokenLifetime"/>).</summary>
    public int ClockLeewaySeconds { get; init; } = Tokens.TokenLifetime.DefaultLeewaySeconds;
    /// <summary>AUTHLY_SHUTDOWN_DRAIN_SECONDS: on SIGTERM, /health/ready answers 503 and the listener keeps serving this long before the server stops.</summary>
    public int ShutdownDrainSeconds { get; init; } = 5;
    /// <summary>
    /// AUTHLY_REFRESH_RETRY_GRACE_SECONDS: how long the client that rotated a refresh token may present it again and get the
    /// same answer (a retry after a lost response) instead of reuse detection; 0 turns it off. Measured on the database clock.
    /// </summary>
    public int RefreshRetryGraceSeconds { get; init; } = 10;
    /// <summary>How long a cache (clients, scopes, signing keys, vault providers) may serve its last good value while PostgreSQL is unreachable.</summary>
    public int StaleCacheSeconds { get; init; } = 3600;
    public TimeSpan StaleCacheFor => TimeSpan.FromSeconds(StaleCacheSeconds);
    /// <summary>AUTHLY_SWEEP_INTERVAL_SECONDS: how often each node offers to delete expired rows (<see cref="Storage.ExpiredRowSweeper"/>); 0 turns the sweeper off.</summary>
    public int SweepIntervalSeconds { get; init; } = 60;
    /// <summary>AUTHLY_KEY_ROTATION_DAYS: how long a signing key signs before the next one takes over (<see cref="Tokens.SigningKeyRotation"/>); 0 turns automatic rotation off.</summary>
    public int KeyRotationDays { get; init; } = 90;
    // Issue 17, RFC 9449 (DPoP).
    /// <summary>AUTHLY_DPOP_NONCE: proofs must carry a server nonce (RFC 9449 §8/§9); off by default.</summary>
    public bool DpopNonce { get; init; }
    /// <summary>AUTHLY_DPOP_IAT_WINDOW_SECONDS: how far a proof's iat may lie from our clock, either way (RFC 9449 §11.1).</summary>
    public int DpopIatWindowSeconds { get; init; } = 60;
    public TimeSpan DpopIatWindow => TimeSpan.FromSeconds(DpopIatWindowSeconds);

    public bool AdminApiEnabled { get; init; } = true;
    public bool AdminApiLocalhostOnly { get; init; } = true;
    public IReadOnlyList<IPNetwork> TrustedProxies { get; init; } = [];
    public bool PasswordGrantEnabled { get; init; } = true;
    /// <summary>Every admin must pass a second factor (and enrol one at the next login): issue 16.</summary>
    public bool RequireMfaForAdmins { get; init; }
    public bool RegistrationEnabled { get; init; } = true;
    /// <summary>Issue 18, AUTHLY_REGISTRATION: RFC 7591 dynamic client registration (closed, token or open).</summary>
    public Clients.ClientRegistrationMode ClientRegistration { get; init; } = Clients.ClientRegistrationMode.Token;
    /// <summary>
    /// RFC 7662 §2.1 caller authentication for /introspect. AUTHLY_INTROSPECTION_REQUIRE_AUTH;
    /// the default is true except in embedded and testing mode.
    /// </summary>
    public bool IntrospectionRequireAuth { get; init; } = true;

    /// <summary>Argon2id cost. Defaults follow OWASP's minimum: m=19 MiB, t=2.</summary>
    public int Argon2OpsLimit { get; init; } = 2;
    public int Argon2MemLimitKiB { get; init; } = 19456;

    public string LogLevel { get; init; } = "Information";
    public bool LogJson { get; init; }
    /// <summary>AUTHLY_ACCESS_LOG: one log line per request (method, path without query, status, time). Off unless set.</summary>
    public bool AccessLog { get; init; }
    public bool MigrateOnStart { get; init; } = true;

    /// <summary>AUTHLY_VAULT_ENCRYPTION_KEY: 64 hex characters; wraps the token vault's data keys.</summary>
    public string? VaultEncryptionKey { get; init; }
    /// <summary>AUTHLY_VAULT_PREVIOUS_KEYS: earlier vault keys (comma-separated), still read during a rotation.</summary>
    public IReadOnlyList<string> VaultPreviousKeys { get; init; } = [];

    // Issue 17 part 1 (PAR, FAPI 2.0).
    /// <summary>AUTHLY_REQUIRE_PAR: every client's authorization requests must be pushed (RFC 9126 §5); per client: require_pushed_authorization_requests.</summary>
    public bool RequirePushedAuthorizationRequests { get; init; }
    /// <summary>AUTHLY_PROFILE: null, or "fapi2" (the FAPI 2.0 Security Profile for every client, <see cref="Clients.Fapi2Profile"/>).</summary>
    public string? Profile { get; init; }

    /// <summary>Settings that are allowed but unsafe: logged once at startup (<see cref="AuthlyStartup"/>).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>JWT_SECRET_KEY's minimum length outside testing mode (it is 256 bits of randomness as hex or base64).</summary>
    public const int MinimumSecretLength = 32;

    public TimeSpan AccessTokenLifetime => TimeSpan.FromMinutes(AccessTokenExpireMinutes);
    public TimeSpan RefreshTokenLifetime => TimeSpan.FromDays(RefreshTokenExpireDays);
    public TimeSpan ClockLeeway => TimeSpan.FromSeconds(ClockLeewaySeconds);
    public TimeSpan ShutdownDrain => TimeSpan.FromSeconds(ShutdownDrainSeconds);
    public TimeSpan RefreshRetryGrace => TimeSpan.FromSeconds(RefreshRetryGraceSeconds);
    public TimeSpan KeyRotationPeriod => TimeSpan.FromDays(KeyRotationDays);

    public bool UsesInsecureDefaults =>
        JwtSecretKey == InsecureDefaultSecret || JwtRefreshSecretKey == InsecureDefaultRefreshSecret;

    /// <summary>Reads and validates the configuration; throws with every problem found.</summary>
    public static AuthlyOptions Load(Func<string, string?> get)
    {
        var problems = new List<string>();
        var reader = new Reader(get, problems);

        var mode = reader.Enum("AUTHLY_MODE", AuthlyMode.Production);
        var modeIsValid = problems.Count == 0;
        var databaseUrl = get("DATABASE_URL");
        if (string.IsNullOrWhiteSpace(databaseUrl))
            problems.Add("DATABASE_URL is not set. Give a URL like postgresql://user:pass@localhost:5432/authly, or run 'authly serve --embedded'.");
        else
        {
            try { _ = Storage.DatabaseUrl.ToConnectionString(databaseUrl); }
            catch (FormatException e) { problems.Add($"DATABASE_URL is not valid: {e.Message}"); }
        }

        var redisUrl = Blank(get("REDIS_URL"));
        if (redisUrl is not null)
        {
            try { _ = Storage.RedisUrl.Parse(redisUrl); }
            catch (FormatException e) { problems.Add($"REDIS_URL is not valid: {e.Message}"); }
        }

        var options = new AuthlyOptions
        {
            Mode = mode,
            DatabaseUrl = databaseUrl ?? "",
            RedisUrl = redisUrl,
            RedisPrefix = Blank(get("AUTHLY_REDIS_PREFIX")) ?? "authly:",
            JwtSecretKey = Blank(get("JWT_SECRET_KEY")) ?? InsecureDefaultSecret,
            JwtRefreshSecretKey = Blank(get("JWT_REFRESH_SECRET_KEY")) ?? InsecureDefaultRefreshSecret,
            AllowInsecureDefaults = reader.Bool("AUTHLY_ALLOW_INSECURE_DEFAULTS", false),
            Issuer = reader.Url("AUTHLY_ISSUER"),
            AccessTokenAudience = Blank(get("AUTHLY_ACCESS_TOKEN_AUDIENCE")),
            SigningAlgorithm = reader.OneOf("AUTHLY_SIGNING_ALGORITHM", "RS256", "RS256", "ES256", "HS256"),
            AdminUsername = Blank(get("AUTHLY_ADMIN_USERNAME")) ?? "admin",
            AdminPassword = Blank(get("AUTHLY_ADMIN_PASSWORD")),
            AdminEmail = Blank(get("AUTHLY_ADMIN_EMAIL")) ?? "admin@localhost",
            RateLimitMaxRequests = reader.Int("RATE_LIMIT_MAX_REQUESTS", 100, 0, 10_000_000),
            RateLimitWindowSeconds = reader.Int("RATE_LIMIT_WINDOW_SECONDS", 60, 1, 86_400),
            LockoutMaxAttempts = reader.Int("AUTHLY_LOCKOUT_MAX_ATTEMPTS", 10, 1, 1000),
            LockoutIpMaxAttempts = reader.Int("AUTHLY_LOCKOUT_IP_MAX_ATTEMPTS", 100, 1, 1_000_000),
            LockoutDurationSeconds = reader.Int("AUTHLY_LOCKOUT_DURATION_SECONDS", 300, 1, 86_400 * 30),
            AccessTokenExpireMinutes = reader.Int("ACCESS_TOKEN_EXPIRE_MINUTES", 60, 1, 60 * 24),
            RefreshTokenExpireDays = reader.Int("REFRESH_TOKEN_EXPIRE_DAYS", 7, 1, 365),
            ClockLeewaySeconds = reader.Int("AUTHLY_CLOCK_LEEWAY_SECONDS", Tokens.TokenLifetime.DefaultLeewaySeconds, 0, Tokens.TokenLifetime.MaxLeewaySeconds),
            // Embedded: one local process and no load balancer to leave, so Ctrl+C stops at once.
            ShutdownDrainSeconds = reader.Int("AUTHLY_SHUTDOWN_DRAIN_SECONDS", mode == AuthlyMode.Embedded ? 0 : 5, 0, 120),
            // Kept short: within it a thief replaying a just-rotated token gets the same tokens instead of burning the family.
            RefreshRetryGraceSeconds = reader.Int("AUTHLY_REFRESH_RETRY_GRACE_SECONDS", 10, 0, 300),
            StaleCacheSeconds = reader.Int("AUTHLY_STALE_CACHE_SECONDS", 3600, 0, 86_400 * 7),
            SweepIntervalSeconds = reader.Int("AUTHLY_SWEEP_INTERVAL_SECONDS", 60, 0, 86_400),
            KeyRotationDays = reader.Int("AUTHLY_KEY_ROTATION_DAYS", 90, 0, 3650),
            DpopNonce = reader.Bool("AUTHLY_DPOP_NONCE", false),
            DpopIatWindowSeconds = reader.Int("AUTHLY_DPOP_IAT_WINDOW_SECONDS", 60, 5, 600),
            AdminApiEnabled = reader.Bool("AUTHLY_ADMIN_API_ENABLED", true),
            AdminApiLocalhostOnly = reader.Bool("AUTHLY_ADMIN_API_LOCALHOST_ONLY", true),
            TrustedProxies = reader.Networks("AUTHLY_TRUSTED_PROXIES"),
            PasswordGrantEnabled = reader.Bool("AUTHLY_PASSWORD_GRANT_ENABLED", true),
            RequireMfaForAdmins = reader.Bool("AUTHLY_REQUIRE_MFA_FOR_ADMINS", false),
            RegistrationEnabled = reader.Bool("AUTHLY_REGISTRATION_ENABLED", true),
            ClientRegistration = reader.Enum("AUTHLY_REGISTRATION", Clients.ClientRegistrationMode.Token),
            // RFC 7662 §2.1/§4: required, except where the server only serves its own machine's tools.
            IntrospectionRequireAuth = reader.Bool("AUTHLY_INTROSPECTION_REQUIRE_AUTH", mode is not (AuthlyMode.Embedded or AuthlyMode.Testing)),
            Argon2OpsLimit = reader.Int("AUTHLY_ARGON2_OPSLIMIT", 2, 1, 20),
            Argon2MemLimitKiB = reader.Int("AUTHLY_ARGON2_MEMLIMIT_KIB", 19456, 8192, 2 * 1024 * 1024 - 1), // under 2 GiB: Geralt takes bytes as an int
            LogLevel = reader.OneOf("LOG_LEVEL", "Information", "Trace", "Debug", "Information", "Warning", "Error", "Critical"),
            LogJson = reader.Bool("LOG_JSON", false),
            AccessLog = reader.Bool("AUTHLY_ACCESS_LOG", false),
            MigrateOnStart = reader.Bool("AUTHLY_MIGRATE_ON_START", true),
            VaultEncryptionKey = reader.HexKey("AUTHLY_VAULT_ENCRYPTION_KEY"),
            VaultPreviousKeys = reader.HexKeys("AUTHLY_VAULT_PREVIOUS_KEYS"),
            RequirePushedAuthorizationRequests = reader.Bool("AUTHLY_REQUIRE_PAR", false),
            Profile = reader.OneOf("AUTHLY_PROFILE", "none", "none", Clients.Fapi2Profile.Name) is var profile && profile == "none" ? null : profile,
        };

        if (options.AdminUsername.Length > 64)
            problems.Add("AUTHLY_ADMIN_USERNAME is longer than 64 characters.");
        // Embedded (a development server on this machine) takes the operator's explicit short choice, e.g. the standalone
        // image's documented AUTHLY_ADMIN_PASSWORD=admin, with a loud warning and a forced change at first login.
        if (options.AdminPassword is { Length: < MinimumAdminPasswordLength } && mode != AuthlyMode.Embedded)
            problems.Add($"AUTHLY_ADMIN_PASSWORD must be at least {MinimumAdminPasswordLength} characters (shorter ones are accepted in embedded mode only).");
        // JWT_SECRET_KEY keys HS256 and derives the CSRF key and the key that seals the signing keys:
        // a short one can be guessed offline from any CSRF token or HS256 token. Testing mode only
        // keeps short fixture secrets usable. The value is never quoted back.
        if (modeIsValid && mode != AuthlyMode.Testing && options.JwtSecretKey.Length < MinimumSecretLength)
            problems.Add($"JWT_SECRET_KEY must be at least {MinimumSecretLength} characters (it has {options.JwtSecretKey.Length}): it derives the CSRF " +
                         "and signing-key encryption keys. Generate one with 'openssl rand -hex 32'.");
        else if (options.SigningAlgorithm == "HS256" && options.JwtSecretKey.Length < MinimumSecretLength)
            problems.Add("AUTHLY_SIGNING_ALGORITHM=HS256 needs a JWT_SECRET_KEY of at least 32 characters.");

        // FAPI 2.0 Security Profile §5.4: PS256, ES256 or EdDSA only. Authly signs with ES256 of those.
        if (options.Profile == Clients.Fapi2Profile.Name && options.SigningAlgorithm != "ES256")
            problems.Add($"AUTHLY_PROFILE=fapi2 needs AUTHLY_SIGNING_ALGORITHM=ES256: the FAPI 2.0 Security Profile forbids {options.SigningAlgorithm} " +
                         "(only PS256, ES256 and EdDSA are allowed, and Authly signs with ES256 of those).");

        // Outside embedded/testing the shipped secrets would let anyone who read this source forge keys.
        // With a bad AUTHLY_MODE the intended mode is unknown: that one message is enough.
        if (modeIsValid && options.UsesInsecureDefaults && mode is AuthlyMode.Production or AuthlyMode.Cli && !options.AllowInsecureDefaults)
            problems.Add("JWT_SECRET_KEY and JWT_REFRESH_SECRET_KEY must be set to secret random values in production " +
                         "(e.g. 'openssl rand -hex 32'); the shipped defaults are public. " +
                         "Set AUTHLY_ALLOW_INSECURE_DEFAULTS=true only for a throwaway setup, or use AUTHLY_MODE=embedded.");

        if (problems.Count > 0) throw new AuthlyConfigurationException(problems);
        return options with { Warnings = Warn(options, explicitIntrospection: Blank(get("AUTHLY_INTROSPECTION_REQUIRE_AUTH")) is not null) };
    }

    /// <summary>
    /// Only the vault keys, for the vault commands that need no other setting: the same parse and the same
    /// messages as <see cref="Load"/>. Throws with every problem; never quotes a key.
    /// </summary>
    public static (string? Current, IReadOnlyList<string> Previous) LoadVaultKeys(Func<string, string?> get)
    {
        var problems = new List<string>();
        var reader = new Reader(get, problems);
        var keys = (reader.HexKey("AUTHLY_VAULT_ENCRYPTION_KEY"), reader.HexKeys("AUTHLY_VAULT_PREVIOUS_KEYS"));
        if (problems.Count > 0) throw new AuthlyConfigurationException(problems);
        return keys;
    }

    private static List<string> Warn(AuthlyOptions o, bool explicitIntrospection)
    {
        var warnings = new List<string>();
        if (o.AdminPasswordIsWeak)
            warnings.Add($"INSECURE: AUTHLY_ADMIN_PASSWORD is shorter than {MinimumAdminPasswordLength} characters. Accepted because this is embedded " +
                         "(development) mode; a new admin account created with it must change it at first login. Never expose this server.");
        if (!o.IntrospectionRequireAuth && o.Mode is AuthlyMode.Production or AuthlyMode.Cli)
            warnings.Add("INSECURE: AUTHLY_INTROSPECTION_REQUIRE_AUTH=false in production mode. Anyone who can reach /api/v1/oauth/introspect " +
                         "can test stolen or guessed tokens and read whose they are and what they allow (RFC 7662 §2.1 and §4 require " +
                         "authentication). Remove the setting and give resource servers a confidential client or a token with the 'introspect' scope.");
        else if (!o.IntrospectionRequireAuth && (o.Mode == AuthlyMode.Embedded || explicitIntrospection))
            warnings.Add($"Introspection answers unauthenticated callers ({o.Mode.ToString().ToLowerInvariant()} mode; rate limited per address). " +
                         "Before this server is reachable by others, set AUTHLY_INTROSPECTION_REQUIRE_AUTH=true or run it in production mode.");
        if (o.ClientRegistration == Clients.ClientRegistrationMode.Open && o.Mode is AuthlyMode.Production or AuthlyMode.Cli)
            warnings.Add("AUTHLY_REGISTRATION=open: anyone who can reach /api/v1/oauth/register can create clients (rate limited, never with " +
                         "privileged scopes). Use AUTHLY_REGISTRATION=token and hand out initial access tokens unless that is what you want.");
        if (o.KeyRotationDays == 0 && o.SigningAlgorithm != "HS256")
            warnings.Add("AUTHLY_KEY_ROTATION_DAYS=0: signing keys are never rotated automatically. A key that signs for years is a key whose " +
                         "leak forges tokens for years; rotate with 'authly admin keys rotate' or set a schedule (default 90 days).");
        return warnings;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private sealed class Reader(Func<string, string?> get, List<string> problems)
    {
        public bool Bool(string name, bool fallback)
        {
            var raw = Blank(get(name));
            if (raw is null) return fallback;
            switch (raw.ToLowerInvariant())
            {
                case "true" or "1" or "yes" or "on": return true;
                case "false" or "0" or "no" or "off": return false;
                default:
                    problems.Add($"{name}='{raw}' is not a boolean (use true or false).");
                    return fallback;
            }
        }

        public int Int(string name, int fallback, int min, int max)
        {
            var raw = Blank(get(name));
            if (raw is null) return fallback;
            if (int.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v)
                && v >= min && v <= max)
                return v;
            problems.Add($"{name}='{raw}' must be a whole number from {min} to {max}.");
            return fallback;
        }

        public T Enum<T>(string name, T fallback) where T : struct, System.Enum
        {
            var raw = Blank(get(name));
            if (raw is null) return fallback;
            // Names only: Enum.TryParse would also take numbers and comma lists ("production,testing" is Testing).
            var match = System.Enum.GetNames<T>().FirstOrDefault(n => n.Equals(raw, StringComparison.OrdinalIgnoreCase));
            if (match is not null) return System.Enum.Parse<T>(match);
            problems.Add($"{name}='{raw}' must be one of: {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");
            return fallback;
        }

        public string OneOf(string name, string fallback, params string[] allowed)
        {
            var raw = Blank(get(name));
            if (raw is null) return fallback;
            var match = allowed.FirstOrDefault(a => a.Equals(raw, StringComparison.OrdinalIgnoreCase));
            if (match is not null) return match;
            problems.Add($"{name}='{raw}' must be one of: {string.Join(", ", allowed)}.");
            return fallback;
        }

        public string? Url(string name)
        {
            var raw = Blank(get(name));
            if (raw is null) return null;
            // RFC 8414 §2: the issuer is an https (or, for development, http) URL with no query or fragment.
            if (Uri.TryCreate(raw, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"
                && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment))
                return raw.TrimEnd('/');
            problems.Add($"{name}='{raw}' must be an absolute http(s) URL without query or fragment.");
            return null;
        }

        /// <summary>A 256-bit key as 64 hex characters. The value is a secret: problems never quote it.</summary>
        public string? HexKey(string name)
        {
            var raw = Blank(get(name));
            if (raw is null) return null;
            if (Vault.VaultKeyRing.IsValidHexKey(raw)) return raw.ToLowerInvariant();
            problems.Add($"{name} must be 64 hexadecimal characters (a 32-byte key, e.g. from 'openssl rand -hex 32'); " +
                         $"the value given has {raw.Length} characters{(raw.All(Uri.IsHexDigit) ? "" : " and is not hexadecimal")}.");
            return null;
        }

        public IReadOnlyList<string> HexKeys(string name)
        {
            var raw = Blank(get(name));
            if (raw is null) return [];
            var keys = new List<string>();
            var parts = raw.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries);
            for (var i = 0; i < parts.Length; i++)
            {
                if (Vault.VaultKeyRing.IsValidHexKey(parts[i])) keys.Add(parts[i].ToLowerInvariant());
                else problems.Add($"{name}: key #{i + 1} must be 64 hexadecimal characters; it has {parts[i].Length}.");
            }
            return keys;
        }

        public IReadOnlyList<IPNetwork> Networks(string name)
        {
            var raw = Blank(get(name));
            if (raw is null) return [];
            var list = new List<IPNetwork>();
            foreach (var part in raw.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries))
            {
                if (IPNetwork.TryParse(part, out var net)) list.Add(net);
                else if (IPAddress.TryParse(part, out var ip)) list.Add(new IPNetwork(ip, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
                else problems.Add($"{name}: '{part}' is not an IP address or CIDR range.");
            }
            return list;
        }
    }
}
