using System.Buffers.Binary;
using System.Text;
using Authly.Proxy;
using Authly.Server.Proxy;

namespace Authly.Tests.Proxies;

/// <summary>
/// Issue 13, "one mapper per transport": the PostgreSQL wire and RESP each turn an <see cref="AuthlyException"/>
/// into their answer in one function. These tables pin the answers byte for byte: status (and the SQLSTATE an
/// error may carry) → the SQLSTATE of the ErrorResponse; status and where it failed → the RESP error prefix.
/// Pure unit tests: no host, no database.
/// </summary>
[TestFixture, Category("Proxy")]
public sealed class ProxyWireErrorMappingTests
{
    [TestCase(400, null, "42601", TestName = "PgWire_400_without_a_SqlState_is_syntax_error_42601")]
    [TestCase(401, null, "28P01", TestName = "PgWire_401_is_invalid_password_28P01_because_the_password_is_the_token")]
    [TestCase(403, null, "42501", TestName = "PgWire_403_is_insufficient_privilege_42501")]
    [TestCase(408, null, "57014", TestName = "PgWire_408_statement_timeout_is_query_canceled_57014")]
    [TestCase(413, null, "54000", TestName = "PgWire_413_result_over_the_limit_is_program_limit_exceeded_54000")]
    [TestCase(503, null, "08006", TestName = "PgWire_503_is_connection_failure_08006")]
    [TestCase(500, null, "XX000", TestName = "PgWire_500_is_internal_error_XX000")]
    [TestCase(415, null, "XX000", TestName = "PgWire_any_other_status_is_internal_error_XX000")]
    [TestCase(400, "42P01", "42P01", TestName = "PgWire_the_SqlState_PostgreSQL_gave_travels_as_it_is")]
    [TestCase(400, "0A000", "0A000", TestName = "PgWire_a_SqlState_the_proxy_sets_wins_over_the_status")]
    [TestCase(403, "28000", "28000", TestName = "PgWire_a_403_with_its_own_SqlState_keeps_it")]
    public void SqlStateOf_maps_status_or_carried_SqlState(int status, string? carried, string expected)
    {
        var e = new AuthlyException(status, "detail") { SqlState = carried };
        Assert.That(PgWireErrors.SqlStateOf(e), Is.EqualTo(expected));
    }

    [Test]
    public void ProxyErrors_carry_the_SqlState_of_a_failed_statement_as_a_property_not_in_a_parsed_message()
    {
        Assert.That(PgWireErrors.SqlStateOf(ProxyErrors.BadRequest("Query failed: relation \"x\" does not exist (SQLSTATE 42P01)", "42P01")),
            Is.EqualTo("42P01"));
        // The text alone no longer decides it: a message that merely ends like a SQLSTATE is not parsed.
        Assert.That(PgWireErrors.SqlStateOf(ProxyErrors.BadRequest("value was '(SQLSTATE 0A000)'")), Is.EqualTo("42601"));
    }

    [TestCase(false, "ERROR")]
    [TestCase(true, "FATAL")]
    public void ErrorResponse_writes_severity_SqlState_and_detail_fields(bool fatal, string severity)
    {
        using var stream = new MemoryStream();
        var writer = new PgWireWriter(stream);
        writer.ErrorResponse(ProxyErrors.Scope("database:write", "Insufficient scope: database:write is required for INSERT"), fatal);
        writer.FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        var bytes = stream.ToArray();

        var body = $"S{severity}\0V{severity}\0C42501\0MInsufficient scope: database:write is required for INSERT\0\0";
        var expected = new byte[5 + Encoding.UTF8.GetByteCount(body)];
        expected[0] = (byte)'E';
        BinaryPrimitives.WriteInt32BigEndian(expected.AsSpan(1), expected.Length - 1);
        Encoding.UTF8.GetBytes(body, expected.AsSpan(5));
        Assert.That(bytes, Is.EqualTo(expected));
    }

    [TestCase(401, true, "WRONGPASS Invalid or expired token", TestName = "Resp_AUTH_with_a_bad_token_is_WRONGPASS")]
    [TestCase(503, true, "ERR Invalid or expired token", TestName = "Resp_AUTH_when_Authly_cannot_be_asked_is_ERR")]
    [TestCase(401, false, "NOAUTH Invalid or expired token; AUTH again with a fresh token", TestName = "Resp_command_after_the_token_expired_is_NOAUTH")]
    [TestCase(403, false, "NOPERM Invalid or expired token", TestName = "Resp_refused_command_is_NOPERM")]
    [TestCase(400, false, "ERR Invalid or expired token", TestName = "Resp_malformed_command_is_ERR")]
    [TestCase(503, false, "ERR Invalid or expired token", TestName = "Resp_cache_unavailable_is_ERR")]
    [TestCase(413, false, "ERR Invalid or expired token", TestName = "Resp_any_other_status_is_ERR")]
    public void RespErrors_Reply_has_the_prefix_redis_clients_act_on(int status, bool atLogin, string expected)
    {
        var reply = RespErrors.Reply(new AuthlyException(status, ProxyErrors.InvalidToken), atLogin);
        Assert.That(reply.Kind, Is.EqualTo(RespKind.Error));
        Assert.That(Encoding.UTF8.GetString(RespWriter.Encode(reply)), Is.EqualTo("-" + expected + "\r\n"));
    }
}
