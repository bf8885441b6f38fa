using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace Abpa3.Actors.Serialization;

/// <summary>
/// Takes the place of Akka's default JSON serializer (Newtonsoft with type names, serializer id 1) so that
/// nothing is ever written or read by it: a message the wire says was written with id 1 fails to
/// deserialize and is dropped, instead of instantiating a type the sender named (THREATS T7). Every type
/// the node does send or persist is bound to an explicit serializer.
/// </summary>
public sealed class NoTypeNameSerializer : Serializer
{
    public NoTypeNameSerializer(ExtendedActorSystem system) : base(system) { }

    /// <summary>Akka passes the replaced serializer's settings section (<c>serialization-settings.json</c>); there is nothing to read in it.</summary>
    public NoTypeNameSerializer(ExtendedActorSystem system, Akka.Configuration.Config settings) : base(system) { }

    /// <summary>The id Akka gives its default JSON serializer; reusing it is what captures its traffic.</summary>
    public const int DefaultJsonSerializerId = 1;

    public override int Identifier => DefaultJsonSerializerId;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType().Name} has no explicit serializer; the node never serializes with type names");

    public override object FromBinary(byte[] bytes, Type? type) =>
        throw new SerializationException("refused a message serialized with type names");
}
