using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Remoting;

namespace Abpa3.Bench;

/// <summary>
/// The baseline of the peer link: a plain actor system with the node's remoting exactly as the node sets it up
/// (the node's <c>hocon/akka.hocon</c>, TLS with a node certificate, mutual authentication, the node's pinning
/// validator, <see cref="PeerWire"/> bound to <see cref="PeerWireSerializer"/>), and nothing above it: no
/// envelope, no proxies, no payload codec. The echo side (a child process) answers in three ways, the rungs
/// of a ladder from raw remoting up to the node's link:
/// <list type="bullet">
/// <item><c>/user/echo</c>: the same bytes back to the sender's reference (the baseline);</item>
/// <item><c>/user/echo-selection</c>: the same bytes back through an actor selection of the driver side's
/// <c>/user/inbox</c>, which hands them to the driver: the node's addressing (selection both ways, one inbox hop);</item>
/// <item><c>/user/echo-signed</c>: as above, but each message is a signed envelope, decoded and verified on
/// arrival and signed afresh for the answer, with the node's own <see cref="EnvelopeSigner"/> and <see cref="EnvelopeVerifier"/>.</item>
/// <item><c>/user/echo-batched</c>: no signing, but batched as the proxy batches (<see cref="PeerPayloadCodec.Batches"/>,
/// a flush behind what is already queued) both ways, by selection, through <c>/user/inbox-batched</c>: what the
/// proxy's batching alone buys raw remoting.</item>
/// </list>
/// </summary>
public static class RawRemoting
{
    public const string EchoName = "echo";
    public const string SelectionEchoName = "echo-selection";
    public const string SignedEchoName = "echo-signed";
    public const string InboxName = "inbox";
    public const string SignedInboxName = "inbox-signed";
    public const string BatchedEchoName = "echo-batched";
    public const string BatchedInboxName = "inbox-batched";

    public sealed record Endpoint(ActorSystem System, NodeIdentity Identity, PeerCertificatePins Pins, string DataDir);

    /// <summary>Who signs what in the signed rung: one shared secret, the two device ids, as in a real pair.</summary>
    public sealed record SignedPair(byte[] Secret, string Driver, string Echo)
    {
        public EnvelopeSigner Signer(string self, string peer) =>
            new(self, peer, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000, PairKeys.Derive(Secret, self, peer), TimeProvider.System);

        public EnvelopeVerifier Verifier(string self, string peer) =>
            new(self, peer, PairKeys.Derive(Secret, self, peer), TimeSpan.FromMinutes(5), TimeProvider.System);
    }

    public static Endpoint Create(string name)
    {
        var dataDir = Bench.TempDir("raw");
        var identity = NodeIdentityStore.LoadOrCreate(dataDir, null, name);
        var pins = new PeerCertificatePins();
        var trusted = string.Join(", ", new[] { EchoName, SelectionEchoName, SignedEchoName, BatchedEchoName, InboxName, SignedInboxName, BatchedInboxName }.Select(n => $"\"/user/{n}\""));
        var config = ConfigurationFactory.ParseString($$"""
            akka.remote.dot-netty.tcp {
              hostname = "127.0.0.1"
              public-hostname = "127.0.0.1"
              port = 0
              enable-ssl = true
            }
            akka.remote.trusted-selection-paths = [{{trusted}}]
            akka.actor.serializers.{{PeerWireSerializer.Name}} = "{{typeof(PeerWireSerializer).AssemblyQualifiedName}}"
            akka.actor.serialization-bindings {
              "{{typeof(PeerWire).FullName}}, {{typeof(PeerWire).Assembly.GetName().Name}}" = {{PeerWireSerializer.Name}}
            }
            """).WithFallback(MeshConfig.LoadFiles(MeshConfig.DefaultDirectory));
        var ssl = new DotNettySslSetup(
            identity.Certificate,
            suppressValidation: false,
            requireMutualAuthentication: true,
            validateCertificateHostname: false,
            customValidator: (certificate, chain, peer, errors, log) => pins.Validate(certificate, chain, peer, errors, log));
        var system = ActorSystem.Create(name, ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config), ssl));
        return new Endpoint(system, identity, pins, dataDir);
    }

    public static string Address(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress.ToString();

    /// <summary>
    /// The child process of the baseline (<c>raw-echo PARENT_CERT PARENT_ADDRESS SECRET_HEX DRIVER_ID ECHO_ID</c>):
    /// the three echo actors. Prints its address and certificate fingerprint, and runs until its standard input
    /// closes (the parent is done with it, or gone).
    /// </summary>
    public static async Task<int> RunEchoAsync(string parentCertSha256, string parentAddress, SignedPair pair)
    {
        var endpoint = Create("raw-echo");
        try
        {
            endpoint.Pins.Pin(parentCertSha256);
            var system = endpoint.System;
            system.ActorOf(Props.Create(() => new EchoActor()), EchoName);
            var inbox = system.ActorSelection(parentAddress + "/user/" + InboxName);
            system.ActorOf(Props.Create(() => new SelectionEchoActor(inbox)), SelectionEchoName);
            var signedInbox = system.ActorSelection(parentAddress + "/user/" + SignedInboxName);
            system.ActorOf(Props.Create(() => new SignedEchoActor(signedInbox, pair)), SignedEchoName);
            var batchedInbox = system.ActorSelection(parentAddress + "/user/" + BatchedInboxName);
            system.ActorOf(Props.Create(() => new BatchedEchoActor(batchedInbox)), BatchedEchoName);
            Console.WriteLine($"raw echo ready: {Address(system)} {endpoint.Identity.CertSha256}");
            await Console.In.ReadToEndAsync();
            return 0;
        }
        finally
        {
            await endpoint.System.Terminate();
            Bench.DeleteDir(endpoint.DataDir);
        }
    }

    private sealed class EchoActor : ReceiveActor
    {
        public EchoActor() => Receive<PeerWire>(wire => Sender.Tell(wire));
    }

    private sealed class SelectionEchoActor : ReceiveActor
    {
        public SelectionEchoActor(ActorSelection inbox) => Receive<PeerWire>(wire => inbox.Tell(wire, ActorRefs.NoSender));
    }

    private sealed class SignedEchoActor : ReceiveActor
    {
        public SignedEchoActor(ActorSelection inbox, SignedPair pair)
        {
            var verifier = pair.Verifier(pair.Echo, pair.Driver);
            var signer = pair.Signer(pair.Echo, pair.Driver);
            Receive<PeerWire>(wire =>
            {
                if (SignedEnvelope.Decode(wire.Bytes) is { } envelope && verifier.Verify(envelope) == EnvelopeVerdict.Accepted)
                    inbox.Tell(new PeerWire(signer.Sign(envelope.Manifest, envelope.Payload).Encode()), ActorRefs.NoSender);
            });
        }
    }
}

