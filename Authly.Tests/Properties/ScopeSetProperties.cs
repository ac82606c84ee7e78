using Authly.OAuth;
using Authly.Scopes;
using CsCheck;

namespace Authly.Tests.Properties;

/// <summary>
/// RFC 6749 §3.3 scope syntax under generated input (CsCheck): scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), tokens
/// separated by spaces. Any set of valid tokens survives Join → Parse; any string is parsed to exactly its tokens or,
/// when one holds a character outside the grammar, refused with invalid_scope and nothing else.
/// </summary>
[TestFixture, Category("Properties")]
public sealed class ScopeSetProperties
{
    private static readonly Gen<string> Token = Gen.Char['\x21', '\x7e'].Array[1, 8].Select(c => new string(c.Where(x => x is not ('"' or '\\')).ToArray())).Where(t => t.Length > 0);

    private static bool InGrammar(char c) => c is '\x21' or (>= '\x23' and <= '\x5b') or (>= '\x5d' and <= '\x7e');

    [Test]
    public void ValidTokens_JoinThenParse_IsIdentity() =>
        Token.Array[0, 6].Sample(tokens =>
            Assert.That(ScopeSet.Parse(ScopeSet.Join(tokens)), Is.EquivalentTo(tokens.Distinct())), iter: 5_000);

    [Test]
    public void AnyString_ParsesToItsTokens_OrIsRefusedWithInvalidScope() =>
        Gen.OneOf(Gen.String[0, 20], Gen.Char[" a\"\\\t~!\u00e9\u0000"].Array[0, 12].Select(c => new string(c))).Sample(scope =>
        {
            var tokens = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var valid = tokens.All(t => t.All(InGrammar));
            try
            {
                var parsed = ScopeSet.Parse(scope);
                Assert.That(valid, Is.True, $"'{scope}' was accepted");
                Assert.That(parsed, Is.EquivalentTo(tokens.Distinct()));
            }
            catch (OAuthException e)
            {
                Assert.That(e.Error, Is.EqualTo("invalid_scope"));
                Assert.That(valid, Is.False, $"'{scope}' was refused");
            }
        }, iter: 5_000);
}
