using Abpa3.Web.Auth;

namespace Abpa3.Web.Tests.Auth;

public class PasswordsSpecs
{
    [Fact]
    public async Task Hashes_verify_only_their_own_password_and_unknown_users_fail()
    {
        var passwords = new Passwords(2);
        var hash = await passwords.HashAsync("correct horse", CancellationToken.None);

        Assert.DoesNotContain("correct horse", hash);
        Assert.True(await passwords.VerifyAsync(hash, "correct horse", CancellationToken.None));
        Assert.False(await passwords.VerifyAsync(hash, "correct horsf", CancellationToken.None));
        Assert.False(await passwords.VerifyAsync(null, "correct horse", CancellationToken.None));
    }

    [Fact]
    public async Task No_more_hashes_run_at_once_than_allowed()
    {
        var passwords = new Passwords(2);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => passwords.HashAsync($"password {i}", CancellationToken.None)));

        Assert.InRange(passwords.PeakConcurrent, 1, 2);
    }
}
