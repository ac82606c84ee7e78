using Authly.Configuration;
using Authly.Embedded;
using Authly.Security;
using Authly.Storage;
using Authly.Tests.Cli;
using Authly.Tests.Infrastructure;
using StackExchange.Redis;

namespace Authly.Tests.Attacks;

/// <summary>
/// Storage exposure: another account on the same machine, a log collector, or anyone who reads a
/// terminal's scrollback must not get Authly's data or the credentials to its services. The
/// embedded data directory is the owner's alone (PostgreSQL's files, Redis's append-only file,
/// which holds a login:&lt;name&gt; key for every username tried, and the generated secrets); the
/// `serve --embedded` banner says where the credentials are instead of printing them. And the
/// secret every other key derives from (JWT_SECRET_KEY: the CSRF key, the key that seals signing
/// keys, HS256) must be long enough not to be guessed offline.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class StorageExposureAttacks
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode ReadableOrWritableByOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
    private string _dir = null!;

    [SetUp] public void CreateDirectory() => _dir = Path.Combine(Path.GetTempPath(), "authly-exposure-" + Guid.NewGuid().ToString("N")[..8]);

    [TearDown]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Test, Description("RFC 6819 §5.1.4.1 (credentials and databases at rest): embedded data 0700, files 0600, no passwords in the banner")]
    public async Task EmbeddedServe_KeepsDataAndCredentialsFromOtherUsers_AndItsBannerShowsNoPassword()
    {
        var env = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = null, ["REDIS_URL"] = null, ["AUTHLY_MODE"] = null, ["JWT_SECRET_KEY"] = null, ["JWT_REFRESH_SECRET_KEY"] = null,
            ["AUTHLY_ADMIN_PASSWORD"] = AuthlyApp.AdminPassword, ["AUTHLY_ARGON2_OPSLIMIT"] = "1", ["AUTHLY_ARGON2_MEMLIMIT_KIB"] = "8192",
            ["LOG_LEVEL"] = "Warning", ["AUTHLY_ACCESS_LOG"] = "false", ["AUTHLY_VAULT_ENCRYPTION_KEY"] = null,
        };
        await using var serve = await ServeProcess.StartAsync(env, "--embedded", "--data-dir", _dir);
        // A failed login leaves login:<name> in Redis, i.e. in its append-only file.
        using var http = new HttpClient();
        await http.PostAsync(serve.Url + "/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "password"),
            ("username", "someone-" + Guid.NewGuid().ToString("N")[..6]), ("password", "wrong-password")));

        // Files Redis creates later (an AOF rewrite) must be as closed as the first ones.
        var secrets = Path.Combine(_dir, "authly");
        var port = int.Parse(File.ReadLines(Path.Combine(_dir, "redis", "redis.conf")).First(l => l.StartsWith("port ")).Split(' ')[1]);
        var options = RedisUrl.Parse($"redis://:{Uri.EscapeDataString(File.ReadAllText(Path.Combine(secrets, "redis.password")).Trim())}@127.0.0.1:{port}");
        options.AllowAdmin = true;
        using (var redis = await ConnectionMultiplexer.ConnectAsync(options))
        {
            var server = redis.GetServer(redis.GetEndPoints().Single());
            await redis.GetDatabase().ExecuteAsync("BGREWRITEAOF");
            Assert.That(await Eventually.TrueAsync(async () =>
            {
                var info = (await server.InfoAsync("persistence")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
                return info["aof_rewrite_in_progress"] == "0" && info["aof_rewrite_scheduled"] == "0";
            }, TimeSpan.FromSeconds(30)), Is.True, "the AOF rewrite did not finish");
        }

        // Checked while everything runs: sockets, pid and lock files count too.
        var output = serve.Output;
        var dataDir = File.GetUnixFileMode(_dir);
        Assert.Multiple(() =>
        {
            // As root, PostgreSQL runs as the postgres system user, which must pass through (x) the
            // data directory to its own 0700 cluster: only its group gets that, and nothing else.
            if (ChildProcessIsRoot()) Assert.That(dataDir, Is.EqualTo(OwnerOnlyDirectory | UnixFileMode.GroupExecute), "data dir (root)");
            else Assert.That(dataDir, Is.EqualTo(OwnerOnlyDirectory), "data dir");
            foreach (var dir in Directory.EnumerateDirectories(_dir, "*", SearchOption.AllDirectories))
                Assert.That(File.GetUnixFileMode(dir), Is.EqualTo(OwnerOnlyDirectory), dir);
            foreach (var file in Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories))
                Assert.That(File.GetUnixFileMode(file) & ReadableOrWritableByOthers, Is.EqualTo((UnixFileMode)0), file);
            Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "redis", "appendonlydir")), Is.Not.Empty, "Redis wrote no append-only file");

            var credentials = Path.Combine(_dir, "authly", "credentials.env");
            Assert.That(File.Exists(credentials), Is.True, "no credentials file");
            if (File.Exists(credentials))
            {
                Assert.That(File.GetUnixFileMode(credentials), Is.EqualTo(OwnerOnlyFile));
                Assert.That(output, Does.Contain(credentials), "the banner should say where the credentials are");
            }
            foreach (var secret in new[] { "postgres.password", "redis.password", "jwt.secret", "jwt-refresh.secret" })
                Assert.That(output, Does.Not.Contain(File.ReadAllText(Path.Combine(_dir, "authly", secret)).Trim()), $"the output shows {secret}");
        });
    }

    private static bool ChildProcessIsRoot() => Environment.UserName == "root";

    [TestCase("production")]
    [TestCase("embedded")]
    [TestCase("cli")]
    [Description("JWT_SECRET_KEY derives the CSRF key and the key sealing the signing keys: at least 32 characters outside testing")]
    public void ShortJwtSecret_IsRefusedOutsideTestingMode(string mode)
    {
        var e = Assert.Throws<AuthlyConfigurationException>(() => AuthlyOptions.Load(name => name switch
        {
            "AUTHLY_MODE" => mode, "DATABASE_URL" => "postgresql://u:p@localhost/db",
            "JWT_SECRET_KEY" => new string('k', 31), "JWT_REFRESH_SECRET_KEY" => OpaqueToken.New(32),
            _ => null,
        }));
        Assert.That(e!.Problems, Has.Some.Matches<string>(p => p.Contains("JWT_SECRET_KEY") && p.Contains("32")), e.Message);
        Assert.That(e.Message, Does.Not.Contain(new string('k', 31)), "a secret is never quoted back");
    }

    [Test, Description("Testing mode keeps short secrets usable for fixtures; 32 characters pass everywhere")]
    public void JwtSecretOf32Characters_IsAccepted_AndTestingModeTakesShortOnes()
    {
        AuthlyOptions Load(string mode, string secret) => AuthlyOptions.Load(name => name switch
        {
            "AUTHLY_MODE" => mode, "DATABASE_URL" => "postgresql://u:p@localhost/db",
            "JWT_SECRET_KEY" => secret, "JWT_REFRESH_SECRET_KEY" => OpaqueToken.New(32), _ => null,
        });
        Assert.That(Load("production", new string('k', 32)).JwtSecretKey, Has.Length.EqualTo(32));
        Assert.That(Load("testing", "short").JwtSecretKey, Is.EqualTo("short"));
    }
}
