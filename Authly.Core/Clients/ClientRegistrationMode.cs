namespace Authly.Clients;

/// <summary>AUTHLY_REGISTRATION: who may use RFC 7591 dynamic client registration.</summary>
public enum ClientRegistrationMode
{
    /// <summary>Nobody: the endpoint is not served (clients are made by an admin).</summary>
    Closed,
    /// <summary>Whoever holds an initial access token an admin made (RFC 7591 §3, the default).</summary>
    Token,
    /// <summary>Anyone (rate limited): self-registered clients still get no privileged scope.</summary>
    Open,
}
