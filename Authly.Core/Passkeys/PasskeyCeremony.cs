namespace Authly.Passkeys;

/// <summary>
/// A started WebAuthn ceremony: <see cref="Options"/> (JSON) goes to the page's script, <see cref="Handle"/>
/// into a cookie of this browser only; the answer is verified against the options stored under the handle.
/// </summary>
public sealed record PasskeyCeremony(string Handle, string Options);
