using System.Text;
using Authly.Proxy;

namespace Authly.Tests.Proxies;

/// <summary>
/// The Redis proxy's allow-list and key isolation: what each scope may run, and that every key argument lands
/// under <c>user:&lt;sub&gt;:</c> so no argument reaches another user's keys.
/// </summary>
[TestFixture, Category("Proxy")]
public sealed class RedisCommandTableTests
{
    private const string Alice = "alice";
    private const string AlicePrefix = "user:alice:";

    private static byte[][] Args(params string[] args) => [.. args.Select(Encoding.UTF8.GetBytes)];

    private static string[] Text(RedisPlan plan) => [.. plan.Args.Select(a => Encoding.UTF8.GetString(a))];

    private static RedisPlan Plan(string command, params string[] args) => RedisCommandTable.Plan(command, Args(args), Alice);

    private static AuthlyException Rejected(string command, params string[] args) =>
        Assert.Throws<AuthlyException>(() => Plan(command, args))!;

    // ---- Access classes ----

    [TestCase("GET"), TestCase("MGET"), TestCase("STRLEN"), TestCase("GETRANGE"), TestCase("EXISTS"), TestCase("TTL")]
    [TestCase("PTTL"), TestCase("TYPE"), TestCase("HGET"), TestCase("HMGET"), TestCase("HGETALL"), TestCase("HKEYS")]
    [TestCase("HVALS"), TestCase("HLEN"), TestCase("HEXISTS"), TestCase("HSTRLEN"), TestCase("LRANGE"), TestCase("LLEN")]
    [TestCase("LINDEX"), TestCase("SMEMBERS"), TestCase("SISMEMBER"), TestCase("SMISMEMBER"), TestCase("SCARD")]
    [TestCase("SINTER"), TestCase("SUNION"), TestCase("SDIFF"), TestCase("ZRANGE"), TestCase("ZRANGEBYSCORE")]
    [TestCase("ZREVRANGE"), TestCase("ZSCORE"), TestCase("ZCARD"), TestCase("ZCOUNT"), TestCase("ZRANK"), TestCase("ZREVRANK")]
    [TestCase("PING"), TestCase("ECHO"), TestCase("SCAN")]
    public void AccessOf_ReadCommand_IsRead(string command)
    {
        Assert.That(RedisCommandTable.AccessOf(command), Is.EqualTo(RedisAccess.Read));
        Assert.That(RedisCommandTable.IsAllowed(command), Is.True);
    }

    [TestCase("SET"), TestCase("SETEX"), TestCase("PSETEX"), TestCase("SETNX"), TestCase("MSET"), TestCase("MSETNX")]
    [TestCase("DEL"), TestCase("UNLINK"), TestCase("EXPIRE"), TestCase("PEXPIRE"), TestCase("EXPIREAT"), TestCase("PEXPIREAT")]
    [TestCase("PERSIST"), TestCase("INCR"), TestCase("DECR"), TestCase("INCRBY"), TestCase("DECRBY"), TestCase("INCRBYFLOAT")]
    [TestCase("APPEND"), TestCase("SETRANGE"), TestCase("GETSET"), TestCase("GETDEL"), TestCase("GETEX"), TestCase("HSET")]
    [TestCase("HSETNX"), TestCase("HMSET"), TestCase("HDEL"), TestCase("HINCRBY"), TestCase("HINCRBYFLOAT"), TestCase("LPUSH")]
    [TestCase("RPUSH"), TestCase("LPOP"), TestCase("RPOP"), TestCase("LSET"), TestCase("LREM"), TestCase("LTRIM"), TestCase("LINSERT")]
    [TestCase("SADD"), TestCase("SREM"), TestCase("SPOP"), TestCase("SMOVE"), TestCase("ZADD"), TestCase("ZREM"), TestCase("ZINCRBY")]
    [TestCase("ZREMRANGEBYSCORE"), TestCase("ZREMRANGEBYRANK"), TestCase("RENAME"), TestCase("RENAMENX"), TestCase("COPY")]
    [TestCase("SINTERSTORE"), TestCase("SUNIONSTORE"), TestCase("SDIFFSTORE"), TestCase("RPOPLPUSH"), TestCase("LMOVE")]
    public void AccessOf_WriteCommand_IsWrite(string command)
    {
        Assert.That(RedisCommandTable.AccessOf(command), Is.EqualTo(RedisAccess.Write));
        Assert.That(RedisCommandTable.IsAllowed(command), Is.True);
    }

