using Authly.Proxy;
using CsCheck;

namespace Authly.Tests.Properties;

/// <summary>
/// The PostgreSQL proxy's scope gate under generated input (CsCheck). Two properties: arbitrary text, built from the
/// fragments that change PostgreSQL's lexical state (quotes, dollar quotes, comments, escapes), is classified or refused
/// with the one 400 error type and nothing else; and a write, however it is decorated with comments, whitespace, letter
/// case, quoted identifiers and string literals full of decoys, is never classified as a read.
/// </summary>
[TestFixture, Category("Properties")]
public sealed class SqlClassifierProperties
{
    private static readonly string[] Fragments =
    [
        "'", "''", "\"", "\"\"", "$$", "$a$", "$1", "$", "/*", "*/", "--", "\n", "\r", " ", "\t", "E'", "e'", "U&'", "U&\"",
        "\\", "\\'", "UESCAPE", "(", ")", ";", ",", ".", "select", "SELECT", "delete", "DELETE", "from", "t", "update", "set",
        "insert", "into", "values", "with", "as", "explain", "analyze", "copy", "stdin", "for", "drop", "nextval", "pg_settings",
        "1", "x", "é", "\0", "+", "0061",
    ];

    private static readonly Gen<string> ArbitrarySql = Gen.OneOf(
        Gen.Int[0, Fragments.Length - 1].Array[0, 30].Select(ix => string.Concat(ix.Select(i => Fragments[i]))),
        Gen.String[0, 60]);

    [Test]
    public void Classify_ArbitraryText_ClassifiesOrThrowsOnlyAuthlyException() =>
        ArbitrarySql.Sample(sql =>
        {
            try { SqlClassifier.Classify(sql); }
            catch (AuthlyException e) { Assert.That(e.Status, Is.EqualTo(400), sql); }
            try { SqlClassifier.MaxPlaceholder(sql); }
            catch (AuthlyException e) { Assert.That(e.Status, Is.EqualTo(400), sql); }
            SqlClassifier.IsDiscardAll(sql); // answers false for refused text, never throws
        }, iter: 20_000);

    /// <summary>Writes as token lists; "$LIT" is a literal slot filled with a decoy string, "$ID" an identifier slot.</summary>
    private static readonly string[][] Writes =
    [
        ["DELETE", "FROM", "$ID"],
        ["UPDATE", "$ID", "SET", "a", "=", "$LIT"],
        ["INSERT", "INTO", "$ID", "VALUES", "(", "$LIT", ")"],
        ["MERGE", "INTO", "$ID", "USING", "s", "ON", "true", "WHEN", "MATCHED", "THEN", "DELETE"],
        ["WITH", "x", "AS", "(", "DELETE", "FROM", "$ID", "RETURNING", "*", ")", "SELECT", "*", "FROM", "x"],
        ["WITH", "x", "AS", "(", "SELECT", "$LIT", ")", "UPDATE", "$ID", "SET", "a", "=", "$LIT"],
        ["SELECT", "*", "FROM", "$ID", "WHERE", "a", "=", "$LIT", "FOR", "UPDATE"],
        ["SELECT", "nextval", "(", "$LIT", ")"],
        ["EXPLAIN", "ANALYZE", "DELETE", "FROM", "$ID"],
        ["COPY", "(", "DELETE", "FROM", "$ID", "RETURNING", "*", ")", "TO", "STDOUT"],
        ["COPY", "$ID", "FROM", "STDIN"],
        ["DROP", "TABLE", "$ID"],
        ["TRUNCATE", "$ID"],
        ["CREATE", "TABLE", "$ID", "(", "a", "int", ")"],
        ["SET", "ROLE", "postgres"],
        ["UPDATE", "pg_settings", "SET", "setting", "=", "$LIT", "WHERE", "name", "=", "$LIT"],
    ];

    /// <summary>Text that cannot end or nest a comment, quote or line: every decoy PostgreSQL keeps inside the construct.</summary>
    private static readonly Gen<string> Decoy =
        Gen.Int[0, Fragments.Length - 1].Array[0, 8].Select(ix => string.Concat(ix.Select(i => Fragments[i])));

    private static readonly Gen<string> Separator = Gen.OneOf(
        Gen.OneOf(" ", "\n", "\t", "  ", "\r\n").Select(s => s),
        Decoy.Select(d => $"/*{d.Replace("/*", "").Replace("*/", "").Replace("*", "").Replace("/", "")}*/"),
        Decoy.Select(d => $" /* outer /* {d.Replace("/*", "").Replace("*/", "").Replace("*", "").Replace("/", "")} */ still comment */ "),
        Decoy.Select(d => $"--{d.Replace("\n", "").Replace("\r", "")}\n"));

    private static readonly Gen<string> Literal = Gen.OneOf(
        Decoy.Select(d => $"'{d.Replace("'", "''")}'"),
        Decoy.Select(d => $"$q${d.Replace("$q$", "")}$q$".Replace("$q$$q$", "$q$ $q$")),
        Decoy.Select(d => $"E'{d.Replace("\\", "\\\\").Replace("'", "\\'")}'"),
        Gen.Int[0, 1000].Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static readonly Gen<string> Identifier = Gen.OneOf(
        Gen.OneOf("t", "T", "public.t"),
        Gen.OneOf("select", "from", "t;drop", "--", "/*", "'", "read only").Select(name => $"\"{name.Replace("\"", "\"\"")}\""));

    private static Gen<string> Decorated(string[] tokens) =>
        from leading in Separator.Array[0, 2]
        from parts in Gen.Select(Separator, Gen.Bool, Literal, Identifier).Array[tokens.Length]
        from semicolon in Gen.Bool
        from trailing in Separator.Array[0, 2]
        select string.Concat(leading)
               + string.Concat(tokens.Select((token, i) =>
               {
                   var (separator, upper, literal, identifier) = parts[i];
                   var text = token switch { "$LIT" => literal, "$ID" => identifier, _ => upper ? token.ToUpperInvariant() : token.ToLowerInvariant() };
                   return (i == 0 ? "" : separator) + text;
               }))
               + (semicolon ? ";" : "") + string.Concat(trailing);

    [Test]
    public void Classify_AWriteDecoratedAnyway_IsNeverRead() =>
        Gen.Int[0, Writes.Length - 1].SelectMany(i => Decorated(Writes[i])).Sample(sql =>
        {
            var verdict = SqlClassifier.Classify(sql);
            Assert.That(verdict.Access, Is.GreaterThanOrEqualTo(SqlAccess.Write), $"{sql}\n→ {verdict}");
        }, iter: 5_000);
}
