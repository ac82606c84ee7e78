namespace Authly.Configuration;

public enum AuthlyMode { Production, Embedded, Cli, Testing }
