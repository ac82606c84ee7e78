namespace Authly.Tests.Infrastructure;

/// <summary>
/// A fixture on one in-process <see cref="AuthlyApp"/>, started before its tests and disposed after them. A fixture says
/// how its server differs (<see cref="Settings"/>, <see cref="WithRedis"/>, <see cref="Clock"/>) and may add a
/// <c>[OneTimeSetUp]</c> of its own, which NUnit runs after this one (and its <c>[OneTimeTearDown]</c> before the server stops).
/// Fixtures with several servers, a real socket, proxies or processes keep their own setup.
/// </summary>
public abstract class AppFixture
{
    /// <summary>The server under test. Named like the private field each fixture had, so the tests read as they did.</summary>
    protected AuthlyApp _app = null!;

    /// <summary>Settings over <see cref="AuthlyApp"/>'s test defaults (environment names from API.md).</summary>
    protected virtual IReadOnlyDictionary<string, string?>? Settings => null;

    protected virtual bool WithRedis => true;

    /// <summary>The server's clock, for fixtures that move time (a <see cref="TestClock"/>).</summary>
    protected virtual TimeProvider? Clock => null;

    [OneTimeSetUp]
    public async Task StartAppAsync() => _app = await AuthlyApp.StartAsync(Settings, WithRedis, Clock);

    [OneTimeTearDown]
    public void StopApp() => _app?.Dispose();
}

/// <summary>
/// An <see cref="AppFixture"/> with one registered public relying party that receives codes at <see cref="Redirect"/>
/// (<c>_clientId</c>). A fixture whose relying party is registered differently overrides <see cref="RegisterRelyingPartyAsync"/>.
/// </summary>
public abstract class RelyingPartyFixture : AppFixture
{
    protected const string Redirect = "https://rp.example/cb";

    /// <summary>The relying party's client_id.</summary>
    protected string _clientId = null!;

    protected virtual Task<string> RegisterRelyingPartyAsync() => BrowserFlow.CreatePublicClientAsync(_app, [Redirect]);

    [OneTimeSetUp]
    public async Task RegisterRelyingPartyOnceAsync() => _clientId = await RegisterRelyingPartyAsync();
}
