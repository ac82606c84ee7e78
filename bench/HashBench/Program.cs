using System.Diagnostics;
using System.Globalization;
using Authly.Configuration;
using Authly.Security;

// Argon2id verification alone, on one thread: the ceiling for the password grant per core (issue 14: the
// password scenario's target is 80% of cores x this rate). Uses the server's own PasswordHasher with the cost
// the server would read from the same environment (AUTHLY_ARGON2_OPSLIMIT, AUTHLY_ARGON2_MEMLIMIT_KIB, with
// AuthlyOptions' defaults), and verifies the right password against its hash, as a good login does.
// Usage: hashbench [rounds, default 8] [seconds per round, default 1]

var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8;
var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1;
var defaults = new AuthlyOptions { DatabaseUrl = "" };
int Setting(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
var options = defaults with
{
    Argon2OpsLimit = Setting("AUTHLY_ARGON2_OPSLIMIT", defaults.Argon2OpsLimit),
    Argon2MemLimitKiB = Setting("AUTHLY_ARGON2_MEMLIMIT_KIB", defaults.Argon2MemLimitKiB),
};
var hasher = new PasswordHasher(options);
const string Password = "correct horse battery staple";
var hash = hasher.Hash(Password);
Console.WriteLine($"Argon2id m={options.Argon2MemLimitKiB} KiB, t={options.Argon2OpsLimit}, p=1 (${string.Join('$', hash.Split('$')[1..4])}), 1 thread, {rounds} rounds of {seconds:0.#} s");

var process = Process.GetCurrentProcess();
// Verifications per wall-clock second, and this process's CPU time per verification.
(double Rate, double CpuMicros) Measure(double forSeconds)
{
    process.Refresh();
    var cpu = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var n = 0;
    while (sw.Elapsed.TotalSeconds < forSeconds)
    {
        if (!hasher.Verify(Password, hash)) throw new InvalidOperationException("the right password did not verify");
        n++;
    }
    var rate = n / sw.Elapsed.TotalSeconds;
    process.Refresh();
    return (rate, (process.TotalProcessorTime - cpu).TotalMicroseconds / n);
}

Measure(0.5); // warm up
var results = Enumerable.Range(0, rounds).Select(_ => Measure(seconds)).ToList();
var rates = results.Select(r => r.Rate).Order().ToList();
var cpus = results.Select(r => r.CpuMicros).Order().ToList();
Console.WriteLine($"Argon2id verify best {rates[^1]:0.0} verify/s  median {rates[rates.Count / 2]:0.0}  worst {rates[0]:0.0}" +
                  $"  CPU {cpus[0]:0} us/verify (median {cpus[cpus.Count / 2]:0})");
