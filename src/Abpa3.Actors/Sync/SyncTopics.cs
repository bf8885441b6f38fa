namespace Abpa3.Actors.Sync;

/// <summary>The sync channel's topics (SPEC §6) and who may publish on them.</summary>
public static class SyncTopics
{
    public const string Agent = "agent";
    public const string Voice = "voice";
    public const string Ui = "ui";
    public const string Devices = "devices";
    public const string Scans = "scans";

    public static readonly IReadOnlyList<string> All = [Agent, Voice, Ui, Devices, Scans];

    /// <summary>Clients publish agent updates, voice state and UI sync; presence and scans come from the node alone.</summary>
    public static bool ClientMayPublish(string topic) => topic is Agent or Voice or Ui;

    public static bool IsKnown(string topic) => All.Contains(topic);

    /// <summary>On a slow client only the newest value of these topics matters.</summary>
    public static bool LatestValueWins(string topic) => topic is Voice;
}
