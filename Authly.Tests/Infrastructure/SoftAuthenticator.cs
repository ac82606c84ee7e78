using System.Buffers.Binary;
using System.Buffers.Text;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// A WebAuthn authenticator in software (WebAuthn §6): one ES256 credential, "none" attestation, real
/// signatures over real authenticator data and client data, so the HTTP-level tests reach the server's
/// Fido2 verification unchanged (nothing in Fido2 is faked). The attack tests bend one thing at a
/// time: the origin or rp id the "browser" reports, the counter, the user handle.
/// </summary>
public sealed class SoftAuthenticator : IDisposable
{
    private const byte UserPresent = 0x01, UserVerified = 0x04, BackupEligibleFlag = 0x08, BackedUpFlag = 0x10, AttestedData = 0x40;

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public byte[] CredentialId { get; } = RandomNumberGenerator.GetBytes(32);
    public string Id => Base64Url.EncodeToString(CredentialId);

    /// <summary>The user handle the server gave at registration (returned with every assertion).</summary>
    public byte[]? UserHandle { get; set; }

    /// <summary>The signature counter; each assertion adds <see cref="CounterStep"/> first (0: an authenticator without a counter).</summary>
    public uint Counter { get; set; }
    public uint CounterStep { get; init; } = 1;
    public bool BackupEligible { get; init; }

    /// <summary>What the client reports in clientDataJSON (the page's origin) and the rp id the authenticator scopes to.</summary>
    public string Origin { get; set; } = "http://localhost";
    public string RpId { get; set; } = "localhost";

    /// <summary>navigator.credentials.create: the answer to the server's creation options, in WebAuthn's JSON form.</summary>
    public JsonObject Create(JsonObject options)
    {
        UserHandle = Base64Url.DecodeFromChars(options["user"]!["id"]!.GetValue<string>());
        var clientData = ClientData("webauthn.create", options["challenge"]!.GetValue<string>());
        var cose = new CborWriter(CborConformanceMode.Lax);
        var p = _key.ExportParameters(false);
        cose.WriteStartMap(5);
        cose.WriteInt32(1); cose.WriteInt32(2);     // kty: EC2
        cose.WriteInt32(3); cose.WriteInt32(-7);    // alg: ES256
        cose.WriteInt32(-1); cose.WriteInt32(1);    // crv: P-256
        cose.WriteInt32(-2); cose.WriteByteString(p.Q.X!);
        cose.WriteInt32(-3); cose.WriteByteString(p.Q.Y!);
        cose.WriteEndMap();
        var idLength = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(idLength, (ushort)CredentialId.Length);
        byte[] authData = [.. AuthData(AttestedData), .. new byte[16], .. idLength, .. CredentialId, .. cose.Encode()];
        var attestation = new CborWriter(CborConformanceMode.Lax);
        attestation.WriteStartMap(3);
        attestation.WriteTextString("fmt"); attestation.WriteTextString("none");
        attestation.WriteTextString("attStmt"); attestation.WriteStartMap(0); attestation.WriteEndMap();
        attestation.WriteTextString("authData"); attestation.WriteByteString(authData);
        attestation.WriteEndMap();
        return new JsonObject
        {
            ["id"] = Id, ["rawId"] = Id, ["type"] = "public-key", ["clientExtensionResults"] = new JsonObject(),
            ["response"] = new JsonObject
            {
                ["attestationObject"] = Base64Url.EncodeToString(attestation.Encode()),
                ["clientDataJSON"] = Base64Url.EncodeToString(clientData),
                ["transports"] = new JsonArray("internal"),
            },
        };
    }

    /// <summary>navigator.credentials.get: an assertion over the server's request options.</summary>
    public JsonObject Get(JsonObject options, byte[]? userHandle = null)
    {
        Counter += CounterStep;
        var clientData = ClientData("webauthn.get", options["challenge"]!.GetValue<string>());
        var authData = AuthData(0);
        var signature = _key.SignData([.. authData, .. SHA256.HashData(clientData)], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var handle = userHandle ?? UserHandle;
        return new JsonObject
        {
            ["id"] = Id, ["rawId"] = Id, ["type"] = "public-key", ["clientExtensionResults"] = new JsonObject(),
            ["response"] = new JsonObject
            {
                ["authenticatorData"] = Base64Url.EncodeToString(authData),
                ["clientDataJSON"] = Base64Url.EncodeToString(clientData),
                ["signature"] = Base64Url.EncodeToString(signature),
                ["userHandle"] = handle is null ? null : Base64Url.EncodeToString(handle),
            },
        };
    }

    private byte[] ClientData(string type, string challenge) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["type"] = type, ["challenge"] = challenge, ["origin"] = Origin, ["crossOrigin"] = false,
    }.ToJsonString());

    private byte[] AuthData(byte extraFlags)
    {
        var flags = (byte)(UserPresent | UserVerified | extraFlags | (BackupEligible ? BackupEligibleFlag | BackedUpFlag : 0));
        var counter = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(counter, Counter);
        return [.. SHA256.HashData(Encoding.UTF8.GetBytes(RpId)), flags, .. counter];
    }

    public void Dispose() => _key.Dispose();
}
