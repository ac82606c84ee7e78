using System.Collections.Frozen;
using System.Text;

namespace Authly.Proxy;

/// <summary>
/// The allow-list and key isolation of the OAuth-protected Redis proxy. Every user shares one Redis database,
/// so isolation rests entirely on this table: a command is sent only if it is listed here, and only after every
/// argument that Redis treats as a key has been prefixed with <see cref="PrefixFor"/>. Anything whose key
/// positions cannot be known from the arguments alone (scripts, SORT … STORE, MIGRATE, modules) is refused, as
/// is anything that sees the whole keyspace (KEYS, DBSIZE, RANDOMKEY, INFO) or the server (CONFIG, CLIENT, …).
/// </summary>
/// <remarks>
/// Options that are not keys are still checked where the command has options (SET, GETEX, EXPIRE, COPY, SCAN):
/// an option Redis adds later might name a key or a database (as COPY's DB already does), and an unknown option
/// passed through unexamined would bypass the prefix.
/// </remarks>
public static class RedisCommandTable
{
    /// <summary>Which arguments are keys. Positions follow the key specs in the Redis command reference.</summary>
    private enum Keys
    {
        None,
        First,
        FirstTwo,
        All,
        EvenPositions,
        Scan,
    }

    /// <param name="Max">-1 for no upper bound.</param>
    /// <param name="PairedFrom">When ≥ 0, the arguments from this index on come in pairs (MSET, HSET).</param>
    /// <param name="Options">Validates the options; throws a 400 <see cref="AuthlyException"/>.</param>
    private sealed record Spec(
        RedisAccess Access, int Min, int Max, Keys Keys, int PairedFrom = -1, Action<string, IReadOnlyList<byte[]>>? Options = null);

    private const RedisAccess R = RedisAccess.Read;
    private const RedisAccess W = RedisAccess.Write;
    private const int Many = -1;

