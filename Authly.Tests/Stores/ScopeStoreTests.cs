using Authly.Scopes;
using Authly.Tests.Infrastructure;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>The active-scope set is cached per node; changes made on a node are visible there at once, bus or no bus.</summary>
[TestFixture, Category("Core")]
public sealed class ScopeStoreTests
{
    private NpgsqlDataSource _db = null!;
    private ScopeStore _store = null!;

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        _db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
        _store = new ScopeStore(_db, new SilentClusterBus(), TimeProvider.System, new Authly.Configuration.AuthlyOptions { DatabaseUrl = "", JwtSecretKey = "" },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ScopeStore>.Instance);
    }

    [TearDown] public Task DisposeAsync() => _db.DisposeAsync().AsTask();

    private static readonly CancellationToken None = CancellationToken.None;

    private async Task<IEnumerable<string>> ActiveNamesAsync() => (await _store.ActiveAsync(None)).Keys;

    [Test]
    public async Task Create_IsInTheActiveSetAtOnce()
    {
        Assert.That(await ActiveNamesAsync(), Does.Contain("read").And.Not.Contain("orders:read"), "now cached");
        await _store.CreateAsync("orders:read", "Read orders", isDefault: false, isActive: true, None);
        Assert.That(await ActiveNamesAsync(), Does.Contain("orders:read"));
    }

    [Test]
    public async Task Deactivate_LeavesTheActiveSetAtOnce()
    {
        await _store.CreateAsync("orders:read", null, isDefault: false, isActive: true, None);
        Assert.That(await ActiveNamesAsync(), Does.Contain("orders:read"));
        await _store.UpdateAsync("orders:read", null, isDefault: null, isActive: false, None);
        Assert.That(await ActiveNamesAsync(), Does.Not.Contain("orders:read"));
    }

    [Test]
    public async Task Delete_LeavesTheActiveSetAtOnce()
    {
        await _store.CreateAsync("orders:read", null, isDefault: false, isActive: true, None);
        Assert.That(await ActiveNamesAsync(), Does.Contain("orders:read"));
        Assert.That(await _store.DeleteAsync("orders:read", None), Is.True);
        Assert.That(await ActiveNamesAsync(), Does.Not.Contain("orders:read"));
    }

    [Test]
    public async Task Create_Duplicate_ReturnsNull()
    {
        Assert.That(await _store.CreateAsync("orders:read", "first", false, true, None), Is.Not.Null);
        Assert.That(await _store.CreateAsync("orders:read", "second", false, true, None), Is.Null);
        Assert.That((await _store.GetAsync("orders:read", None))!.Description, Is.EqualTo("first"));
    }

    [Test]
    public async Task Update_OnlyChangesWhatIsGiven()
    {
        await _store.CreateAsync("orders:read", "Read orders", isDefault: true, isActive: true, None);
        var updated = await _store.UpdateAsync("orders:read", description: null, isDefault: false, isActive: null, None);
        Assert.That(updated!.Description, Is.EqualTo("Read orders"));
        Assert.That(updated.IsDefault, Is.False);
        Assert.That(updated.IsActive, Is.True);
    }
}
