using System.Diagnostics;
using Akka.Actor;

namespace Abpa3.Bench;

/// <summary>
/// Keeps a fixed window of requests in flight to one actor (by reference or selection) for a fixed time: every reply of the expected type
/// sends the next request. Reports completed round trips per second. If replies stop for a second (a peer
/// went away and its pending requests were dropped), the window is refilled and the loss counted.
/// </summary>
public sealed class RoundTripDriver : ReceiveActor, IWithTimers
{
    public sealed record Result(long RoundTrips, TimeSpan Elapsed, long Lost, long Refills)
    {
        public double PerSecond => RoundTrips / Elapsed.TotalSeconds;
    }

    private sealed class End
    {
        public static readonly End Instance = new();
        private End() { }
    }

    private sealed class Watchdog
    {
        public static readonly Watchdog Instance = new();
        private Watchdog() { }
    }

    private static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(1);

    private readonly ICanTell _target;
    private readonly IActorRef? _inbox;
    private readonly Func<object> _request;
    private readonly int _window;
    private readonly TimeSpan _duration;
    private readonly TaskCompletionSource<Result> _done;
    private long _started;
    private long _lastReply;
    private long _completed;
    private long _outstanding;
    private long _lost;
    private long _refills;

    public RoundTripDriver(ICanTell target, IActorRef? inbox, Func<object> request, Type replyType, int window, TimeSpan duration,
        TaskCompletionSource<Result> done)
    {
        _target = target;
        _inbox = inbox;
        _request = request;
        _window = window;
        _duration = duration;
        _done = done;
        Receive<End>(_ =>
        {
            _done.TrySetResult(new Result(_completed, Stopwatch.GetElapsedTime(_started), _lost, _refills));
            Context.Stop(Self);
        });
        Receive<Watchdog>(_ =>
        {
            if (Stopwatch.GetElapsedTime(_lastReply) < StallAfter)
                return;
            _lost += _outstanding;
            _outstanding = 0;
            _refills++;
            Fill();
        });
        Receive(replyType, _ =>
        {
            _completed++;
            _lastReply = Stopwatch.GetTimestamp();
            _target.Tell(_request(), Self);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _inbox?.Tell(new RawInboxActor.DriveTo(Self)); // answers that come by selection land there
        _started = _lastReply = Stopwatch.GetTimestamp();
        Fill();
        Timers.StartSingleTimer(nameof(End), End.Instance, _duration);
        Timers.StartPeriodicTimer(nameof(Watchdog), Watchdog.Instance, TimeSpan.FromMilliseconds(250));
    }

    protected override void PostStop() =>
        _done.TrySetException(new InvalidOperationException("the driver stopped before the end of its run"));

    private void Fill()
    {
        for (var i = 0; i < _window; i++)
            _target.Tell(_request(), Self);
        _outstanding = _window;
    }
}

public static class RoundTrips
{
    /// <summary>Runs one timed window against the target (a <see cref="RoundTripDriver"/>) and returns when the time is up.</summary>
    public static Task<RoundTripDriver.Result> RunAsync(ActorSystem system, ICanTell target, Func<object> request, Type replyType, int window,
        TimeSpan duration, IActorRef? inbox = null)
    {
        var done = new TaskCompletionSource<RoundTripDriver.Result>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(Props.Create(() => new RoundTripDriver(target, inbox, request, replyType, window, duration, done)));
        return done.Task;
    }
}