    [TestCase("KEYS"), TestCase("FLUSHALL"), TestCase("FLUSHDB"), TestCase("CONFIG"), TestCase("DEBUG"), TestCase("SHUTDOWN")]
    [TestCase("SAVE"), TestCase("BGSAVE"), TestCase("BGREWRITEAOF"), TestCase("MIGRATE"), TestCase("MOVE"), TestCase("SELECT")]
    [TestCase("SWAPDB"), TestCase("EVAL"), TestCase("EVALSHA"), TestCase("EVAL_RO"), TestCase("SCRIPT"), TestCase("FUNCTION")]
    [TestCase("FCALL"), TestCase("SUBSCRIBE"), TestCase("PSUBSCRIBE"), TestCase("PUBLISH"), TestCase("MONITOR"), TestCase("CLIENT")]
    [TestCase("CLUSTER"), TestCase("ACL"), TestCase("AUTH"), TestCase("HELLO"), TestCase("OBJECT"), TestCase("DUMP"), TestCase("RESTORE")]
    [TestCase("SORT"), TestCase("SORT_RO"), TestCase("WAIT"), TestCase("MULTI"), TestCase("EXEC"), TestCase("WATCH"), TestCase("BLPOP")]
    [TestCase("BRPOP"), TestCase("BLMOVE"), TestCase("BRPOPLPUSH"), TestCase("BZPOPMIN"), TestCase("RANDOMKEY"), TestCase("DBSIZE")]
    [TestCase("INFO"), TestCase("SLOWLOG"), TestCase("LATENCY"), TestCase("MEMORY"), TestCase("XADD"), TestCase("XREAD"), TestCase("BITOP")]
    [TestCase("GEOADD"), TestCase("GEOSEARCHSTORE"), TestCase("PFADD"), TestCase("PFMERGE"), TestCase("ZRANGESTORE"), TestCase("SINTERCARD")]
    [TestCase("COMMAND"), TestCase("QUIT"), TestCase("RESET"), TestCase("")]
    public void Plan_RefusedCommand_IsNotAllowed(string command)
    {
        var ex = Assert.Throws<AuthlyException>(() => Plan(command, "k", "v"));
        Assert.That(ex!.Message, Is.EqualTo($"Command '{command}' is not allowed"));
        Assert.That((ex.Status, ex.Code), Is.EqualTo((403, ProxyErrors.InsufficientScope)), "a refused command is a permission matter");
        Assert.That(RedisCommandTable.IsAllowed(command), Is.False);
        Assert.That(RedisCommandTable.AccessOf(command), Is.Null);
    }

    [TestCase("get"), TestCase("Get"), TestCase("gEt")]
    public void Plan_LowerOrMixedCase_IsFoundAndNamedUpperCase(string command)
    {
        var plan = Plan(command, "k");

        Assert.That(plan.Command, Is.EqualTo("GET"));
        Assert.That(plan.Access, Is.EqualTo(RedisAccess.Read));
        Assert.That(RedisCommandTable.IsAllowed(command), Is.True);
    }

    [TestCase("ſet", Description = "U+017F LONG S folds to S outside ASCII")]
    [TestCase("GET ", Description = "trailing space")]
    [TestCase("GET\0")]
    [TestCase("CONFIG|GET")]
    public void Plan_NameThatOnlyLooksAllowed_IsNotAllowed(string command)
    {
        var ex = Assert.Throws<AuthlyException>(() => Plan(command, "k"));
        Assert.That(ex!.Message, Does.EndWith("is not allowed"));
        Assert.That(RedisCommandTable.IsAllowed(command), Is.False);
    }

