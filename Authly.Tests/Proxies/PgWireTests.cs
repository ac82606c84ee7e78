using System.Diagnostics;
using System.Net.Sockets;
using Authly.Embedded;
using Authly.Proxy;
using Authly.Server.Proxy;
using Authly.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Tests.Proxies;

/// <summary>
/// The PostgreSQL wire listener with real clients: psql (simple query protocol, as a user would type)
/// and Npgsql (extended protocol, binary parameters and results). The password is an Authly access
/// token, and every statement goes through the same classifier and scope rules as POST /query.
/// </summary>
[TestFixture]
public sealed class PgWireTests
{
    private AuthlyApp _authly = null!;
    private ProxyServer _proxy = null!;
    private string _target = "";
    private string _readToken = "";
    private string _writeToken = "";

    private const string TypesQuery = "SELECT i, t, b, ts, n, nul, bytes, ints, words, f, d, span FROM typed ORDER BY i";

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _target = await DatabaseServer.CreateEmptyDatabaseAsync();
        await using (var conn = new NpgsqlConnection(_target + ";Pooling=false"))
        {
            await conn.OpenAsync();
            await conn.ExecuteAsync("""
                CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL);
                CREATE TABLE typed (i int, t text, b bool, ts timestamptz, n numeric, nul text, bytes bytea, ints int[], words text[], f float8, d date, span interval);
                INSERT INTO typed VALUES
                  (1, 'one', true, '2024-01-02 03:04:05.5+00', 12.50, NULL, '\x0102ff', '{1,2,3}', '{"a b",NULL,"x\"y",plain}', 0.1, '2024-02-29', '25 hours'),
                  (2, 'två', false, '1999-12-31 23:59:59+00', -0.001, NULL, '', '{}', '{}', 1e20, '2000-01-01', '-1 year 2 days 00:00:01.5'),
                  (3, '', NULL, NULL, 1e-3, NULL, NULL, NULL, NULL, 'NaN', NULL, NULL);
                """);
        }
        var login = await ProxyRoles.LoginAsync(_target);
        await ProxyRoles.GrantTablesAsync(_target);
        _authly = await AuthlyApp.StartAsync();
        _proxy = await ProxyServer.StartAsync("postgres", new ProxyOptions
        {
            AuthlyUrl = AuthlyApp.Issuer, Port = 0, WirePort = 0, DatabaseUrl = login, DatabaseRole = ProxyRoles.Role,
            StatementTimeout = TimeSpan.FromSeconds(5),
        }, authlyHttp: _authly.CreateClient(), logLevel: LogLevel.Warning);

