namespace Abpa3.Actors.Serialization;

/// <summary>
/// Marks every type written to the journal or the snapshot store. Bound to <see cref="MeshJsonSerializer"/>,
/// so nothing persisted relies on a type-name serializer.
/// </summary>
public interface IPersistedMessage;
