using System.CommandLine;
using Authly.Cli.Commands;

var root = new RootCommand("Authly: OAuth 2.1 and OpenID Connect authorization server")
{
    ServeCommand.Create(),
    MigrateCommand.Create(),
    VaultCommands.Create(),
};
return await root.Parse(args).InvokeAsync();
