using System.Buffers.Text;
using System.Diagnostics;
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

var sink = 0;
var process = Process.GetCurrentProcess();
// Signatures per wall-clock second, and this process's CPU time per signature (which a
// neighbour's load changes much less than the rate).
(double Rate, double CpuMicros) Measure(Func<int> sign, double forSeconds)
{
    process.Refresh();
    var cpu = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var n = 0;
    while (sw.Elapsed.TotalSeconds < forSeconds)
    {
        for (var i = 0; i < 20; i++) sink += sign();
        n += 20;
    }
    var rate = n / sw.Elapsed.TotalSeconds;
    process.Refresh();
    return (rate, (process.TotalProcessorTime - cpu).TotalMicroseconds / n);
}

// The machine is shared, so measure in short alternating rounds and keep the best and the median
// of each: a neighbour's burst then lowers one round of each kind, not one kind as a whole.
Func<int> rawSign = () => rsa.SignData(signingInput, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).Length;
Func<int> fullSign = () => CreateToken().Length;
Measure(rawSign, 0.5); // warm up: JIT tiers, OpenSSL state
Measure(fullSign, 0.5);
var raws = new List<(double Rate, double CpuMicros)>();
var fulls = new List<(double Rate, double CpuMicros)>();
for (var r = 0; r < rounds; r++)
{
    raws.Add(Measure(rawSign, seconds));
    fulls.Add(Measure(fullSign, seconds));
}
Report("raw RSA.SignData", raws);
Report("JsonWebTokenHandler.CreateToken", fulls);
GC.KeepAlive(sink);

static void Report(string name, List<(double Rate, double CpuMicros)> rounds)
{
    var rates = rounds.Select(r => r.Rate).Order().ToList();
    var cpu = rounds.Select(r => r.CpuMicros).Order().ToList();
    Console.WriteLine($"{name,-32} best {rates[^1],6:0} sig/s  median {rates[rates.Count / 2],6:0}  worst {rates[0],6:0}" +
                      $"  CPU {cpu[0],5:0} us/sig (median {cpu[cpu.Count / 2]:0})");
}
