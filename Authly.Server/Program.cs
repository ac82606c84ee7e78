using Authly.Configuration;
using Authly.Server;

try
{
    var app = AuthlyWebApp.Build(args);
    await app.RunAsync();
}
catch (AuthlyConfigurationException e)
{
    Console.Error.WriteLine(e.Message);
    Environment.Exit(2);
}

/// <summary>The entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
