using Akka.Actor;

namespace Abpa3.Actors.Peers;

/// <summary>Link addresses of devices: <c>akka.ssl.tcp://abpa3@host:port</c>, nothing else.</summary>
public static class PeerAddress
{
    public const int MaxLength = 300;

    public static bool IsLinkAddress(string? text)
    {
        if (text is not { Length: > 0 and <= MaxLength })
            return false;
        try
        {
            var address = Address.Parse(text);
            return address.Protocol == "akka.ssl.tcp" && address.System == "abpa3" && address.Host is { Length: > 0 }
                   && address.Port is > 0 and <= 65535 && address.ToString() == text;
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            return false;
        }
    }
}