    [Test]
    public void Plan_RefusedLowerCaseCommand_NamesItUpperCase()
    {
        Assert.That(Rejected("flushall").Message, Is.EqualTo("Command 'FLUSHALL' is not allowed"));
    }

    // ---- Arity ----

    [TestCase("GET")]
    [TestCase("GET", "a", "b")]
    [TestCase("MGET")]
    [TestCase("HGET", "h")]
    [TestCase("GETRANGE", "k", "0")]
    [TestCase("SET", "k")]
    [TestCase("MSET", "a", "1", "b")]
    [TestCase("MSETNX", "a")]
    [TestCase("HSET", "h", "f")]
    [TestCase("HSET", "h", "f", "v", "g")]
    [TestCase("HMSET", "h", "f", "v", "g")]
    [TestCase("DEL")]
    [TestCase("SMOVE", "a", "b")]
    [TestCase("RENAME", "a")]
    [TestCase("RENAME", "a", "b", "c")]
    [TestCase("LMOVE", "a", "b", "LEFT")]
    [TestCase("ECHO")]
    [TestCase("PING", "a", "b")]
    [TestCase("SCAN")]
    [TestCase("SINTERSTORE", "dst")]
    [TestCase("EXPIRE", "k")]
    public void Plan_WrongNumberOfArguments_IsRejected(string command, params string[] args)
    {
        Assert.That(Rejected(command, args).Message, Is.EqualTo($"Wrong number of arguments for '{command}'"));
    }

    [Test]
    public void Plan_WrongArityInLowerCase_NamesTheCommandUpperCase()
    {
        Assert.That(Rejected("mset", "a").Message, Is.EqualTo("Wrong number of arguments for 'MSET'"));
    }

    // ---- Key prefixing ----

    [Test]
    public void Plan_SingleKeyCommand_PrefixesOnlyTheKey()
    {
        var plan = Plan("SET", "session", "value");

        Assert.That(plan.Command, Is.EqualTo("SET"));
        Assert.That(plan.Access, Is.EqualTo(RedisAccess.Write));
        Assert.That(Text(plan), Is.EqualTo(new[] { "user:alice:session", "value" }));
    }

    [TestCase("HSET", new[] { "h", "f", "v" }, new[] { "user:alice:h", "f", "v" })]
    [TestCase("HMGET", new[] { "h", "a", "b" }, new[] { "user:alice:h", "a", "b" })]
    [TestCase("LINSERT", new[] { "l", "BEFORE", "p", "e" }, new[] { "user:alice:l", "BEFORE", "p", "e" })]
    [TestCase("ZADD", new[] { "z", "NX", "1", "m" }, new[] { "user:alice:z", "NX", "1", "m" })]
    [TestCase("SADD", new[] { "s", "user:bob:x" }, new[] { "user:alice:s", "user:bob:x" })]
    [TestCase("GETRANGE", new[] { "k", "0", "-1" }, new[] { "user:alice:k", "0", "-1" })]
    public void Plan_FieldsValuesAndMembers_AreNotPrefixed(string command, string[] args, string[] expected)
    {
        Assert.That(Text(Plan(command, args)), Is.EqualTo(expected));
    }

    [TestCase("MGET"), TestCase("EXISTS"), TestCase("DEL"), TestCase("UNLINK"), TestCase("SINTER"), TestCase("SUNION")]
    [TestCase("SDIFF"), TestCase("SINTERSTORE"), TestCase("SUNIONSTORE"), TestCase("SDIFFSTORE")]
    public void Plan_AllKeysCommand_PrefixesEveryArgument(string command)
    {
        Assert.That(Text(Plan(command, "a", "b", "c")), Is.EqualTo(new[] { "user:alice:a", "user:alice:b", "user:alice:c" }));
    }

