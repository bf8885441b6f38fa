using System.Text.Json.Serialization;
using Abpa3.Actors.Pairing;

namespace Abpa3.Web.Peers;

/// <summary>The J-PAKE rounds as JSON on the pairing endpoints: values as base64 two's-complement big-endian, bounded in size.</summary>
public static class PakeWire
{
    public const int MaxParticipantIdLength = 256;
    public const int MaxProofValues = 4;

    public sealed record Round1(
        [property: JsonPropertyName("participant_id")] string? ParticipantId,
        [property: JsonPropertyName("gx1")] string? Gx1,
        [property: JsonPropertyName("gx2")] string? Gx2,
        [property: JsonPropertyName("proof_x1")] string[]? ProofX1,
        [property: JsonPropertyName("proof_x2")] string[]? ProofX2);

    public sealed record Round2(
        [property: JsonPropertyName("participant_id")] string? ParticipantId,
        [property: JsonPropertyName("a")] string? A,
        [property: JsonPropertyName("proof_x2s")] string[]? ProofX2s);

    public sealed record Round3(
        [property: JsonPropertyName("participant_id")] string? ParticipantId,
        [property: JsonPropertyName("mac_tag")] string? MacTag);

    public static Round1 From(DevicePake.Round1 r) =>
        new(r.ParticipantId, B64(r.Gx1), B64(r.Gx2), r.ProofX1.Select(B64).ToArray(), r.ProofX2.Select(B64).ToArray());

    public static Round2 From(DevicePake.Round2 r) => new(r.ParticipantId, B64(r.A), r.ProofX2s.Select(B64).ToArray());

    public static Round3 From(DevicePake.Round3 r) => new(r.ParticipantId, B64(r.MacTag));

    public static DevicePake.Round1? Parse(Round1? r) =>
        r is not null && Id(r.ParticipantId) && Value(r.Gx1, out var gx1) && Value(r.Gx2, out var gx2) && Values(r.ProofX1, out var p1)
        && Values(r.ProofX2, out var p2)
            ? new DevicePake.Round1(r.ParticipantId!, gx1, gx2, p1, p2)
            : null;

    public static DevicePake.Round2? Parse(Round2? r) =>
        r is not null && Id(r.ParticipantId) && Value(r.A, out var a) && Values(r.ProofX2s, out var proof)
            ? new DevicePake.Round2(r.ParticipantId!, a, proof)
            : null;

    public static DevicePake.Round3? Parse(Round3? r) =>
        r is not null && Id(r.ParticipantId) && Value(r.MacTag, out var tag) ? new DevicePake.Round3(r.ParticipantId!, tag) : null;

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes);

    private static bool Id(string? id) => id is { Length: > 0 and <= MaxParticipantIdLength };

    private static bool Values(string[]? values, out byte[][] bytes)
    {
        bytes = [];
        if (values is not { Length: > 0 and <= MaxProofValues })
            return false;
        var parsed = new byte[values.Length][];
        for (var i = 0; i < values.Length; i++)
            if (!Value(values[i], out parsed[i]))
                return false;
        bytes = parsed;
        return true;
    }

    internal static bool Value(string? base64, out byte[] bytes) => Bytes(base64, DevicePake.MaxValueBytes, out bytes);

    internal static bool Bytes(string? base64, int maxBytes, out byte[] bytes)
    {
        bytes = [];
        if (base64 is not { Length: > 0 } || base64.Length > (maxBytes + 2) / 3 * 4)
            return false;
        try
        {
            bytes = Convert.FromBase64String(base64);
            return bytes.Length is > 0 && bytes.Length <= maxBytes;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
