using Authly.Configuration;
using Microsoft.Extensions.Logging;

namespace Authly.Tokens;

/// <summary>
/// Automatic signing-key rotation (issue 18): every node offers a round once a minute
/// (<see cref="SigningKeyStore.RotateIfDueAsync"/>); the one that takes the key-change advisory lock does the work.
/// Nothing here decides when a node starts signing with the new key: that is the stored activation instant,
/// which each node compares with its clock (<see cref="SigningKeyStore.KeyRing.At"/>).
/// </summary>
public sealed class SigningKeyRotation(SigningKeyStore keys, AuthlyOptions options, TimeProvider clock, ILogger<SigningKeyRotation> log)
{
    /// <summary>How often a node offers a round: far inside the announce period, so a due rotation is never late by more than this.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMinutes(1);

    /// <summary>Raised after a round in which this node scheduled a new key.</summary>
    public event Action? Scheduled;

    public async Task<SigningKeyStore.RoundOutcome> RunOnceAsync(CancellationToken ct)
    {
        var outcome = await keys.RotateIfDueAsync(ct);
        if (outcome == SigningKeyStore.RoundOutcome.Scheduled)
        {
            var pending = (await keys.RingAsync(ct)).Pending;
            log.LogInformation("Signing key {Kid} published; it signs from {ActivatesAt:o} (automatic rotation every {Days} days)",
                pending?.Kid, pending?.ActivatesAt, options.KeyRotationDays);
            Scheduled?.Invoke();
        }
        return outcome;
    }

    /// <summary>The loop every node runs until <paramref name="stop"/>; it never throws (a failed round is logged once per failing stretch).</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        if (options.KeyRotationDays == 0 || options.SigningAlgorithm == "HS256") return;
        using var timer = new PeriodicTimer(CheckInterval, clock);
        var failing = false;
        try
        {
            do
            {
                try
                {
                    await RunOnceAsync(stop);
                    if (failing) log.LogInformation("Signing-key rotation check works again");
                    failing = false;
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    if (!failing) log.LogWarning(e, "Signing-key rotation check failed; trying again every {Seconds} s", CheckInterval.TotalSeconds);
                    failing = true;
                }
            } while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
    }
}
