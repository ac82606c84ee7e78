using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

// Argon2id on one thread with the server's cost (AUTHLY_ARGON2_OPSLIMIT / _MEMLIMIT_KIB, default
// t=2, m=19456 KiB, p=1): one password hash (crypto_pwhash_str) per operation, three ways, in
// alternating rounds so that a neighbour's load hits all of them alike:
//   libsodium23  Debian's libsodium.so.23 through P/Invoke (Authly's binding until issue 15)
//   geralt       Geralt.Argon2id.ComputeHash, libsodium from the NuGet package (Authly's binding now)
//   konscious    Konscious.Security.Cryptography.Argon2id, managed (the design card's choice), raw 32-byte tag
// Verification costs the same as hashing (one Argon2id run); it is checked for each binding once.
// Usage: argon2bench [rounds, default 5] [seconds per round and kind, default 3] [t, default 2] [m KiB, default 19456]

var inv = CultureInfo.InvariantCulture;
var rounds = args.Length > 0 ? int.Parse(args[0], inv) : 5;
var seconds = args.Length > 1 ? double.Parse(args[1], inv) : 3;
var t = args.Length > 2 ? int.Parse(args[2], inv) : 2;
var mKiB = args.Length > 3 ? int.Parse(args[3], inv) : 19456;
var password = Encoding.UTF8.GetBytes("correct horse battery staple");

if (Legacy.sodium_init() < 0) throw new InvalidOperationException("sodium_init() failed");

string LegacyHash()
{
    var output = new byte[128];
    if (Legacy.crypto_pwhash_str_alg(output, password, (ulong)password.Length, (ulong)t, (nuint)mKiB * 1024, 2) != 0)
        throw new InvalidOperationException("crypto_pwhash_str_alg failed");
    return Encoding.ASCII.GetString(output, 0, Array.IndexOf(output, (byte)0));
}
bool LegacyVerify(string hash)
{
    var h = new byte[hash.Length + 1];
    Encoding.ASCII.GetBytes(hash, h);
    return Legacy.crypto_pwhash_str_verify(h, password, (ulong)password.Length) == 0;
}
string GeraltHash()
{
    Span<char> buffer = stackalloc char[Geralt.Argon2id.HashSize];
    Geralt.Argon2id.ComputeHash(buffer, password, t, mKiB * 1024);
    return new string(buffer.TrimEnd('\0'));
}
byte[] KonsciousHash()
{
    using var argon = new Argon2id(password)
    {
        Salt = RandomNumberGenerator.GetBytes(16), Iterations = t, MemorySize = mKiB, DegreeOfParallelism = 1,
    };
    return argon.GetBytes(32);
}

// The formats are one: each binding verifies the other's hash, and a wrong password fails.
var fromLegacy = LegacyHash();
var fromGeralt = GeraltHash();
if (!Geralt.Argon2id.VerifyHash(fromLegacy, password) || !LegacyVerify(fromGeralt)
    || Geralt.Argon2id.VerifyHash(fromLegacy, "wrong"u8) || LegacyVerify(fromGeralt[..^2] + "AA"))
    throw new InvalidOperationException("libsodium23 and Geralt hashes do not cross-verify");
Console.WriteLine($"Argon2id t={t} m={mKiB} KiB p=1, 1 thread, {rounds} rounds of {seconds:0.#} s per kind; sample: {fromGeralt}");

var process = Process.GetCurrentProcess();
(double Rate, double CpuMs) Measure(Func<object> op)
{
    process.Refresh();
    var cpu = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var n = 0;
    while (sw.Elapsed.TotalSeconds < seconds) { GC.KeepAlive(op()); n++; }
    sw.Stop();
    process.Refresh();
    return (n / sw.Elapsed.TotalSeconds, (process.TotalProcessorTime - cpu).TotalMilliseconds / n);
}

var kinds = new (string Name, Func<object> Op)[] { ("libsodium23", LegacyHash), ("geralt", GeraltHash), ("konscious", KonsciousHash) };
foreach (var (_, op) in kinds) op(); // warm-up: JIT, first allocation of the Argon2 memory
var results = kinds.ToDictionary(k => k.Name, _ => new List<(double Rate, double CpuMs)>());
for (var r = 1; r <= rounds; r++)
{
    var line = new StringBuilder().Append(inv, $"round {r}:");
    foreach (var (name, op) in kinds)
    {
        var m = Measure(op);
        results[name].Add(m);
        line.Append(inv, $"  {name} {m.Rate:0.00}/s ({m.CpuMs:0.0} ms CPU)");
    }
    Console.WriteLine(line);
}
Console.WriteLine("kind         best/s  median/s  worst/s  median CPU ms/hash");
foreach (var (name, _) in kinds)
{
    var rates = results[name].Select(x => x.Rate).Order().ToArray();
    var cpu = results[name].Select(x => x.CpuMs).Order().ToArray();
    Console.WriteLine(string.Format(inv, "{0,-11} {1,7:0.00} {2,9:0.00} {3,8:0.00} {4,10:0.0}",
        name, rates[^1], rates[rates.Length / 2], rates[0], cpu[cpu.Length / 2]));
}

internal static partial class Legacy
{
    private const string Library = "libsodium.so.23";
    [LibraryImport(Library)] internal static partial int sodium_init();
    [LibraryImport(Library)] internal static partial int crypto_pwhash_str_alg(byte[] output, byte[] password, ulong passwordLength, ulong opsLimit, nuint memLimit, int alg);
    [LibraryImport(Library)] internal static partial int crypto_pwhash_str_verify(byte[] hash, byte[] password, ulong passwordLength);
}
