using System.Text;

namespace Authly.Proxy;

/// <summary>The kinds of token <see cref="SqlLexer"/> produces; comments and whitespace produce none.</summary>
internal enum SqlTokenKind
{
    /// <summary>An unquoted identifier or keyword, ASCII-folded to lower case as PostgreSQL folds it.</summary>
    Word,
    /// <summary>A "quoted identifier"; Text is its value with "" undone. Never a keyword.</summary>
    QuotedIdentifier,
    /// <summary>A U&amp;"quoted identifier"; Text still holds its \XXXX escapes (a UESCAPE clause may follow).</summary>
    UnicodeIdentifier,
    /// <summary>Any string constant ('', E'', B'', X'', N'', U&amp;'', dollar-quoted); Text is the source slice.</summary>
    String,
    Number,
    /// <summary>A $n placeholder; Text is the digits.</summary>
    Parameter,
    /// <summary>One punctuation or operator character: ( ) , ; . :: etc.</summary>
    Punctuation,
}

/// <summary>One token and the parenthesis depth it sits at (a '(' and its ')' have the depth outside them).</summary>
internal readonly record struct SqlToken(SqlTokenKind Kind, string Text, int Depth)
{
    public bool IsWord(string word) => Kind == SqlTokenKind.Word && Text == word;

    public bool IsPunctuation(char c) => Kind == SqlTokenKind.Punctuation && Text.Length == 1 && Text[0] == c;
}

