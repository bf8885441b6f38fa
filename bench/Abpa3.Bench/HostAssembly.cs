using System.Runtime.InteropServices;

namespace Abpa3.Bench;

/// <summary>The node built beside this benchmark (same configuration).</summary>
public static class HostAssembly
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        var framework = bin.Name;
        var configuration = bin.Parent!.Name;
        var root = bin;
        while (root is not null && !File.Exists(System.IO.Path.Combine(root.FullName, "Abpa3.Mesh.sln")))
            root = root.Parent;
        var path = System.IO.Path.Combine(root?.FullName ?? ".", "src", "Abpa3.Host", "bin", configuration, framework, "Abpa3.Host.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("build the node first", path);
    }
}

public static class Signal
{
    private const int SIGTERM = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public static void Terminate(int pid) => _ = kill(pid, SIGTERM);
}
