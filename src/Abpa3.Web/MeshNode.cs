using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Abpa3.Actors;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Persistence;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Remoting;
using Abpa3.Actors.Sync;
using Abpa3.Web.Sync;
using Abpa3.Web.Auth;
using Abpa3.Web.Endpoints;
using Abpa3.Web.Http;
using Abpa3.Web.Peers;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Abpa3.Web;

/// <summary>
/// One running node: its identity, its actor system and its HTTP edge, composed from the actors'
/// and the edge's registrations. The host runs one; tests start as many as they need.
/// </summary>
public sealed class MeshNode : IAsyncDisposable
{
    /// <summary>How long a stopping node waits for its actors (in-flight journal writes) before it lets go.</summary>
    private static readonly TimeSpan ActorSystemTerminateTimeout = TimeSpan.FromSeconds(10);
    /// <summary>The node's one request to itself after start (warming its edge) gives up after this long.</summary>
    private static readonly TimeSpan SelfRequestTimeout = TimeSpan.FromSeconds(5);

    private readonly WebApplication _app;
    private readonly IDisposable _dataDirectoryLock;
    private ActorSystem? _system;
    private bool _disposed;


    private MeshNode(WebApplication app, IDisposable dataDirectoryLock, NodeSettings settings, NodeIdentity identity)
    {
        _app = app;
        _dataDirectoryLock = dataDirectoryLock;
        Settings = settings;
        Identity = identity;
    }

    public NodeSettings Settings { get; }
    public NodeIdentity Identity { get; }

    /// <summary>Base URL of the edge, with the real port (known once started).</summary>
    public Uri HttpUrl { get; private set; } = null!;

    /// <summary>Akka.Remote address of the node, with the real port (known once started).</summary>
    public string RemoteAddress { get; private set; } = "";

    /// <summary>The lifecycle when the node became ready (setup code is shown only while unconfigured).</summary>
    public DeviceLifecycle LifecycleAtStart { get; private set; } = DeviceLifecycle.Initial;

    public IServiceProvider Services => _app.Services;

    /// <summary>Builds a node from loaded HOCON (files, environment and command-line overrides already applied).</summary>
    public static MeshNode Create(Config config, TimeProvider? clock = null, Action<ILoggingBuilder>? logging = null)
    {
        clock ??= TimeProvider.System;
        var settings = NodeSettings.FromConfig(config);
        var edge = EdgeSettings.FromConfig(config);
        var bindAddress = ParseBind(settings.Bind);
        DataDirectory.Ensure(settings.DataDir);
        var dataDirectoryLock = DataDirectory.Lock(settings.DataDir);
        try
        {
            return Create(config, settings, edge, bindAddress, dataDirectoryLock, clock, logging);
        }
        catch
        {
            dataDirectoryLock.Dispose();
            throw;
        }
    }