    private static readonly FrozenDictionary<string, Spec> Commands = new Dictionary<string, Spec>
    {
        // Strings and generic keys.
        ["GET"] = new(R, 1, 1, Keys.First),
        ["MGET"] = new(R, 1, Many, Keys.All),
        ["STRLEN"] = new(R, 1, 1, Keys.First),
        ["GETRANGE"] = new(R, 3, 3, Keys.First),
        ["EXISTS"] = new(R, 1, Many, Keys.All),
        ["TTL"] = new(R, 1, 1, Keys.First),
        ["PTTL"] = new(R, 1, 1, Keys.First),
        ["TYPE"] = new(R, 1, 1, Keys.First),
        // Hashes.
        ["HGET"] = new(R, 2, 2, Keys.First),
        ["HMGET"] = new(R, 2, Many, Keys.First),
        ["HGETALL"] = new(R, 1, 1, Keys.First),
        ["HKEYS"] = new(R, 1, 1, Keys.First),
        ["HVALS"] = new(R, 1, 1, Keys.First),
        ["HLEN"] = new(R, 1, 1, Keys.First),
        ["HEXISTS"] = new(R, 2, 2, Keys.First),
        ["HSTRLEN"] = new(R, 2, 2, Keys.First),
        // Lists.
        ["LRANGE"] = new(R, 3, 3, Keys.First),
        ["LLEN"] = new(R, 1, 1, Keys.First),
        ["LINDEX"] = new(R, 2, 2, Keys.First),
        // Sets.
        ["SMEMBERS"] = new(R, 1, 1, Keys.First),
        ["SISMEMBER"] = new(R, 2, 2, Keys.First),
        ["SMISMEMBER"] = new(R, 2, Many, Keys.First),
        ["SCARD"] = new(R, 1, 1, Keys.First),
        ["SINTER"] = new(R, 1, Many, Keys.All),
        ["SUNION"] = new(R, 1, Many, Keys.All),
        ["SDIFF"] = new(R, 1, Many, Keys.All),
        // Sorted sets. ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]: none of
        // the options names a key (ZRANGESTORE, which does, is a separate command and not listed).
        ["ZRANGE"] = new(R, 3, 9, Keys.First),
        ["ZRANGEBYSCORE"] = new(R, 3, 7, Keys.First),
        ["ZREVRANGE"] = new(R, 3, 4, Keys.First),
        ["ZSCORE"] = new(R, 2, 2, Keys.First),
        ["ZCARD"] = new(R, 1, 1, Keys.First),
        ["ZCOUNT"] = new(R, 3, 3, Keys.First),
        ["ZRANK"] = new(R, 2, 3, Keys.First),
        ["ZREVRANK"] = new(R, 2, 3, Keys.First),
        // Connection checks; they touch no keys.
        ["PING"] = new(R, 0, 1, Keys.None),
        ["ECHO"] = new(R, 1, 1, Keys.None),
        // SCAN walks the whole keyspace, so it is allowed only with a MATCH confined to the caller's prefix.
        ["SCAN"] = new(R, 1, 7, Keys.Scan, Options: CheckScan),

        // Strings and generic keys.
        ["SET"] = new(W, 2, Many, Keys.First, Options: CheckSet),
        ["SETEX"] = new(W, 3, 3, Keys.First),
        ["PSETEX"] = new(W, 3, 3, Keys.First),
        ["SETNX"] = new(W, 2, 2, Keys.First),
        ["MSET"] = new(W, 2, Many, Keys.EvenPositions, PairedFrom: 0),
        ["MSETNX"] = new(W, 2, Many, Keys.EvenPositions, PairedFrom: 0),
        ["DEL"] = new(W, 1, Many, Keys.All),
        ["UNLINK"] = new(W, 1, Many, Keys.All),
        ["EXPIRE"] = new(W, 2, 3, Keys.First, Options: CheckExpire),
        ["PEXPIRE"] = new(W, 2, 3, Keys.First, Options: CheckExpire),
        ["EXPIREAT"] = new(W, 2, 3, Keys.First, Options: CheckExpire),
        ["PEXPIREAT"] = new(W, 2, 3, Keys.First, Options: CheckExpire),
        ["PERSIST"] = new(W, 1, 1, Keys.First),
        ["INCR"] = new(W, 1, 1, Keys.First),
        ["DECR"] = new(W, 1, 1, Keys.First),
        ["INCRBY"] = new(W, 2, 2, Keys.First),
        ["DECRBY"] = new(W, 2, 2, Keys.First),
        ["INCRBYFLOAT"] = new(W, 2, 2, Keys.First),
        ["APPEND"] = new(W, 2, 2, Keys.First),
        ["SETRANGE"] = new(W, 3, 3, Keys.First),
        ["GETSET"] = new(W, 2, 2, Keys.First),
        ["GETDEL"] = new(W, 1, 1, Keys.First),
        ["GETEX"] = new(W, 1, 3, Keys.First, Options: CheckGetEx),
        ["RENAME"] = new(W, 2, 2, Keys.FirstTwo),
        ["RENAMENX"] = new(W, 2, 2, Keys.FirstTwo),
        ["COPY"] = new(W, 2, 5, Keys.FirstTwo, Options: CheckCopy),
        // Hashes.
        ["HSET"] = new(W, 3, Many, Keys.First, PairedFrom: 1),
        ["HSETNX"] = new(W, 3, 3, Keys.First),
        ["HMSET"] = new(W, 3, Many, Keys.First, PairedFrom: 1),
        ["HDEL"] = new(W, 2, Many, Keys.First),
        ["HINCRBY"] = new(W, 3, 3, Keys.First),
        ["HINCRBYFLOAT"] = new(W, 3, 3, Keys.First),
        // Lists.
        ["LPUSH"] = new(W, 2, Many, Keys.First),
        ["RPUSH"] = new(W, 2, Many, Keys.First),
        ["LPOP"] = new(W, 1, 2, Keys.First),
        ["RPOP"] = new(W, 1, 2, Keys.First),
        ["LSET"] = new(W, 3, 3, Keys.First),
        ["LREM"] = new(W, 3, 3, Keys.First),
        ["LTRIM"] = new(W, 3, 3, Keys.First),
        ["LINSERT"] = new(W, 4, 4, Keys.First),
        ["RPOPLPUSH"] = new(W, 2, 2, Keys.FirstTwo),
        ["LMOVE"] = new(W, 4, 4, Keys.FirstTwo),
        // Sets.
        ["SADD"] = new(W, 2, Many, Keys.First),
        ["SREM"] = new(W, 2, Many, Keys.First),
        ["SPOP"] = new(W, 1, 2, Keys.First),
        ["SMOVE"] = new(W, 3, 3, Keys.FirstTwo),
        ["SINTERSTORE"] = new(W, 2, Many, Keys.All),
        ["SUNIONSTORE"] = new(W, 2, Many, Keys.All),
        ["SDIFFSTORE"] = new(W, 2, Many, Keys.All),
        // Sorted sets. ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member …: only the first argument is a key.
        ["ZADD"] = new(W, 3, Many, Keys.First),
        ["ZREM"] = new(W, 2, Many, Keys.First),
        ["ZINCRBY"] = new(W, 3, 3, Keys.First),
        ["ZREMRANGEBYSCORE"] = new(W, 3, 3, Keys.First),
        ["ZREMRANGEBYRANK"] = new(W, 3, 3, Keys.First),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// The key prefix for a subject: <c>"user:" + encoded subject + ":"</c>, where the encoding replaces
    /// <c>%</c> with <c>%25</c> and <c>:</c> with <c>%3A</c>.
    /// </summary>
    /// <remarks>
    /// Without the encoding the prefix would be ambiguous: <c>user:a:b:x</c> could be subject <c>a:b</c> with key
    /// <c>x</c>, or subject <c>a</c> with key <c>b:x</c>, and subject <c>a</c> could then reach <c>a:b</c>'s keys.
    /// After it the encoded subject holds no <c>:</c>, so the first <c>:</c> after <c>user:</c> always ends it,
    /// and encoding <c>%</c> too keeps two different subjects from encoding alike. Control characters are refused
    /// rather than encoded: no legitimate <c>sub</c> has them, and they would make keys unreadable in tooling.
    /// </remarks>
    public static string PrefixFor(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (subject.Length == 0)
            throw new ArgumentException("The subject is empty; every key must belong to someone.", nameof(subject));
        var encoded = new StringBuilder("user:", subject.Length + 8);
        foreach (var c in subject)
        {
            if (char.IsControl(c))
                throw new ArgumentException("The subject contains a control character.", nameof(subject));
            encoded.Append(c switch
            {
                '%' => "%25",
                ':' => "%3A",
                _ => c.ToString(),
            });
        }
        return encoded.Append(':').ToString();
    }

    /// <summary>
    /// Looks up the command (ASCII case-insensitive), checks arity and options, and prefixes every key argument
    /// with <see cref="PrefixFor"/>. Values, fields and members are passed through untouched.
    /// </summary>
    /// <exception cref="AuthlyException">403 when the command is not allowed; 400 when it has the wrong number of
    /// arguments or an option the proxy refuses.</exception>
    public static RedisPlan Plan(string command, IReadOnlyList<byte[]> args, string subject)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(args);
        var prefix = Encoding.UTF8.GetBytes(PrefixFor(subject));
        var name = Normalize(command);
        if (name is null || !Commands.TryGetValue(name, out var spec))
            // A refused command is a permission matter (403); a malformed allowed one (arity, options) is the caller's input (400).
            throw ProxyErrors.Forbidden($"Command '{Display(command)}' is not allowed");
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is null)
                throw new ArgumentException($"Argument {i} is null.", nameof(args));
        }

        if (args.Count < spec.Min || (spec.Max != Many && args.Count > spec.Max)
            || (spec.PairedFrom >= 0 && (args.Count - spec.PairedFrom) % 2 != 0))
            throw ProxyErrors.BadRequest($"Wrong number of arguments for '{name}'");
        spec.Options?.Invoke(name, args);

        if (spec.Keys == Keys.Scan)
            return new RedisPlan(name, spec.Access, RewriteScan(args, prefix));

        var planned = new byte[args.Count][];
        for (var i = 0; i < args.Count; i++)
            planned[i] = IsKey(spec.Keys, i) ? Concat(prefix, args[i]) : args[i];
        return new RedisPlan(name, spec.Access, planned);
    }

    /// <summary>True when the command is on the allow-list, for either access.</summary>
    public static bool IsAllowed(string command) => AccessOf(command) is not null;

    /// <summary>The access the command needs, or null when it is not allowed.</summary>
    public static RedisAccess? AccessOf(string command)
    {
        var name = command is null ? null : Normalize(command);
        return name is not null && Commands.TryGetValue(name, out var spec) ? spec.Access : null;
    }

    /// <summary>
    /// Strips the caller's prefix from a key name in a reply (in this table only SCAN returns key names).
    /// </summary>
    /// <exception cref="InvalidOperationException">The key is not the caller's. SCAN's rewritten MATCH makes
    /// that impossible, so it means a bug; the reply must fail rather than show another user's key name.</exception>
    public static byte[] Unprefix(byte[] key, string subject)
    {
        ArgumentNullException.ThrowIfNull(key);
        var prefix = Encoding.UTF8.GetBytes(PrefixFor(subject));
        if (!key.AsSpan().StartsWith(prefix))
            throw new InvalidOperationException("A key in the reply is outside the caller's namespace.");
        return key[prefix.Length..];
    }

    private static bool IsKey(Keys keys, int index) => keys switch
    {
        Keys.First => index == 0,
        Keys.FirstTwo => index <= 1,
        Keys.All => true,
        Keys.EvenPositions => index % 2 == 0,
        _ => false,
    };

    /// <summary>
    /// <c>SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]</c> with MATCH rewritten to the escaped prefix followed
    /// by the caller's pattern, or added as <c>prefix*</c>. Redis globs are anchored at the start, so a pattern
    /// that begins with literal prefix characters can only match keys that begin with the prefix; escaping
    /// <c>* ? [ ] \</c> keeps a subject such as <c>a*</c> from widening its own prefix to other subjects'.
    /// </summary>
    private static byte[][] RewriteScan(IReadOnlyList<byte[]> args, byte[] prefix)
    {
        var pattern = EscapeGlob(prefix);
        var rewritten = new List<byte[]>(args.Count + 2) { args[0] };
        var matched = false;
        for (var i = 1; i < args.Count; i += 2)
        {
            if (OptionName(args[i]) == "MATCH")
            {
                rewritten.Add(Encoding.ASCII.GetBytes("MATCH"));
                rewritten.Add(Concat(pattern, args[i + 1]));
                matched = true;
            }
            else
            {
                rewritten.Add(args[i]);
                rewritten.Add(args[i + 1]);
            }
        }
        if (!matched)
        {
            rewritten.Insert(1, Encoding.ASCII.GetBytes("MATCH"));
            rewritten.Insert(2, Concat(pattern, "*"u8.ToArray()));
        }
        return [.. rewritten];
    }

    private static byte[] EscapeGlob(byte[] literal)
    {
        var escaped = new List<byte>(literal.Length + 4);
        foreach (var b in literal)
        {
            if (b is (byte)'*' or (byte)'?' or (byte)'[' or (byte)']' or (byte)'\\')
                escaped.Add((byte)'\\');
            escaped.Add(b);
        }
        return [.. escaped];
    }

    private static void CheckScan(string command, IReadOnlyList<byte[]> args)
    {
        // Redis parses the cursor as an unsigned 64-bit number.
        if (!ulong.TryParse(Encoding.ASCII.GetString(args[0]), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out _))
            throw ProxyErrors.BadRequest("SCAN cursor must be an unsigned integer");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i += 2)
        {
            var option = OptionName(args[i]);
            if (option is not ("MATCH" or "COUNT" or "TYPE"))
                throw Unsupported("SCAN", args[i]);
            if (!seen.Add(option))
                throw ProxyErrors.BadRequest($"SCAN option '{option}' is given more than once");
            if (i + 1 >= args.Count)
                throw ProxyErrors.BadRequest($"SCAN option '{option}' needs a value");
        }
    }

    /// <summary>SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL].</summary>
    private static void CheckSet(string command, IReadOnlyList<byte[]> args)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? condition = null, expiry = null;
        for (var i = 2; i < args.Count; i++)
        {
            var option = OptionName(args[i]);
            switch (option)
            {
                case "NX" or "XX":
                    if (condition is not null && condition != option)
                        throw ProxyErrors.BadRequest("SET options NX and XX cannot be combined");
                    condition = option;
                    break;
                case "GET":
                    break;
                case "EX" or "PX" or "EXAT" or "PXAT" or "KEEPTTL":
                    if (expiry is not null && expiry != option)
                        throw ProxyErrors.BadRequest(
                            $"SET options {expiry} and {option} cannot be combined; give at most one of EX, PX, EXAT, PXAT and KEEPTTL");
                    expiry = option;
                    if (option != "KEEPTTL")
                        RequirePositive("SET", option, args, ++i);
                    break;
                default:
                    throw Unsupported("SET", args[i]);
            }
            if (!seen.Add(option))
                throw ProxyErrors.BadRequest($"SET option '{option}' is given more than once");
        }
    }

    /// <summary>GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST].</summary>
    private static void CheckGetEx(string command, IReadOnlyList<byte[]> args)
    {
        if (args.Count == 1)
            return;
        var option = OptionName(args[1]);
        switch (option)
        {
            case "PERSIST" when args.Count == 2:
                return;
            case "EX" or "PX" or "EXAT" or "PXAT":
                RequirePositive("GETEX", option, args, 2);
                if (args.Count > 3)
                    throw ProxyErrors.BadRequest("GETEX accepts only one option");
                return;
            case "PERSIST":
                throw ProxyErrors.BadRequest("GETEX accepts only one option");
            default:
                throw Unsupported("GETEX", args[1]);
        }
    }

    /// <summary>EXPIRE key seconds [NX|XX|GT|LT], and the same for PEXPIRE, EXPIREAT and PEXPIREAT.</summary>
    private static void CheckExpire(string command, IReadOnlyList<byte[]> args)
    {
        if (args.Count == 3 && OptionName(args[2]) is not ("NX" or "XX" or "GT" or "LT"))
            throw Unsupported(command, args[2]);
    }

    /// <summary>COPY source destination [DB n] [REPLACE]: DB is refused because the prefix isolates users only
    /// inside the proxy's own database; a copy into another database lands where nothing isolates it.</summary>
    private static void CheckCopy(string command, IReadOnlyList<byte[]> args)
    {
        var replace = false;
        for (var i = 2; i < args.Count; i++)
        {
            switch (OptionName(args[i]))
            {
                case "DB":
                    throw ProxyErrors.BadRequest("COPY option 'DB' is not allowed: the proxy works in one database");
                case "REPLACE" when replace:
                    throw ProxyErrors.BadRequest("COPY option 'REPLACE' is given more than once");
                case "REPLACE":
                    replace = true;
                    break;
                default:
                    throw Unsupported(command, args[i]);
            }
        }
    }

    private static void RequirePositive(string command, string option, IReadOnlyList<byte[]> args, int index)
    {
        if (index >= args.Count
            || !long.TryParse(Encoding.ASCII.GetString(args[index]), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value <= 0)
            throw ProxyErrors.BadRequest($"{command} option '{option}' needs a positive integer");
    }

    private static AuthlyException Unsupported(string command, byte[] option) =>
        ProxyErrors.BadRequest($"{command} option '{Display(Encoding.UTF8.GetString(option))}' is not supported");

    /// <summary>
    /// The upper-case ASCII form of an option, or null when it is not a plain ASCII word. Comparing after an
    /// ASCII-only fold keeps look-alikes such as the Kelvin sign or long s from matching <c>K</c> or <c>S</c>.
    /// </summary>
    private static string? OptionName(byte[] arg)
    {
        if (arg.Length is 0 or > 16)
            return null;
        var chars = new char[arg.Length];
        for (var i = 0; i < arg.Length; i++)
        {
            var b = arg[i];
            if (b is >= (byte)'a' and <= (byte)'z')
                b -= 32;
            else if (b is < (byte)'A' or > (byte)'Z')
                return null;
            chars[i] = (char)b;
        }
        return new string(chars);
    }

    /// <summary>The command name in upper case when it is plain ASCII letters, else null (never allowed).</summary>
    private static string? Normalize(string command) =>
        command.Length is > 0 and <= 32 && command.All(char.IsAsciiLetter) ? command.ToUpperInvariant() : null;

    /// <summary>The caller's text for an error message: upper-cased, non-printable characters replaced, shortened.</summary>
    private static string Display(string text)
    {
        var shown = new StringBuilder();
        foreach (var c in text.Length > 40 ? text[..40] : text)
            shown.Append(c is >= ' ' and <= '~' && c != '\'' ? char.ToUpperInvariant(c) : '?');
        return text.Length > 40 ? shown.Append('…').ToString() : shown.ToString();
    }

    private static byte[] Concat(byte[] first, byte[] second)
    {
        var joined = new byte[first.Length + second.Length];
        first.CopyTo(joined, 0);
        second.CopyTo(joined, first.Length);
        return joined;
    }
}