/// <summary>
/// Splits SQL into tokens by PostgreSQL's own lexical rules (src/backend/parser/scan.l), so that the classifier
/// sees exactly the keywords the server will see. Substring matching cannot do this: a keyword inside a
/// string, comment or dollar quote is not a keyword, and a quote inside an E'' string may not end it.
/// Anything the lexer cannot end (quoted text, block comment) is rejected rather than guessed at, because
/// a guess that differs from the server's reading is how a second statement gets smuggled past the proxy.
/// </summary>
/// <remarks>
/// Plain '' strings are lexed with standard_conforming_strings = on (the default since PostgreSQL 9.1):
/// a backslash does not escape the quote. The proxy's connections must keep that setting; changing it
/// takes SET, which is an admin statement.
/// </remarks>
internal static class SqlLexer
{
    public static List<SqlToken> Tokenize(string sql)
    {
        var tokens = new List<SqlToken>();
        var depth = 0;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            var next = At(sql, i + 1);
            if (IsSpace(c))
            {
                i++;
            }
            else if (c == '-' && next == '-')
            {
                i = SkipLineComment(sql, i);
            }
            else if (c == '/' && next == '*')
            {
                i = SkipBlockComment(sql, i);
            }
            else if (c == '\'')
            {
                i = Add(tokens, SqlTokenKind.String, sql, i, ReadString(sql, i, backslashEscapes: false), depth);
            }
            else if (c is 'e' or 'E' && next == '\'')
            {
                // E'...': C-style escapes, so E'\'' holds a quote and does not end at the second one.
                i = Add(tokens, SqlTokenKind.String, sql, i, ReadString(sql, i + 1, backslashEscapes: true), depth);
            }
            else if (c is 'b' or 'B' or 'x' or 'X' or 'n' or 'N' && next == '\'')
            {
                i = Add(tokens, SqlTokenKind.String, sql, i, ReadString(sql, i + 1, backslashEscapes: false), depth);
            }
            else if (c is 'u' or 'U' && next == '&' && At(sql, i + 2) == '\'')
            {
                // U&'...' escapes are backslash + hex digits; the quote is still only doubled, never escaped.
                i = Add(tokens, SqlTokenKind.String, sql, i, ReadString(sql, i + 2, backslashEscapes: false), depth);
            }
            else if (c is 'u' or 'U' && next == '&' && At(sql, i + 2) == '"')
            {
                var (value, end) = ReadQuotedIdentifier(sql, i + 2);
                tokens.Add(new SqlToken(SqlTokenKind.UnicodeIdentifier, value, depth));
                i = end;
            }
            else if (c == '"')
            {
                var (value, end) = ReadQuotedIdentifier(sql, i);
                tokens.Add(new SqlToken(SqlTokenKind.QuotedIdentifier, value, depth));
                i = end;
            }
            else if (c == '$')
            {
                i = ReadDollar(sql, i, tokens, depth);
            }
            else if (IsIdentifierStart(c))
            {
                var end = i + 1;
                while (end < sql.Length && IsIdentifierPart(sql[end])) end++;
                tokens.Add(new SqlToken(SqlTokenKind.Word, FoldAscii(sql.AsSpan(i, end - i)), depth));
                i = end;
            }
            else if (IsDigit(c) || (c == '.' && IsDigit(next)))
            {
                i = Add(tokens, SqlTokenKind.Number, sql, i, ReadNumber(sql, i), depth);
            }
            else if (c == '(')
            {
                tokens.Add(new SqlToken(SqlTokenKind.Punctuation, "(", depth));
                depth++;
                i++;
            }
            else if (c == ')')
            {
                if (--depth < 0) throw ProxyErrors.BadRequest("Unbalanced parentheses in SQL statement");
                tokens.Add(new SqlToken(SqlTokenKind.Punctuation, ")", depth));
                i++;
            }
            else
            {
                // Operators are kept one character at a time: PostgreSQL ends an operator where "--" or "/*"
                // begins, and checking every character for a comment start gives the same split.
                tokens.Add(new SqlToken(SqlTokenKind.Punctuation, c.ToString(), depth));
                i++;
            }
        }
        if (depth != 0) throw ProxyErrors.BadRequest("Unbalanced parentheses in SQL statement");
        return tokens;
    }

    /// <summary>
    /// Decodes the \XXXX and \+XXXXXX escapes of a U&amp;"identifier" with the given escape character, or
    /// returns null when they are malformed (PostgreSQL would reject the statement).
    /// </summary>
    public static string? DecodeUnicodeEscapes(string value, char escape)
    {
        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != escape)
            {
                sb.Append(value[i]);
                continue;
            }
            if (At(value, i + 1) == escape)
            {
                sb.Append(escape);
                i++;
                continue;
            }
            var plus = At(value, i + 1) == '+';
            var start = plus ? i + 2 : i + 1;
            var length = plus ? 6 : 4;
            if (start + length > value.Length
                || !int.TryParse(value.AsSpan(start, length), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var code)
                || code > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF || code == 0)
                return null;
            sb.Append(char.ConvertFromUtf32(code));
            i = start + length - 1;
        }
        return sb.ToString();
    }

    private static int Add(List<SqlToken> tokens, SqlTokenKind kind, string sql, int start, int end, int depth)
    {
        tokens.Add(new SqlToken(kind, sql[start..end], depth));
        return end;
    }

    private static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    // scan.l: space [ \t\n\r\f\v]. Other Unicode spaces are identifier characters to PostgreSQL, and so here.
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    // scan.l: ident_start [A-Za-z\200-\377_], ident_cont adds [0-9\$].
    private static bool IsIdentifierStart(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or '_' || c >= '\u0080';

    private static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || IsDigit(c) || c == '$';

    // scan.l: dolq_cont is ident_cont without '$'.
    private static bool IsDollarTagPart(char c) => IsIdentifierStart(c) || IsDigit(c);

    /// <summary>PostgreSQL folds only ASCII letters in identifiers (UTF-8 databases), so "ſelect" is not SELECT.</summary>
    private static string FoldAscii(ReadOnlySpan<char> word)
    {
        Span<char> buffer = word.Length <= 256 ? stackalloc char[word.Length] : new char[word.Length];
        for (var i = 0; i < word.Length; i++)
            buffer[i] = word[i] is >= 'A' and <= 'Z' ? (char)(word[i] + 32) : word[i];
        return new string(buffer);
    }

    private static int SkipLineComment(string sql, int i)
    {
        while (i < sql.Length && sql[i] is not ('\n' or '\r')) i++;
        return i;
    }

    /// <summary>Block comments nest in PostgreSQL (unlike the SQL standard), so /* /* */ DROP */ is all comment.</summary>
    private static int SkipBlockComment(string sql, int i)
    {
        var nesting = 0;
        while (i < sql.Length)
        {
            if (sql[i] == '/' && At(sql, i + 1) == '*')
            {
                nesting++;
                i += 2;
            }
            else if (sql[i] == '*' && At(sql, i + 1) == '/')
            {
                i += 2;
                if (--nesting == 0) return i;
            }
            else
            {
                i++;
            }
        }
        throw ProxyErrors.BadRequest("Unterminated block comment in SQL statement");
    }

    /// <summary>
    /// Reads a quoted string whose opening quote is at <paramref name="quote"/> and returns the index after it.
    /// Follows scan.l's quotecontinue: 'a' then a newline then 'b' is one constant, and the continuation keeps
    /// the first part's escape rules; missing that would let E'..' continuations hide a semicolon.
    /// </summary>
    private static int ReadString(string sql, int quote, bool backslashEscapes)
    {
        var i = quote + 1;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (backslashEscapes && c == '\\')
            {
                i += 2;
            }
            else if (c == '\'')
            {
                if (At(sql, i + 1) == '\'')
                {
                    i += 2;
                    continue;
                }
                var continued = Continuation(sql, i + 1);
                if (continued < 0) return i + 1;
                i = continued + 1;
            }
            else
            {
                i++;
            }
        }
        throw ProxyErrors.BadRequest("Unterminated quoted string in SQL statement");
    }

    /// <summary>
    /// scan.l: quotecontinue = horiz_whitespace* newline special_whitespace* quote, where "--" comments count
    /// as whitespace. Returns the index of the continuing quote, or -1 when the string really ended.
    /// </summary>
    private static int Continuation(string sql, int i)
    {
        while (i < sql.Length)
        {
            if (sql[i] is ' ' or '\t' or '\f') i++;
            else if (sql[i] == '-' && At(sql, i + 1) == '-') i = SkipLineComment(sql, i);
            else break;
        }
        if (At(sql, i) is not ('\n' or '\r')) return -1;
        i++;
        while (i < sql.Length)
        {
            if (IsSpace(sql[i]))
            {
                i++;
            }
            else if (sql[i] == '-' && At(sql, i + 1) == '-')
            {
                i = SkipLineComment(sql, i);
                if (At(sql, i) is not ('\n' or '\r')) return -1;
                i++;
            }
            else
            {
                break;
            }
        }
        return At(sql, i) == '\'' ? i : -1;
    }

    private static (string Value, int End) ReadQuotedIdentifier(string sql, int quote)
    {
        var sb = new StringBuilder();
        var i = quote + 1;
        while (i < sql.Length)
        {
            if (sql[i] == '"')
            {
                if (At(sql, i + 1) != '"') return (sb.ToString(), i + 1);
                sb.Append('"');
                i += 2;
            }
            else
            {
                sb.Append(sql[i]);
                i++;
            }
        }
        throw ProxyErrors.BadRequest("Unterminated quoted identifier in SQL statement");
    }

    /// <summary>
    /// '$' starts a placeholder ($1), a dollar quote ($$ or $tag$, the tag not starting with a digit), or is
    /// a lone character. A '$' inside an identifier (a$$b) never gets here: it is part of the identifier.
    /// </summary>
    private static int ReadDollar(string sql, int i, List<SqlToken> tokens, int depth)
    {
        var j = i + 1;
        if (IsDigit(At(sql, j)))
        {
            while (IsDigit(At(sql, j))) j++;
            tokens.Add(new SqlToken(SqlTokenKind.Parameter, sql[(i + 1)..j], depth));
            return j;
        }
        if (IsIdentifierStart(At(sql, j)))
            while (j < sql.Length && IsDollarTagPart(sql[j])) j++;
        if (At(sql, j) != '$')
        {
            tokens.Add(new SqlToken(SqlTokenKind.Punctuation, "$", depth));
            return i + 1;
        }
        var delimiter = sql[i..(j + 1)];
        var close = sql.IndexOf(delimiter, j + 1, StringComparison.Ordinal);
        if (close < 0) throw ProxyErrors.BadRequest("Unterminated dollar-quoted string in SQL statement");
        return Add(tokens, SqlTokenKind.String, sql, i, close + delimiter.Length, depth);
    }

    /// <summary>
    /// Numbers end where PostgreSQL ends them: 1into is 1 then INTO to older servers (newer ones reject it),
    /// so the letters must come out as a word here too.
    /// </summary>
    private static int ReadNumber(string sql, int i)
    {
        if (sql[i] == '0' && At(sql, i + 1) is 'x' or 'X' or 'o' or 'O' or 'b' or 'B' && char.IsAsciiHexDigit(At(sql, i + 2)))
        {
            i += 2;
            while (char.IsAsciiHexDigit(At(sql, i)) || At(sql, i) == '_') i++;
            return i;
        }
        while (IsDigit(At(sql, i)) || At(sql, i) == '_') i++;
        if (At(sql, i) == '.' && At(sql, i + 1) != '.')
        {
            i++;
            while (IsDigit(At(sql, i)) || At(sql, i) == '_') i++;
        }
        if (At(sql, i) is 'e' or 'E')
        {
            var j = At(sql, i + 1) is '+' or '-' ? i + 2 : i + 1;
            if (IsDigit(At(sql, j)))
            {
                i = j;
                while (IsDigit(At(sql, i))) i++;
            }
        }
        return i;
    }
}