    private static MeshNode Create(Config config, NodeSettings settings, EdgeSettings edge, IPAddress bindAddress,
        IDisposable dataDirectoryLock, TimeProvider clock, Action<ILoggingBuilder>? logging)
    {
        var identity = NodeIdentityStore.LoadOrCreate(settings.DataDir, settings.DeviceId, settings.Name);
        var signingKey = SigningKey.LoadOrCreate(settings.DataDir);
        // Read before remoting listens, so paired devices knocking while the journal loads are let in.
        var pins = PeerCertificatePins.InDataDirectory(settings.DataDir);
        var peerCounters = new PeerLinkCounters();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        if (logging is null)
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        else
            logging(builder.Logging);

        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = edge.MaxRequestBody;
            var perAddress = new ConnectionsPerAddress(edge.MaxConnectionsPerAddress);
            void Configure(ListenOptions listen)
            {
                listen.Use(perAddress.Middleware);
                if (!settings.PlainHttp)
                    listen.UseHttps(identity.Certificate);
            }
            // The wildcard means every interface, IPv6 included where the machine has it.
            if (bindAddress.Equals(IPAddress.Any))
                kestrel.ListenAnyIP(settings.HttpPort, Configure);
            else
                kestrel.Listen(bindAddress, settings.HttpPort, Configure);
        });

        var tokens = new TokenIssuer(identity.DeviceId.Value, signingKey, edge, clock);
        builder.Services
            .AddSingleton(settings)
            .AddSingleton(edge)
            .AddSingleton(identity)
            .AddSingleton(pins)
            .AddSingleton(peerCounters)
            .AddSingleton(PeerLinkSettings.FromConfig(config))
            .AddSingleton(DevicePairingSettings.FromConfig(config))
            .AddSingleton(clock)
            .AddSingleton(tokens)
            .AddSingleton(new Passwords())
            .AddSingleton(PairingSettings.FromConfig(config))
            .AddSingleton(SyncSettings.FromConfig(config))
            .AddSingleton<QrCodeCache>()
            .AddSingleton<DeviceGateway>()
            .AddSingleton<DeviceSignature>()
            .AddSingleton(services => new DeviceHttpClient(PeerLinkSettings.FromConfig(config), identity, clock, tls: !settings.PlainHttp))
            .AddProblemDetails()
            .AddExceptionHandler<EdgeExceptionHandler>()
            // Nothing here protects data with ASP.NET's key ring; keep it in memory, not in a home directory.
            .AddDataProtection().UseEphemeralDataProtectionProvider().Services
            .Configure<KeyManagementOptions>(keys =>
            {
                keys.XmlRepository = new InMemoryKeyRepository();
                keys.XmlEncryptor = new NullXmlEncryptor(); // the ring never leaves memory: nothing to encrypt it for
            })
            .AddEdgeRateLimits(edge, DevicePairingSettings.FromConfig(config));
        builder.Services
            .AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(options =>
            {
                options.MapInboundClaims = false;
                options.TokenValidationParameters = tokens.ValidationParameters();
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Roles.OwnerPolicy, policy => policy.RequireRole(Roles.Owner))
            .AddPolicy(Roles.OwnerOrAdminPolicy, policy => policy.RequireRole(Roles.Owner, Roles.Admin));
        builder.Services.AddAkka("abpa3", akka => akka
            .AddNodeActors(config, settings, identity, pins, peerCounters, clock)
            .ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            }));

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.MapHealth();
        app.MapDevices();
        app.MapAuth();
        app.MapPairing();
        app.MapDevicePairing();
        app.MapSensor();
        app.MapMetrics();
        app.MapScans();
        app.MapSyncSocket();
        app.MapWebUi();
        return new MeshNode(app, dataDirectoryLock, settings, identity);
    }

    /// <summary>
    /// How long a starting node waits for its actors to recover their journals. Not the edge's ask-timeout, which bounds one
    /// request: a busy or slow machine may need longer at start than any request should wait.
    /// </summary>
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Starts the edge and the actor system, and returns once the node answers requests.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        _system = Services.GetRequiredService<ActorSystem>();
        var info = await Services.GetRequiredService<IRequiredActor<DeviceSupervisor>>().ActorRef
            .Ask<DeviceMessages.DeviceInfo>(DeviceMessages.GetDeviceInfo.Instance, StartupTimeout, cancellationToken);
        LifecycleAtStart = info.Lifecycle;
        HttpUrl = ResolveHttpUrl();
        _ = Task.Run(SettleAfterStartAsync, CancellationToken.None);
        RemoteAddress = NodeActors.RemoteAddress(_system);
    }

    /// <summary>
    /// Off the request path, once the node is up: compiles the key exchange's code and asks the node's own edge
    /// for its device info once, over its own TLS, so the first pairing of a new device (its most common
    /// pairing: a device is paired once, soon after it starts) does not also pay for compiling the edge;
    /// then gives back what start-up took. Configuration, journal recovery and the warm-up leave the GC heap
    /// grown far beyond what an idle node needs; one aggressive collection returns it to the system (about
    /// 15 MB of an idle node's resident memory, docs/BENCHMARKS.md). Warming is best effort: a failure costs
    /// only speed.
    /// </summary>
    private async Task SettleAfterStartAsync()
    {
        try
        {
            DevicePake.WarmUp();
            await AskOwnEdgeAsync();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException)
        {
            // the node is stopping, or its address is not reachable from itself: nothing is lost
        }
        finally
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    private async Task AskOwnEdgeAsync()
    {
        using var handler = new SocketsHttpHandler();
        // The node's own certificate and nothing else.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && NodeIdentity.Fingerprint(certificate) == Identity.CertSha256;
        using var http = new HttpClient(handler) { Timeout = SelfRequestTimeout };
        using var response = await http.GetAsync(new Uri(HttpUrl, "/api/devices/info"));
    }

    /// <summary>Completes when the node is asked to stop (SIGINT or SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops the edge, terminates the actor system, flushes the journal and releases the data directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            await _app.StopAsync();
        }
        finally
        {
            // Coordinated shutdown leaves the actor system running (hocon/akka.hocon): the node ends it here,
            // leaving time for in-flight journal writes.
            await TerminateActorSystemAsync();
            await _app.DisposeAsync();
            SqliteJournal.Flush();
            _dataDirectoryLock.Dispose();
        }
    }

    private async Task TerminateActorSystemAsync()
    {
        var system = _app.Services.GetRequiredService<ActorSystem>();
        try
        {
            await system.Terminate().WaitAsync(ActorSystemTerminateTimeout);
        }
        catch (TimeoutException)
        {
            // What has not stopped by now is abandoned; the journal is still flushed below.
        }
    }

    private Uri ResolveHttpUrl()
    {
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address);
        // A wildcard bind is reachable on this machine as localhost; say so rather than print 0.0.0.0.
        var host = ParseBind(Settings.Bind) is var bind && (bind.Equals(IPAddress.Any) || bind.Equals(IPAddress.IPv6Any))
            ? "localhost"
            : uri.Host;
        return new UriBuilder(uri.Scheme, host, uri.Port).Uri;
    }

    private static IPAddress ParseBind(string bind) =>
        IPAddress.TryParse(bind, out var address)
            ? address
            : throw new ConfigurationException($"--bind must be an IP address (got '{bind}')");
}
