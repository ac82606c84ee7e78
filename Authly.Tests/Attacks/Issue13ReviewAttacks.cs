using Authly.Caching;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// The second review of issue 13 ("one error model, decisions in Core"), as an attacker: the redesign
/// promised no change for callers, so every attempt here must fail for the attacker exactly as it did
/// before the redesign.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class Issue13ReviewCacheAttacks
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>The client table as the cache's loader sees it: whether the attacker's client is still active, read when the read starts.</summary>
    private sealed class ClientTable
    {
        public volatile bool Active = true;
        public TaskCompletionSource? Gate;

        public async Task<string?> FindActiveAsync(string clientId, CancellationToken ct)
        {
            var active = Active; // the row as the query saw it
            if (Gate is { } gate) await gate.Task.WaitAsync(ct);
            return active ? clientId : null;
        }
    }

    [Test, Description("Issue13 review (RefreshingCache): a lookup that starts after a deactivation was committed and announced never gets the answer of a read that began before it")]
    public async Task DeactivatedClient_ALookupAfterTheInvalidation_DoesNotJoinTheReadFromBeforeIt()
    {
        var table = new ClientTable { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var clients = new RefreshingCache<string, string?>("clients", new TestClock(DateTimeOffset.UtcNow), new ListLogger(),
            TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(900), table.FindActiveAsync, StringComparer.Ordinal);

        // A request of the attacker's client starts a read while the client is still active; the read is slow.
        var before = clients.GetAsync("stolen-client", None).AsTask();
        // The admin deactivates the client: the change is committed, then announced (Invalidate).
        table.Active = false;
        clients.Invalidate("stolen-client");
        // The attacker's next request arrives after that, while the old read is still running.
        var after = clients.GetAsync("stolen-client", None).AsTask();
        table.Gate.SetResult();

        Assert.That(await before, Is.EqualTo("stolen-client"), "the read that began before the change may answer what it read");
        Assert.That(await after, Is.Null, "a lookup that began after the change was announced must see the client deactivated");
        Assert.That(await clients.GetAsync("stolen-client", None), Is.Null, "and nothing from before the change was stored");
    }
}
