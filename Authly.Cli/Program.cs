using System.CommandLine;
using Authly.Cli;
using Authly.Cli.Commands;

var root = new RootCommand("Authly: OAuth 2.1 and OpenID Connect authorization server")
{
    ServeCommand.Create(),
    MigrateCommand.Create(),
    ResetMfaCommand.Create(),
    VaultCommands.Create(),
    ProxyCommands.Create(),
    AdminCommands.Create(),
    CompletionCommand.Create(),
};
return await CliRoot.RunAsync(root, args);