/// <summary>
/// Batching as <see cref="PeerProxy"/> does it, without signing: messages queue, and a flush queued behind
/// whatever is already in the mailbox sends them as few <see cref="PeerWire"/>s as the bounds allow (a first byte
/// tells a lone message, 0, from a batch, 1).
/// </summary>
public sealed class RawBatcher : ReceiveActor
{
    public const int MaxPayloads = 256;
    public const int MaxBytes = 64 * 1024;
    private const string Manifest = "raw";

    private sealed class Flush
    {
        public static readonly Flush Instance = new();
        private Flush() { }
    }

    private readonly List<(string Manifest, byte[] Bytes)> _outbox = [];

    public RawBatcher(ICanTell target)
    {
        Receive<PeerWire>(wire =>
        {
            _outbox.Add((Manifest, wire.Bytes));
            if (_outbox.Count == 1)
                Self.Tell(Flush.Instance);
        });
        Receive<Flush>(_ =>
        {
            foreach (var (manifest, bytes) in PeerPayloadCodec.Batches(_outbox, MaxPayloads, MaxBytes))
                target.Tell(new PeerWire([manifest == PeerPayloadCodec.BatchManifest ? (byte)1 : (byte)0, .. bytes]), ActorRefs.NoSender);
            _outbox.Clear();
        });
    }

    /// <summary>The messages in what a batcher sent.</summary>
    public static IEnumerable<PeerWire> Unpack(PeerWire wire) =>
        wire.Bytes is [1, ..]
            ? PeerPayloadCodec.DecodeBatch(wire.Bytes.AsSpan(1), MaxPayloads)?.Select(e => new PeerWire(e.Bytes)) ?? []
            : [new PeerWire(wire.Bytes[1..])];
}

/// <summary>The batched rung's echo: unpacks, and answers each message through its own batcher.</summary>
public sealed class BatchedEchoActor : ReceiveActor
{
    public BatchedEchoActor(ActorSelection inbox)
    {
        var batcher = Context.ActorOf(Props.Create(() => new RawBatcher(inbox)));
        Receive<PeerWire>(wire =>
        {
            foreach (var message in RawBatcher.Unpack(wire))
                batcher.Tell(message);
        });
    }
}

/// <summary>
/// The driver side's landing point for answers sent by selection (<c>/user/inbox</c>, <c>/user/inbox-signed</c>):
/// hands each answer to the driver of the current run, after decoding and verifying it if signed.
/// </summary>
public sealed class RawInboxActor : ReceiveActor
{
    public sealed record DriveTo(IActorRef Driver);

    private IActorRef _driver = ActorRefs.Nobody;

    public RawInboxActor(RawRemoting.SignedPair? pair, bool batched = false)
    {
        var verifier = pair?.Verifier(pair.Driver, pair.Echo);
        Receive<DriveTo>(drive => _driver = drive.Driver);
        Receive<PeerWire>(wire =>
        {
            if (batched)
            {
                foreach (var message in RawBatcher.Unpack(wire))
                    _driver.Tell(message);
            }
            else if (verifier is null)
                _driver.Tell(wire);
            else if (SignedEnvelope.Decode(wire.Bytes) is { } envelope && verifier.Verify(envelope) == EnvelopeVerdict.Accepted)
                _driver.Tell(envelope);
        });
    }
}