    [TestCase("MSET"), TestCase("MSETNX")]
    public void Plan_MSet_PrefixesEvenPositionsOnly(string command)
    {
        var plan = Plan(command, "a", "1", "b", "user:bob:x");

        Assert.That(Text(plan), Is.EqualTo(new[] { "user:alice:a", "1", "user:alice:b", "user:bob:x" }));
    }

    [TestCase("SMOVE", new[] { "src", "dst", "member" }, new[] { "user:alice:src", "user:alice:dst", "member" })]
    [TestCase("RENAME", new[] { "a", "b" }, new[] { "user:alice:a", "user:alice:b" })]
    [TestCase("RENAMENX", new[] { "a", "b" }, new[] { "user:alice:a", "user:alice:b" })]
    [TestCase("RPOPLPUSH", new[] { "a", "b" }, new[] { "user:alice:a", "user:alice:b" })]
    [TestCase("LMOVE", new[] { "a", "b", "LEFT", "RIGHT" }, new[] { "user:alice:a", "user:alice:b", "LEFT", "RIGHT" })]
    [TestCase("COPY", new[] { "a", "b", "REPLACE" }, new[] { "user:alice:a", "user:alice:b", "REPLACE" })]
    public void Plan_TwoKeyCommand_PrefixesSourceAndDestination(string command, string[] args, string[] expected)
    {
        Assert.That(Text(Plan(command, args)), Is.EqualTo(expected));
    }

    [TestCase("GET", "user:bob:secret")]
    [TestCase("GET", "user:alice:x")]
    [TestCase("DEL", "user:bob:secret")]
    public void Plan_KeyAlreadyLookingPrefixed_IsPrefixedAgain(string command, string key)
    {
        Assert.That(Text(Plan(command, key))[0], Is.EqualTo(AlicePrefix + key));
    }

    [TestCase("PING"), TestCase("ECHO")]
    public void Plan_CommandWithoutKeys_PassesArgumentsThrough(string command)
    {
        Assert.That(Text(Plan(command, "hello")), Is.EqualTo(new[] { "hello" }));
    }

    [Test]
    public void Plan_BinaryKey_IsPrefixedBytewise()
    {
        byte[] key = [0x00, 0xFF, 0x80, (byte)'k'];

        var plan = RedisCommandTable.Plan("GET", [key], "bob");

        Assert.That(plan.Args[0], Is.EqualTo("user:bob:"u8.ToArray().Concat(key).ToArray()));
    }

    [Test]
    public void Plan_NonAsciiSubject_PrefixIsUtf8()
    {
        var plan = RedisCommandTable.Plan("GET", Args("k"), "zoë");

        Assert.That(plan.Args[0], Is.EqualTo(Encoding.UTF8.GetBytes("user:zoë:k")));
    }

    [Test]
    public void Plan_DoesNotModifyTheCallersArguments()
    {
        var args = Args("k", "v");

        RedisCommandTable.Plan("SET", args, Alice);

        Assert.That(Encoding.UTF8.GetString(args[0]), Is.EqualTo("k"));
    }

    // ---- SET, GETEX, EXPIRE and COPY options ----

    [TestCase("NX"), TestCase("XX"), TestCase("GET"), TestCase("KEEPTTL"), TestCase("EX", "10"), TestCase("px", "1500")]
    [TestCase("EXAT", "1900000000"), TestCase("PXAT", "1900000000000"), TestCase("NX", "GET", "EX", "5")]
    [TestCase("XX", "KEEPTTL", "GET")]
    public void Plan_SetWithValidOptions_IsPlanned(params string[] options)
    {
        var plan = Plan("SET", ["k", "v", .. options]);

        Assert.That(Text(plan), Is.EqualTo(new[] { "user:alice:k", "v" }.Concat(options)));
    }

