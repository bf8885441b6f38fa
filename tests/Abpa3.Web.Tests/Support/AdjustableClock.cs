namespace Abpa3.Web.Tests.Support;

/// <summary>The system clock, moved forward on demand (token expiry without waiting an hour).</summary>
public sealed class AdjustableClock : TimeProvider
{
    private TimeSpan _offset;

    public void Advance(TimeSpan by) => _offset += by;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + _offset;
}
