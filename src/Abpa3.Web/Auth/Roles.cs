using Abpa3.Actors.Pairing;

namespace Abpa3.Web.Auth;

/// <summary>Role claim values and the authorization policies built on them.</summary>
public static class Roles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string OwnerPolicy = "owner";
    public const string OwnerOrAdminPolicy = "owner-or-admin";

    public static string ClaimValue(UserRole role) => role switch
    {
        UserRole.Owner => Owner,
        UserRole.Admin => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };
}
