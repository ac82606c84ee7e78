namespace Authly.Caching;

/// <summary>
/// A <see cref="RefreshingCache{TKey,TValue}"/>'s periodic re-read of every value it holds, in one query:
/// announcements on the cluster bus can be lost, and this bounds how long a lost one goes unseen.
/// </summary>
/// <param name="Every">How often one caller re-reads them all.</param>
/// <param name="LoadMany">Reads the given keys; a key missing from the answer keeps its entry until it expires.</param>
public sealed record BatchRevalidation<TKey, TValue>(
    TimeSpan Every,
    Func<IReadOnlyList<TKey>, CancellationToken, Task<IReadOnlyDictionary<TKey, TValue>>> LoadMany) where TKey : notnull;