    [TestCase("SET option 'FOO' is not supported", "FOO")]
    [TestCase("SET option 'EX' needs a positive integer", "EX")]
    [TestCase("SET option 'EX' needs a positive integer", "EX", "0")]
    [TestCase("SET option 'PX' needs a positive integer", "PX", "-5")]
    [TestCase("SET option 'EX' needs a positive integer", "EX", "ten")]
    [TestCase("SET options NX and XX cannot be combined", "NX", "XX")]
    [TestCase("SET option 'NX' is given more than once", "NX", "NX")]
    [TestCase("SET options EX and KEEPTTL cannot be combined; give at most one of EX, PX, EXAT, PXAT and KEEPTTL", "EX", "5", "KEEPTTL")]
    [TestCase("SET options EX and PX cannot be combined; give at most one of EX, PX, EXAT, PXAT and KEEPTTL", "EX", "5", "PX", "5")]
    [TestCase("SET option 'EX' is given more than once", "EX", "5", "EX", "6")]
    [TestCase("SET option 'OTHERKEY' is not supported", "otherkey")]
    public void Plan_SetWithBadOption_IsRejectedWithAClearMessage(string message, params string[] options)
    {
        Assert.That(Rejected("SET", ["k", "v", .. options]).Message, Is.EqualTo(message));
    }

    [TestCase("GETEX", "k"), TestCase("GETEX", "k", "PERSIST"), TestCase("GETEX", "k", "EX", "5")]
    [TestCase("EXPIRE", "k", "5"), TestCase("PEXPIRE", "k", "5", "NX"), TestCase("EXPIREAT", "k", "5", "gt")]
    public void Plan_ValidExpiryOptions_ArePlanned(string command, params string[] args)
    {
        Assert.That(Text(Plan(command, args))[0], Is.EqualTo("user:alice:k"));
    }

    [TestCase("GETEX", "GETEX option 'KEEPTTL' is not supported", "k", "KEEPTTL")]
    [TestCase("GETEX", "GETEX option 'EX' needs a positive integer", "k", "EX")]
    [TestCase("GETEX", "GETEX accepts only one option", "k", "PERSIST", "EX")]
    [TestCase("PEXPIRE", "PEXPIRE option 'SOON' is not supported", "k", "5", "SOON")]
    [TestCase("COPY", "COPY option 'DB' is not allowed: the proxy works in one database", "a", "b", "DB", "1")]
    [TestCase("COPY", "COPY option 'DB' is not allowed: the proxy works in one database", "a", "b", "REPLACE", "db", "2")]
    [TestCase("COPY", "COPY option 'REPLACE' is given more than once", "a", "b", "REPLACE", "REPLACE")]
    [TestCase("COPY", "COPY option 'C' is not supported", "a", "b", "c")]
    public void Plan_BadOption_IsRejectedWithAClearMessage(string command, string message, params string[] args)
    {
        Assert.That(Rejected(command, args).Message, Is.EqualTo(message));
    }

    // ---- SCAN ----

    [Test]
    public void Plan_ScanWithoutMatch_AddsMatchForThePrefix()
    {
        var plan = Plan("SCAN", "0");

        Assert.That(plan.Access, Is.EqualTo(RedisAccess.Read));
        Assert.That(Text(plan), Is.EqualTo(new[] { "0", "MATCH", "user:alice:*" }));
    }

    [Test]
    public void Plan_ScanWithCountAndType_KeepsThemAndAddsMatch()
    {
        Assert.That(Text(Plan("SCAN", "17", "COUNT", "100", "TYPE", "hash")),
            Is.EqualTo(new[] { "17", "MATCH", "user:alice:*", "COUNT", "100", "TYPE", "hash" }));
    }

    [TestCase("session:*", "user:alice:session:*")]
    [TestCase("*", "user:alice:*")]
    [TestCase("user:bob:*", "user:alice:user:bob:*")]
    [TestCase("", "user:alice:")]
    public void Plan_ScanMatch_IsPrefixed(string pattern, string expected)
    {
        Assert.That(Text(Plan("scan", "0", "match", pattern, "COUNT", "10")),
            Is.EqualTo(new[] { "0", "MATCH", expected, "COUNT", "10" }));
    }

