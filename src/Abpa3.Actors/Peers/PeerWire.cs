using Akka.Actor;
using Akka.Serialization;

namespace Abpa3.Actors.Peers;

/// <summary>
/// The only message type that crosses the wire between devices: the bytes of one signed envelope.
/// Its serializer copies bytes and nothing else, so the wire can never name a type to instantiate.
/// </summary>
public sealed class PeerWire(byte[] bytes)
{
    public byte[] Bytes { get; } = bytes;
}

public sealed class PeerWireSerializer(ExtendedActorSystem system) : Serializer(system)
{
    public const int SerializerId = 4302;
    public const string Name = "abpa3-peer-wire";

    public override int Identifier => SerializerId;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        obj is PeerWire wire ? wire.Bytes : throw new ArgumentException($"{obj.GetType().Name} is not a {nameof(PeerWire)}");

    public override object FromBinary(byte[] bytes, Type? type) => new PeerWire(bytes);
}
