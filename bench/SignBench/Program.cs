using Authly.Bench;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

// RS256 signing alone, on one thread: the ceiling for client_credentials issuance per core.
// Signs the same claims JwtIssuer puts in an access token (RFC 9068 profile, typ at+jwt) with a
// 2048-bit RSA key, two ways: the whole JsonWebTokenHandler.CreateToken path the server uses,
// and raw RSA.SignData over the same signing input (the cost of the RSA operation alone).
// Usage: signbench [rounds, default 8] [seconds per round and kind, default 1]

var rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 8;
var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
using var rsa = RSA.Create(2048);
var key = new RsaSecurityKey(rsa) { KeyId = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12)) };
var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
const string Issuer = "http://127.0.0.1:8000";
var clientId = "authly_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

string CreateToken()
{
    var now = DateTime.UtcNow;
    var descriptor = new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Issuer,
        IssuedAt = now,
        NotBefore = now,
        Expires = now.AddHours(1),
        TokenType = "at+jwt",
        Claims = new Dictionary<string, object>(8)
        {
            ["sub"] = clientId,
            ["jti"] = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            ["client_id"] = clientId,
            ["scope"] = "read",
        },
        SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
    };
    return handler.CreateToken(descriptor);
}

var sample = CreateToken();
var signingInput = Encoding.ASCII.GetBytes(sample[..sample.LastIndexOf('.')]);
Console.WriteLine($"token: {sample.Length} chars, signing input {signingInput.Length} bytes, RSA {rsa.KeySize} bits, 1 thread, {rounds} rounds of {seconds:0.#} s per kind");

// The machine is shared, so measure in short alternating rounds and keep the best and the median
// of each: a neighbour's burst then lowers one round of each kind, not one kind as a whole.
Func<int> rawSign = () => rsa.SignData(signingInput, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).Length;
Func<int> fullSign = () => CreateToken().Length;
BenchRounds.Measure(rawSign, 0.5, 20); // warm up: JIT tiers, OpenSSL state
BenchRounds.Measure(fullSign, 0.5, 20);
var raws = new List<Round>();
var fulls = new List<Round>();
for (var r = 0; r < rounds; r++)
{
    raws.Add(BenchRounds.Measure(rawSign, seconds, 20));
    fulls.Add(BenchRounds.Measure(fullSign, seconds, 20));
}
Report("raw RSA.SignData", BenchRounds.Summarize(raws));
Report("JsonWebTokenHandler.CreateToken", BenchRounds.Summarize(fulls));

static void Report(string name, Summary s) =>
    Console.WriteLine($"{name,-32} best {s.BestRate,6:0} sig/s  median {s.MedianRate,6:0}  worst {s.WorstRate,6:0}" +
                      $"  CPU {s.LowestCpuMicros,5:0} us/sig (median {s.MedianCpuMicros:0})");