    [TestCase("a*b", @"user:a\*b:*")]
    [TestCase("a?", @"user:a\?:*")]
    [TestCase("[ab]", @"user:\[ab\]:*")]
    [TestCase(@"a\b", @"user:a\\b:*")]
    [TestCase("a:*", @"user:a%3A\*:*")]
    public void Plan_ScanForSubjectWithGlobCharacters_EscapesThemInThePrefix(string subject, string expected)
    {
        var plan = RedisCommandTable.Plan("SCAN", Args("0"), subject);

        Assert.That(Text(plan)[2], Is.EqualTo(expected));
    }

    [TestCase("SCAN cursor must be an unsigned integer", "-1")]
    [TestCase("SCAN cursor must be an unsigned integer", "abc")]
    [TestCase("SCAN option 'MATCH' needs a value", "0", "MATCH")]
    [TestCase("SCAN option 'MATCH' is given more than once", "0", "MATCH", "a*", "MATCH", "*")]
    [TestCase("SCAN option 'NOVALUES' is not supported", "0", "NOVALUES")]
    [TestCase("SCAN option 'FOO' is not supported", "0", "FOO", "1")]
    public void Plan_ScanWithBadArguments_IsRejected(string message, params string[] args)
    {
        Assert.That(Rejected("SCAN", args).Message, Is.EqualTo(message));
    }

    // ---- Unprefix and PrefixFor ----

    [Test]
    public void Unprefix_KeyFromScan_StripsTheCallersPrefix()
    {
        var key = RedisCommandTable.Unprefix(Encoding.UTF8.GetBytes("user:alice:session:1"), Alice);

        Assert.That(Encoding.UTF8.GetString(key), Is.EqualTo("session:1"));
    }

    [Test]
    public void Unprefix_RoundTripsPlan_ForAnEncodedSubject()
    {
        var planned = RedisCommandTable.Plan("GET", Args("k"), "a:b%c").Args[0];

        Assert.That(Encoding.UTF8.GetString(RedisCommandTable.Unprefix(planned, "a:b%c")), Is.EqualTo("k"));
    }

    [TestCase("user:bob:x")]
    [TestCase("user:alice")]
    [TestCase("user:alicex:y")]
    public void Unprefix_KeyOutsideTheCallersNamespace_Throws(string key)
    {
        Assert.Throws<InvalidOperationException>(() => RedisCommandTable.Unprefix(Encoding.UTF8.GetBytes(key), Alice));
    }

    [TestCase("alice", "user:alice:")]
    [TestCase("a:b", "user:a%3Ab:")]
    [TestCase("a%3Ab", "user:a%253Ab:")]
    [TestCase("248289761001", "user:248289761001:")]
    [TestCase("a*", "user:a*:")]
    public void PrefixFor_EncodesColonAndPercent(string subject, string expected)
    {
        Assert.That(RedisCommandTable.PrefixFor(subject), Is.EqualTo(expected));
    }

    [Test]
    public void PrefixFor_SubjectWithColon_CannotReachAnotherSubjectsKeys()
    {
        // Unencoded, subject "a" with key "b:x" and subject "a:b" with key "x" would both be user:a:b:x.
        var fromA = RedisCommandTable.Plan("GET", Args("b:x"), "a").Args[0];
        var fromAB = RedisCommandTable.Plan("GET", Args("x"), "a:b").Args[0];

        Assert.That(fromA, Is.Not.EqualTo(fromAB));
    }

    [TestCase("")]
    [TestCase("a\nb")]
    [TestCase("\0")]
    [TestCase("tab\t")]
    public void PrefixFor_EmptyOrControlCharacters_Throws(string subject)
    {
        Assert.Throws<ArgumentException>(() => RedisCommandTable.PrefixFor(subject));
        Assert.Throws<ArgumentException>(() => RedisCommandTable.Plan("GET", Args("k"), subject));
    }
}