        var reader = await _authly.CreateUserAsync();
        _readToken = AuthlyApp.Str(await _authly.PasswordTokenAsync(reader.Username, reader.Password, "database:read"), "access_token");
        var writer = await _authly.CreateUserAsync();
        _writeToken = AuthlyApp.Str(await _authly.PasswordTokenAsync(writer.Username, writer.Password, "database:read database:write"), "access_token");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _proxy.DisposeAsync();
        await _authly.DisposeAsync();
    }

    private int WirePort => _proxy.WirePort!.Value;

    // ---------------------------------------------------------------- psql (simple query protocol)

    [Test]
    public async Task Psql_with_a_token_as_password_runs_a_query()
    {
        var r = await PsqlAsync(_readToken, "SELECT 1 AS one", "-A", "-t");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That(r.Stdout.Trim(), Is.EqualTo("1"));
    }

    [Test]
    public async Task Psql_statements_are_counted_in_the_proxy_metrics()
    {
        Assert.That((await PsqlAsync(_readToken, "SELECT 1")).ExitCode, Is.EqualTo(0));
        Assert.That((await PsqlAsync(_readToken, "DELETE FROM items")).ExitCode, Is.Not.EqualTo(0));
        using var http = new HttpClient();
        var text = await http.GetStringAsync(_proxy.Url + "/metrics");
        Assert.That(text, Does.Match("authly_proxy_requests_total\\{outcome=\"ok\",proxy=\"postgres\",transport=\"pgwire\"\\} [1-9]"));
        Assert.That(text, Does.Match("authly_proxy_requests_total\\{outcome=\"forbidden\",proxy=\"postgres\",transport=\"pgwire\"\\} [1-9]"));
    }

    [Test]
    public async Task Psql_with_a_wrong_token_is_refused_at_connection()
    {
        var r = await PsqlAsync("not-a-token", "SELECT 1");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.Stdout);
        Assert.That(r.Stderr, Does.Contain("FATAL").And.Contain(ProxyErrors.InvalidToken));
    }

    [TestCase("COPY items TO STDOUT", "_readToken")]
    [TestCase("COPY (SELECT name FROM items) TO STDOUT WITH (FORMAT csv)", "_readToken")]
    [TestCase("COPY items (name, qty) FROM STDIN", "_writeToken")]
    public async Task Psql_copy_through_stdin_or_stdout_is_refused_as_not_supported(string sql, string tokenField)
    {
        var token = tokenField == "_readToken" ? _readToken : _writeToken;
        var before = await TargetCountAsync();
        var r = await PsqlAsync(token, sql, "-v", "VERBOSITY=verbose");
        Assert.That(r.ExitCode, Is.EqualTo(1), r.Stdout);
        // 0A000 feature_not_supported with what to use instead, not an internal error.
        Assert.That(r.Stderr, Does.Contain("0A000").And.Contain("COPY").And.Contain("not supported"), r.Stderr);
        Assert.That(await TargetCountAsync(), Is.EqualTo(before));
    }

    private async Task<long> TargetCountAsync()
    {
        await using var admin = new NpgsqlConnection(_target + ";Pooling=false");
        await admin.OpenAsync();
        return await admin.ExecuteScalarAsync<long>("SELECT count(*) FROM items");
    }

    [Test]
    public async Task Psql_read_token_cannot_insert_and_sees_the_proxy_message()
    {
        var r = await PsqlAsync(_readToken, "INSERT INTO items (name, qty) VALUES ('x', 1)");
        Assert.That(r.ExitCode, Is.EqualTo(1), r.Stdout);
        Assert.That(r.Stderr, Does.Contain("ERROR").And.Contain("Insufficient scope: database:write"));
    }

    [Test]
    public async Task Psql_write_token_inserts_and_reads_back_with_command_tags()
    {
        var name = "psql-" + Guid.NewGuid().ToString("N")[..8];
        var insert = await PsqlAsync(_writeToken, $"INSERT INTO items (name, qty) VALUES ('{name}', 7);");
        Assert.That(insert.ExitCode, Is.EqualTo(0), insert.Stderr);
        Assert.That(insert.Stdout.Trim(), Is.EqualTo("INSERT 0 1"));

        var update = await PsqlAsync(_writeToken, $"UPDATE items SET qty = qty + 1 WHERE name = '{name}'");
        Assert.That(update.Stdout.Trim(), Is.EqualTo("UPDATE 1"), update.Stderr);

        var read = await PsqlAsync(_readToken, $"SELECT qty FROM items WHERE name = '{name}'", "-A", "-t");
        Assert.That(read.ExitCode, Is.EqualTo(0), read.Stderr);
        Assert.That(read.Stdout.Trim(), Is.EqualTo("8"));
    }

    [Test]
    public async Task Psql_output_of_many_types_matches_postgresql_itself()
    {
        var viaProxy = await PsqlAsync(_readToken, TypesQuery);
        Assert.That(viaProxy.ExitCode, Is.EqualTo(0), viaProxy.Stderr);

        var b = new NpgsqlConnectionStringBuilder(_target);
        var direct = await RunPsqlAsync(b.Password ?? "", b.Host!, b.Port, b.Username!, b.Database!, TypesQuery);
        Assert.That(direct.ExitCode, Is.EqualTo(0), direct.Stderr);
        Assert.That(viaProxy.Stdout, Is.EqualTo(direct.Stdout));
        Assert.That(viaProxy.Stdout, Does.Contain("{\"a b\",NULL,\"x\\\"y\",plain}").And.Contain("\\x0102ff").And.Contain("2024-01-02 03:04:05.5+00"));
    }

    [Test]
    public async Task Psql_errors_leave_the_session_usable()
    {
        // Several commands in one psql run: each -c is a separate Query message on the same connection.
        var r = await PsqlAsync(_readToken, "SELECT * FROM no_such_table", "-c", ";", "-c", "SELECT 2 AS two", "-A", "-t");
        Assert.That(r.Stderr, Does.Contain("ERROR").And.Contain("no_such_table"));
        Assert.That(r.Stdout.Trim(), Is.EqualTo("2"));
    }

    [Test]
    public async Task Psql_two_statements_in_one_query_are_refused_by_the_classifier()
    {
        var r = await PsqlAsync(_readToken, "SELECT 1; SELECT 2");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("Only one statement"));
    }

    [Test]
    public async Task Psql_transaction_control_is_refused_because_each_statement_is_its_own_transaction()
    {
        var r = await PsqlAsync(_writeToken, "BEGIN");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Stderr, Does.Contain("ERROR"));
    }

    // ---------------------------------------------------------------- Npgsql (extended query protocol)

    private NpgsqlConnection Npgsql(string token, string extra = "") =>
        new($"Host=127.0.0.1;Port={WirePort};Username=x;Password={token};Database=x;SSL Mode=Disable;" +
            "Server Compatibility Mode=NoTypeLoading;Pooling=false" + extra);

    [Test]
    public async Task Npgsql_runs_a_parameterized_query_with_binary_parameters_and_results()
    {
        await using var conn = Npgsql(_readToken);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT $1::int + 1", conn) { Parameters = { new() { Value = 41 } } };
        Assert.That(await cmd.ExecuteScalarAsync(), Is.EqualTo(42));
    }

    [Test]
    public async Task Npgsql_inserts_with_parameters_and_reads_typed_values_back()
    {
        var name = "npgsql-" + Guid.NewGuid().ToString("N")[..8];
        await using var conn = Npgsql(_writeToken);
        await conn.OpenAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO items (name, qty) VALUES ($1, $2)", conn)
                     { Parameters = { new() { Value = name }, new() { Value = 5 } } })
            Assert.That(await insert.ExecuteNonQueryAsync(), Is.EqualTo(1));

        await using (var select = new NpgsqlCommand("SELECT id, name, qty FROM items WHERE name = $1", conn) { Parameters = { new() { Value = name } } })
        await using (var reader = await select.ExecuteReaderAsync())
        {
            Assert.That(await reader.ReadAsync(), Is.True);
            Assert.That(reader.GetString(1), Is.EqualTo(name));
            Assert.That(reader.GetInt32(2), Is.EqualTo(5));
            Assert.That(await reader.ReadAsync(), Is.False);
        }

        await using var typed = new NpgsqlCommand(TypesQuery, conn);
        await using var rows = await typed.ExecuteReaderAsync();
        Assert.That(await rows.ReadAsync(), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(rows.GetInt32(0), Is.EqualTo(1));
            Assert.That(rows.GetString(1), Is.EqualTo("one"));
            Assert.That(rows.GetBoolean(2), Is.True);
            Assert.That(rows.GetFieldValue<DateTime>(3), Is.EqualTo(new DateTime(2024, 1, 2, 3, 4, 5, 500, DateTimeKind.Utc)));
            Assert.That(rows.GetDecimal(4), Is.EqualTo(12.50m));
            Assert.That(rows.IsDBNull(5), Is.True);
            Assert.That(rows.GetFieldValue<byte[]>(6), Is.EqualTo(new byte[] { 1, 2, 0xff }));
            Assert.That(rows.GetFieldValue<int[]>(7), Is.EqualTo(new[] { 1, 2, 3 }));
            Assert.That(rows.GetFieldValue<string?[]>(8), Is.EqualTo(new[] { "a b", null, "x\"y", "plain" }));
            Assert.That(rows.GetDouble(9), Is.EqualTo(0.1));
            Assert.That(rows.GetFieldValue<DateOnly>(10), Is.EqualTo(new DateOnly(2024, 2, 29)));
        });
        Assert.That(await rows.ReadAsync(), Is.True);
        Assert.That(rows.GetDecimal(4), Is.EqualTo(-0.001m));
        Assert.That(rows.GetString(1), Is.EqualTo("två"));
    }

    [Test]
    public async Task Npgsql_prepared_statement_is_described_and_executed_repeatedly()
    {
        await using var conn = Npgsql(_readToken);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT t FROM typed WHERE i = $1", conn) { Parameters = { new() { Value = 1 } } };
        await cmd.PrepareAsync();
        Assert.That(await cmd.ExecuteScalarAsync(), Is.EqualTo("one"));
        cmd.Parameters[0].Value = 2;
        Assert.That(await cmd.ExecuteScalarAsync(), Is.EqualTo("två"));
    }

    [Test]
    public async Task Npgsql_prepared_insert_is_described_as_returning_no_rows()
    {
        await using var conn = Npgsql(_writeToken);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("INSERT INTO items (name, qty) VALUES ($1, $2)", conn)
        {
            Parameters = { new() { Value = "prepared" }, new() { Value = 1 } },
        };
        await cmd.PrepareAsync();
        Assert.That(await cmd.ExecuteNonQueryAsync(), Is.EqualTo(1));
        cmd.Parameters[1].Value = 2;
        Assert.That(await cmd.ExecuteNonQueryAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task Npgsql_insert_with_RETURNING_through_the_extended_protocol_returns_its_rows()
    {
        // Issue 13: SqlVerdict.ReturnsRows decides the Describe answer; the unnamed statement's portal runs and returns the rows.
        var name = "returning-" + Guid.NewGuid().ToString("N")[..8];
        await using var conn = Npgsql(_writeToken);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("INSERT INTO items (name, qty) VALUES ($1, $2) RETURNING name, qty", conn)
        {
            Parameters = { new() { Value = name }, new() { Value = 3 } },
        };
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            Assert.That(await reader.ReadAsync(), Is.True);
            Assert.That((reader.GetString(0), reader.GetInt32(1)), Is.EqualTo((name, 3)));
            Assert.That(await reader.ReadAsync(), Is.False);
            await reader.CloseAsync();
            Assert.That(reader.RecordsAffected, Is.EqualTo(1), "CommandComplete INSERT 0 1 follows the rows");
        }
    }

    [Test]
    public async Task Npgsql_prepared_write_without_RETURNING_gets_CommandComplete_even_when_a_string_says_RETURNING()
    {
        // Before issue 13 a regex over the SQL saw the word inside the literal and refused to describe the statement (0A000).
        await using var conn = Npgsql(_writeToken);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("UPDATE items SET name = 'RETURNING' || $1 WHERE false", conn) { Parameters = { new() { Value = "x" } } };
        await cmd.PrepareAsync();
        Assert.That(await cmd.ExecuteNonQueryAsync(), Is.EqualTo(0));
    }

    [Test]
    public async Task Npgsql_prepared_write_with_RETURNING_is_refused_as_not_supported_and_the_connection_survives()
    {
        await using var conn = Npgsql(_writeToken);
        await conn.OpenAsync();
        await using (var cmd = new NpgsqlCommand("UPDATE items SET qty = qty WHERE id = $1 RETURNING id", conn) { Parameters = { new() { Value = -1 } } })
        {
            var e = Assert.ThrowsAsync<PostgresException>(() => cmd.PrepareAsync());
            Assert.That(e!.SqlState, Is.EqualTo("0A000"));
            Assert.That(e.MessageText, Does.Contain("writes and returns rows"));
        }
        await using var ok = new NpgsqlCommand("SELECT 'still here'", conn);
        Assert.That(await ok.ExecuteScalarAsync(), Is.EqualTo("still here"));
    }

    [Test]
    public async Task Float_text_is_what_postgresql_prints()
    {
        double[] doubles = [0.1, 1.0 / 3, 100, 123.456, 1e14, 1e15, 1.5e20, 1e-4, 1.25e-5, -2.5, 5e-324, double.MaxValue, -0.0];
        float[] floats = [0.1f, 1e5f, 1e6f, 123456.7f, 1.5e-5f, 3.4028235e38f];
        await using var conn = new NpgsqlConnection(_target + ";Pooling=false");
        await conn.OpenAsync();
        var expectedDoubles = (await conn.QueryAsync<string>("SELECT x::text FROM unnest(@d) WITH ORDINALITY AS u(x, o) ORDER BY o", new { d = doubles })).ToList();
        var expectedFloats = (await conn.QueryAsync<string>("SELECT x::text FROM unnest(@f) WITH ORDINALITY AS u(x, o) ORDER BY o", new { f = floats })).ToList();
        Assert.That(doubles.Select(d => PgWireValues.FloatText(d, 15)), Is.EqualTo(expectedDoubles));
        Assert.That(floats.Select(f => PgWireValues.FloatText(f, 6)), Is.EqualTo(expectedFloats));
    }

    [Test]
    public async Task Npgsql_sees_scope_errors_as_postgres_exceptions_and_the_connection_survives()
    {
        await using var conn = Npgsql(_readToken);
        await conn.OpenAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO items (name, qty) VALUES ($1, 1)", conn) { Parameters = { new() { Value = "nope" } } })
        {
            var e = Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());
            Assert.That(e!.SqlState, Is.EqualTo("42501"));
            Assert.That(e.MessageText, Does.Contain("database:write"));
        }
        await using (var failing = new NpgsqlCommand("SELECT * FROM no_such_table", conn))
        {
            var e = Assert.ThrowsAsync<PostgresException>(() => failing.ExecuteReaderAsync());
            Assert.That(e!.SqlState, Is.EqualTo("42P01"), "PostgreSQL's own SQLSTATE is passed through");
        }
        await using var ok = new NpgsqlCommand("SELECT 'still here'", conn);
        Assert.That(await ok.ExecuteScalarAsync(), Is.EqualTo("still here"));
    }

    [Test]
    public async Task Npgsql_cancel_request_stops_the_running_statement()
    {
        // Npgsql gives up on a cancelled command after 2 s by default and breaks the connection; on a loaded
        // machine the proxy's cancel (to PostgreSQL, then the ErrorResponse back) can take longer than that.
        await using var conn = Npgsql(_readToken, ";Cancellation Timeout=15000");
        await conn.OpenAsync();
        var marker = "cancel-me-" + Guid.NewGuid().ToString("N")[..8];
        await using var slow = new NpgsqlCommand($"SELECT count(*) FROM generate_series(1, 1000000000) AS \"{marker}\"", conn);
        var running = slow.ExecuteScalarAsync();
        // Cancel only once PostgreSQL is running the statement: a CancelRequest that arrives before it
        // started cancels nothing, and a fixed delay is too short on a loaded machine.
        Assert.That(await Eventually.TrueAsync(() => StatementIsActiveAsync(marker), TimeSpan.FromSeconds(10)), Is.True,
            "the statement never showed up as active in pg_stat_activity");
        slow.Cancel(); // a CancelRequest on a new connection, with the key from BackendKeyData
        // Npgsql reports a cancelled command as OperationCanceledException around the server's 57014 error.
        var cancelled = Assert.CatchAsync<OperationCanceledException>(async () => await running);
        var e = cancelled!.InnerException as PostgresException;
        Assert.That(e?.SqlState, Is.EqualTo("57014"), cancelled.ToString());
        // "user request", not the statement timeout (5 s here), which the proxy reports as "Query exceeded the statement timeout".
        Assert.That(e!.MessageText, Does.Contain("user request"));
        await using var after = new NpgsqlCommand("SELECT 1", conn);
        Assert.That(await after.ExecuteScalarAsync(), Is.EqualTo(1));
    }

    private async Task<bool> StatementIsActiveAsync(string marker)
    {
        await using var admin = new NpgsqlConnection(_target + ";Pooling=false");
        await admin.OpenAsync();
        return await admin.ExecuteScalarAsync<bool>(
            "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE state = 'active' AND position(@Marker IN query) > 0 AND pid <> pg_backend_pid())",
            new { Marker = marker });
    }

    [Test]
    public void Npgsql_with_a_wrong_token_gets_invalid_password()
    {
        using var conn = Npgsql("wrong");
        var e = Assert.ThrowsAsync<PostgresException>(() => conn.OpenAsync());
        Assert.That(e!.SqlState, Is.EqualTo("28P01"));
    }

    [Test]
    public async Task A_message_over_the_size_limit_ends_the_connection()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", WirePort);
        var stream = tcp.GetStream();
        // Startup packet (protocol 3.0, user=x), then a Query claiming 32 MiB.
        var startup = new List<byte>();
        startup.AddRange([0, 3, 0, 0]);
        startup.AddRange("user\0x\0\0"u8.ToArray());
        await stream.WriteAsync(BigEndian(startup.Count + 4).Concat(startup).ToArray());
        var auth = new byte[9];
        await stream.ReadExactlyAsync(auth);
        Assert.That((char)auth[0], Is.EqualTo('R'));
        var password = System.Text.Encoding.UTF8.GetBytes(_readToken + "\0");
        await stream.WriteAsync(new[] { (byte)'p' }.Concat(BigEndian(password.Length + 4)).Concat(password).ToArray());
        await stream.WriteAsync(new[] { (byte)'Q' }.Concat(BigEndian(32 * 1024 * 1024)).ToArray());
        using var rest = new MemoryStream();
        await stream.CopyToAsync(rest); // returns when the server closes
        var text = System.Text.Encoding.UTF8.GetString(rest.ToArray());
        Assert.That(text, Does.Contain("FATAL").And.Contain("54000").And.Contain("exceeds the limit"));
    }

    private static byte[] BigEndian(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    // ---------------------------------------------------------------- psql helper

    private sealed record PsqlResult(int ExitCode, string Stdout, string Stderr);

    private Task<PsqlResult> PsqlAsync(string token, string sql, params string[] extra) =>
        RunPsqlAsync(token, "127.0.0.1", WirePort, "anyone", "anydb", sql, extra);

    private static string PsqlBinary()
    {
        try
        {
            var inBinDir = Path.Combine(EmbeddedPostgres.FindBinDir(), "psql");
            if (File.Exists(inBinDir)) return inBinDir;
        }
        catch (InvalidOperationException) { }
        return "psql";
    }

    private static async Task<PsqlResult> RunPsqlAsync(string password, string host, int port, string user, string database, string sql, params string[] extra)
    {
        var psi = new ProcessStartInfo(PsqlBinary())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-X", "-w", "-h", host, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", user, "-d", database, "-c", sql })
            psi.ArgumentList.Add(a);
        foreach (var a in extra) psi.ArgumentList.Add(a);
        psi.Environment["PGPASSWORD"] = password;
        psi.Environment["PGTZ"] = "UTC";
        psi.Environment["PGSSLMODE"] = "prefer";
        psi.Environment["PGCONNECT_TIMEOUT"] = "10";
        psi.Environment.Remove("PGSERVICE");
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return new PsqlResult(process.ExitCode, await stdout, await stderr);
    }
}
