using System.Text.Json;

namespace Authly.Passkeys;

/// <summary>Reads a WebAuthn answer (a PublicKeyCredential's JSON form, WebAuthn §5.1.8) into Fido2's type; anything else is a 400 naming <c>credential</c>.</summary>
internal static class PasskeyJson
{
    public static T Read<T>(JsonElement credential) where T : class
    {
        if (credential.ValueKind != JsonValueKind.Object) throw AuthlyException.Validation("credential must be a WebAuthn credential object", "credential");
        try { return credential.Deserialize<T>() ?? throw AuthlyException.Validation("credential must be a WebAuthn credential object", "credential"); }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw AuthlyException.Validation("credential is not a well-formed WebAuthn credential", "credential");
        }
    }
}
