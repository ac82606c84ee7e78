using Authly.Clients;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Counters;
using Authly.Grants;
using Authly.Scopes;
using Authly.Security;
using Authly.Storage;
using Authly.Tokens;
using Authly.Users;
using Authly.Vault;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace Authly;

public static class AuthlyCoreServices
{
    /// <summary>Registers the engine: one data source, Redis when configured, stores, grants. All singletons.</summary>
    public static IServiceCollection AddAuthlyCore(this IServiceCollection services, AuthlyOptions options)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ =>
        {
            var builder = new NpgsqlDataSourceBuilder(DatabaseUrl.ForServer(options.DatabaseUrl)); // pool and timeout defaults: docs/configuration.md
            builder.ConnectionStringBuilder.ApplicationName ??= "authly";
            // The pool's reset (DISCARD ALL when a connection is reused; "No Reset On Close" unset) stays on. Npgsql sends it
            // in front of the next command, so it costs no round trip, only one small read-only transaction on the server
            // (the extra commit per connection use in bench/README.md). It is what releases a session advisory lock the
            // sweeper or the migrator might leave behind if their unlock fails on a live connection, and what clears any
            // session state a future statement sets; dropping it would save that commit, not a wait.
            return builder.Build();
        });
        services.AddSingleton<Migrator>();
        services.AddSingleton<ExpiredRowSweeper>();
        services.AddSingleton<AuthlyStartup>();
        services.AddSingleton<Issuer>();

        if (options.RedisUrl is not null)
        {
            services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(RedisUrl.Parse(options.RedisUrl)));
            services.AddSingleton<ICounterStore>(sp => new RedisCounterStore(sp.GetRequiredService<IConnectionMultiplexer>(), options.RedisPrefix,
                new InProcessCounterStore(sp.GetRequiredService<TimeProvider>()), sp.GetRequiredService<ILogger<RedisCounterStore>>()));
            services.AddSingleton<IClusterBus>(sp => new RedisClusterBus(sp.GetRequiredService<IConnectionMultiplexer>(), options.RedisPrefix, sp.GetRequiredService<ILogger<RedisClusterBus>>()));
        }
        else
        {
            services.AddSingleton<ICounterStore, InProcessCounterStore>();
            services.AddSingleton<IClusterBus, LocalClusterBus>();
        }
        services.AddSingleton(sp => new RedisHealth(sp.GetService<IConnectionMultiplexer>()));
        services.AddSingleton<RateLimiter>();
        // Lockouts and user-code budgets: PostgreSQL always, so no Redis outage weakens them (issue 12).
        services.AddSingleton<AttemptGuardStore>();
        services.AddSingleton<PasswordGuard>();

        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<UserStore>();
        services.AddSingleton<AdminBootstrap>();
        services.AddSingleton<UserAccounts>();
        services.AddSingleton<PasswordLogin>();
        // Issue 16: second factors (docs/architecture.md "Second factors").
        services.AddSingleton<Mfa.TotpStore>();
        services.AddSingleton<Mfa.RecoveryCodeStore>();
        services.AddSingleton<Mfa.PendingLoginStore>();
        services.AddSingleton<Mfa.SecondFactors>();
        services.AddSingleton<Mfa.SecondFactorPolicy>();
        services.AddSingleton<Mfa.SecondFactorStep>();
        services.AddSingleton<Mfa.MfaAudit>();
        services.AddSingleton<Sessions.SessionStore>();
        // Passkeys (issue 16): WebAuthn registration, passwordless sign-in and the second-factor API.
        services.AddSingleton<Passkeys.WebAuthnRelyingParty>();
        services.AddSingleton<Passkeys.PasskeyStore>();
        services.AddSingleton<Passkeys.PasskeyChallengeStore>();
        services.AddSingleton<Passkeys.PasskeyGuard>();
        services.AddSingleton<Passkeys.PasskeyRegistration>();
        services.AddSingleton<Passkeys.PasskeyAssertion>();
        services.AddSingleton<ScopeStore>();
        services.AddSingleton<ClientStore>();
        services.AddSingleton<ClientAuthenticator>();
        // Issue 17 part 1: private_key_jwt and PAR.
        services.AddSingleton<ClientKeys>();
        services.AddSingleton<ClientAssertionJtis>();
        services.AddSingleton<ClientAssertion>();
        services.AddSingleton<Authorization.PushedAuthorizationStore>();
        services.AddSingleton<Authorization.PushedAuthorization>();

        services.AddSingleton<SigningKeyStore>();
        services.AddSingleton<SigningKeyRotation>();
        services.AddSingleton<Sessions.BackchannelLogout>();
        services.AddSingleton<JwtIssuer>();
        services.AddSingleton<RevocationList>();
        services.AddSingleton<RefreshTokenStore>();
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<TokenIntrospection>();
        services.AddSingleton<TokenRevocation>();
        services.AddSingleton<IntrospectionAccess>();
        services.AddSingleton<Admin.AdminAccess>();
        services.AddSingleton<Admin.SystemStatistics>();

        services.AddSingleton<ClientCredentialsGrant>();
        services.AddSingleton<PasswordGrant>();
        services.AddSingleton<RefreshTokenGrant>();
        services.AddSingleton<IGrantHandler>(sp => sp.GetRequiredService<ClientCredentialsGrant>());
        services.AddSingleton<IGrantHandler>(sp => sp.GetRequiredService<PasswordGrant>());
        services.AddSingleton<IGrantHandler>(sp => sp.GetRequiredService<RefreshTokenGrant>());
        services.AddSingleton<Grants.AuthorizationCodeGrant>();
        services.AddSingleton<DeviceCodeGrant>();
        services.AddSingleton<IGrantHandler>(sp => sp.GetRequiredService<Grants.AuthorizationCodeGrant>());
        services.AddSingleton<IGrantHandler>(sp => sp.GetRequiredService<DeviceCodeGrant>());
        // Issue 18: RFC 8693 token exchange, RFC 7591/7592 dynamic registration.
        services.AddSingleton<TokenExchangePolicyStore>();
        services.AddSingleton<TokenExchangeGrant>();
        services.AddSingleton<IGrantHandler>(sp => sp.GetRequiredService<TokenExchangeGrant>());
        services.AddSingleton<InitialAccessTokenStore>();
        services.AddSingleton<DynamicRegistration>();
        services.AddSingleton<GrantEngine>();
        // Issue 17, RFC 9449 (DPoP): one proof validator for the token endpoint and userinfo; jtis in Redis, else PostgreSQL.
        services.AddSingleton(sp => new OAuth.Dpop.DpopReplayStore(sp.GetRequiredService<Npgsql.NpgsqlDataSource>(),
            sp.GetService<IConnectionMultiplexer>(), options, sp.GetRequiredService<ILogger<OAuth.Dpop.DpopReplayStore>>()));
        services.AddSingleton<OAuth.Dpop.DpopNonces>();
        services.AddSingleton(sp => new OAuth.Dpop.DpopProofValidator(sp.GetRequiredService<OAuth.Dpop.DpopReplayStore>(),
            sp.GetRequiredService<OAuth.Dpop.DpopNonces>(), sp.GetRequiredService<TimeProvider>(), options.DpopIatWindow, options.ClockLeeway));
        services.AddSingleton<OAuth.Dpop.ResourceTokenAccess>();

        services.AddSingleton<Authorization.AuthorizeValidator>();
        services.AddSingleton<Authorization.AuthorizeFlow>();
        services.AddSingleton<Authorization.AuthorizationCodeStore>();
        services.AddSingleton<Authorization.ConsentStore>();
        services.AddSingleton<Authorization.UserCodeAttempts>();
        services.AddSingleton<Authorization.DeviceAuthorization>();
        services.AddSingleton<Authorization.DeviceApproval>();
        services.AddSingleton<Authorization.LogoutFlow>();
        services.AddSingleton<Oidc.IdTokenIssuer>();
        services.AddSingleton<Oidc.PublishedMetadata>();
        services.AddAuthlyVault(options);
        return services;
    }
}
