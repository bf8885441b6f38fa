using System.Security.Claims;
using Abpa3.Actors.Pairing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Abpa3.Web.Auth;

/// <summary>Issues and describes the validation of the device's access tokens (JWT, HMAC-SHA256).</summary>
public sealed class TokenIssuer(string deviceId, SymmetricSecurityKey key, EdgeSettings settings, TimeProvider clock)
{
    public const string Audience = "abpa3-mesh";
    public const string NameClaim = "sub";
    public const string RoleClaim = "role";
    private readonly JsonWebTokenHandler _handler = new();

    public TimeSpan Lifetime => settings.TokenLifetime;

    public string Issue(UserAccount account)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = deviceId,
            Audience = Audience,
            Subject = new ClaimsIdentity([
                new Claim(NameClaim, account.Username),
                new Claim(RoleClaim, Roles.ClaimValue(account.Role)),
                new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString("N")),
            ]),
            IssuedAt = now,
            NotBefore = now,
            Expires = now + settings.TokenLifetime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }

    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = deviceId,
        ValidAudience = Audience,
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = settings.ClockSkew,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        NameClaimType = NameClaim,
        RoleClaimType = RoleClaim,
        LifetimeValidator = (notBefore, expires, _, parameters) =>
        {
            var now = clock.GetUtcNow().UtcDateTime;
            return expires is { } end && now <= end + parameters.ClockSkew
                   && (notBefore is not { } start || now >= start - parameters.ClockSkew);
        },
    };
}
