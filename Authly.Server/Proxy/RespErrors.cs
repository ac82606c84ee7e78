using Authly.Proxy;

namespace Authly.Server.Proxy;

/// <summary>
/// The RESP wire's one mapper from <see cref="AuthlyException"/> to a Redis error reply, with the prefixes Redis
/// clients act on: <c>WRONGPASS</c> for a refused AUTH, <c>NOAUTH</c> when a command's token no longer holds,
/// <c>NOPERM</c> for a refused command, <c>ERR</c> for everything else. The text after the prefix is the error's
/// <see cref="AuthlyException.Detail"/>.
/// </summary>
internal static class RespErrors
{
    /// <param name="atLogin">the failure answers AUTH (or HELLO AUTH) rather than a command</param>
    public static RespValue Reply(AuthlyException e, bool atLogin) => RespValue.Error((atLogin, e.Status) switch
    {
        (true, 401) => "WRONGPASS " + e.Detail,
        (true, _) => "ERR " + e.Detail,
        (false, 401) => "NOAUTH " + e.Detail + "; AUTH again with a fresh token",
        (false, 403) => "NOPERM " + e.Detail,
        _ => "ERR " + e.Detail,
    });
}
