using Microsoft.AspNetCore.Identity;

namespace Abpa3.Web.Auth;

/// <summary>
/// Password hashing with ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, salted, versioned format).
/// Unknown users are checked against a dummy hash so a wrong username costs as long as a wrong password.
/// Hashes are deliberately slow, so only as many run at once as the machine has cores: a burst of
/// logins from many addresses queues here instead of taking every thread the node has.
/// </summary>
public sealed class Passwords(int maxConcurrent)
{
    private static readonly object Subject = new();
    private readonly PasswordHasher<object> _hasher = new();
    private readonly SemaphoreSlim _gate = new(maxConcurrent, maxConcurrent);
    private string? _dummyHash;
    private int _running;
    private int _peak;

    public Passwords() : this(Environment.ProcessorCount) { }

    /// <summary>The most hashes that ever ran at once (for tests and diagnostics).</summary>
    public int PeakConcurrent => Volatile.Read(ref _peak);

    public Task<string> HashAsync(string password, CancellationToken cancellationToken) =>
        GatedAsync(() => _hasher.HashPassword(Subject, password), cancellationToken);

    public async Task<bool> VerifyAsync(string? storedHash, string password, CancellationToken cancellationToken)
    {
        var hash = storedHash ?? (_dummyHash ??= await HashAsync(Guid.NewGuid().ToString(), cancellationToken));
        var result = await GatedAsync(() => _hasher.VerifyHashedPassword(Subject, hash, password), cancellationToken);
        return storedHash is not null && result != PasswordVerificationResult.Failed;
    }

    private async Task<T> GatedAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _peak, running);
            return await Task.Run(work, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _gate.Release();
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
