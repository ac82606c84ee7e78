using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Authly.Bench;
using Authly.Configuration;
using Authly.Security;
using Konscious.Security.Cryptography;

// Argon2id on one thread, two ways.
//
//   hashbench [rounds=8] [seconds=1]
//     Verification alone with the server's own PasswordHasher and the cost the server would read from the same
//     environment (AUTHLY_ARGON2_OPSLIMIT, AUTHLY_ARGON2_MEMLIMIT_KIB, read and range-checked by AuthlyOptions.Load):
//     the ceiling for the password grant per core (issue 14: the password scenario's target is 80% of cores x
//     this rate). bench/run.sh runs this.
//
//   hashbench compare [rounds=5] [seconds=3]
//     One hash per operation with the same cost, three bindings in alternating rounds (`make bench-argon2`):
//       geralt       Geralt.Argon2id.ComputeHash, libsodium from the NuGet package (Authly's binding since issue 15)
//       libsodium23  Debian's libsodium.so.23 through P/Invoke (Authly's binding until issue 15), when installed
//       konscious    Konscious.Security.Cryptography.Argon2id, managed (the design card's choice), raw 32-byte tag

var inv = CultureInfo.InvariantCulture;
var compare = args.Length > 0 && args[0] == "compare";
var rest = compare ? args[1..] : args;
var rounds = rest.Length > 0 ? int.Parse(rest[0], inv) : compare ? 5 : 8;
var seconds = rest.Length > 1 ? double.Parse(rest[1], inv) : compare ? 3 : 1;

// The server's reader, so the bench takes exactly the values (and refuses exactly the values) the server would.
var options = AuthlyOptions.Load(name => name switch
{
    "DATABASE_URL" => "postgresql://bench@127.0.0.1/bench", // not used; Load wants one
    "AUTHLY_MODE" => "testing",
    _ => Environment.GetEnvironmentVariable(name),
});
const string Password = "correct horse battery staple";

if (!compare)
{
    var hasher = new PasswordHasher(options);
    var hash = hasher.Hash(Password);
    Console.WriteLine($"Argon2id m={options.Argon2MemLimitKiB} KiB, t={options.Argon2OpsLimit}, p=1 (${string.Join('$', hash.Split('$')[1..4])}), 1 thread, {rounds} rounds of {seconds:0.#} s");
    int Verify() => hasher.Verify(Password, hash) ? 1 : throw new InvalidOperationException("the right password did not verify");
    BenchRounds.Measure(Verify, 0.5); // warm up
    var s = BenchRounds.Summarize(Enumerable.Range(0, rounds).Select(_ => BenchRounds.Measure(Verify, seconds)).ToList());
    Console.WriteLine($"Argon2id verify best {s.BestRate:0.0} verify/s  median {s.MedianRate:0.0}  worst {s.WorstRate:0.0}" +
                      $"  CPU {s.LowestCpuMicros:0} us/verify (median {s.MedianCpuMicros:0})");
    return;
}

var t = options.Argon2OpsLimit;
var mKiB = options.Argon2MemLimitKiB;
var password = Encoding.UTF8.GetBytes(Password);
var legacy = Legacy.TryInit();

int GeraltHash()
{
    Span<char> buffer = stackalloc char[Geralt.Argon2id.HashSize];
    Geralt.Argon2id.ComputeHash(buffer, password, t, mKiB * 1024);
    return buffer.IndexOf('\0');
}
int KonsciousHash()
{
    using var argon = new Argon2id(password)
    {
        Salt = RandomNumberGenerator.GetBytes(16), Iterations = t, MemorySize = mKiB, DegreeOfParallelism = 1,
    };
    return argon.GetBytes(32).Length;
}

var kinds = new List<(string Name, Func<int> Op)> { ("geralt", GeraltHash) };
if (legacy)
{
    // The formats are one: each binding verifies the other's hash, and a wrong password fails.
    Span<char> buffer = stackalloc char[Geralt.Argon2id.HashSize];
    Geralt.Argon2id.ComputeHash(buffer, password, t, mKiB * 1024);
    var fromGeralt = new string(buffer.TrimEnd('\0'));
    var fromLegacy = Legacy.Hash(password, t, mKiB);
    if (!Geralt.Argon2id.VerifyHash(fromLegacy, password) || !Legacy.Verify(fromGeralt, password)
        || Geralt.Argon2id.VerifyHash(fromLegacy, "wrong"u8) || Legacy.Verify(fromGeralt[..^2] + "AA", password))
        throw new InvalidOperationException("libsodium23 and Geralt hashes do not cross-verify");
    kinds.Add(("libsodium23", () => Legacy.Hash(password, t, mKiB).Length));
}
else Console.WriteLine("libsodium.so.23 is not installed (scripts/ensure-deps.sh libsodium23): comparing geralt and konscious only");
kinds.Add(("konscious", KonsciousHash));

Console.WriteLine($"Argon2id t={t} m={mKiB} KiB p=1, 1 thread, {rounds} rounds of {seconds:0.#} s per kind, one hash per operation");
foreach (var (_, op) in kinds) op(); // warm-up: JIT, first allocation of the Argon2 memory
var results = kinds.ToDictionary(k => k.Name, _ => new List<Round>());
for (var r = 1; r <= rounds; r++)
{
    var line = new StringBuilder().Append(inv, $"round {r}:");
    foreach (var (name, op) in kinds)
    {
        var m = BenchRounds.Measure(op, seconds);
        results[name].Add(m);
        line.Append(inv, $"  {name} {m.Rate:0.00}/s ({m.CpuMicros / 1000:0.0} ms CPU)");
    }
    Console.WriteLine(line);
}
Console.WriteLine("kind         best/s  median/s  worst/s  median CPU ms/hash");
foreach (var (name, _) in kinds)
{
    var s = BenchRounds.Summarize(results[name]);
    Console.WriteLine(string.Format(inv, "{0,-11} {1,7:0.00} {2,9:0.00} {3,8:0.00} {4,10:0.0}",
        name, s.BestRate, s.MedianRate, s.WorstRate, s.MedianCpuMicros / 1000));
}

internal static partial class Legacy
{
    private const string Library = "libsodium.so.23";

    public static bool TryInit()
    {
        if (!NativeLibrary.TryLoad(Library, out _)) return false;
        return sodium_init() >= 0 ? true : throw new InvalidOperationException("sodium_init() failed");
    }

    public static string Hash(byte[] password, int t, int mKiB)
    {
        var output = new byte[128];
        if (crypto_pwhash_str_alg(output, password, (ulong)password.Length, (ulong)t, (nuint)mKiB * 1024, 2) != 0)
            throw new InvalidOperationException("crypto_pwhash_str_alg failed");
        return Encoding.ASCII.GetString(output, 0, Array.IndexOf(output, (byte)0));
    }

    public static bool Verify(string hash, byte[] password)
    {
        var h = new byte[hash.Length + 1];
        Encoding.ASCII.GetBytes(hash, h);
        return crypto_pwhash_str_verify(h, password, (ulong)password.Length) == 0;
    }

    [LibraryImport(Library)] private static partial int sodium_init();
    [LibraryImport(Library)] private static partial int crypto_pwhash_str_alg(byte[] output, byte[] password, ulong passwordLength, ulong opsLimit, nuint memLimit, int alg);
    [LibraryImport(Library)] private static partial int crypto_pwhash_str_verify(byte[] hash, byte[] password, ulong passwordLength);
}
