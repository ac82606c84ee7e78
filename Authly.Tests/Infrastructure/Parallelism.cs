// Fixtures run two at a time; tests inside a fixture still run one after another. Every fixture has its own database
// and Redis key prefix (AuthlyApp, TestServers); fixtures that share something process- or server-wide are
// [NonParallelizable] and run alone. This file is its own commit so that it can be reverted alone.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]
