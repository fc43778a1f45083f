/**
 * Scanning as the member sees it. The server decides which joined channel is heard when
 * several transmit at once (a priority channel beats the selected one, which beats the
 * scanned ones) and says so with `audibleChannelId`; this turns that and each channel's
 * floor into rows for the channel list: what is selected, monitored, marked priority,
 * who talks where, which one is heard and why another one is held back.
 */

export interface ScanSettings {
  /** The channel the PTT button talks on. */
  selected: string | null;
  /** Monitored (heard when nothing that ranks higher transmits), the selected one aside. */
  scanned: readonly string[];
}

export interface ScanChannel {
  id: string;
  name: string;
  /** Marked priority by dispatch: heard over everything else. */
  priority: boolean;
}

export type HeldBackBy = 'priority' | 'selected' | 'scan';

export interface ScanRow {
  id: string;
  name: string;
  priority: boolean;
  selected: boolean;
  monitored: boolean;
  /** Who talks on this channel now, if anyone. */
  talker: string | null;
  /** This channel's audio is the one playing. */
  heard: boolean;
  /** Someone talks here but another channel is heard, and why (what that one is). */
  heldBackBy: HeldBackBy | null;
}

/** The channels to be in: the selected one first, then the scanned ones, each once. */
export function monitoredChannels(settings: ScanSettings): string[] {
  const all = settings.selected ? [settings.selected, ...settings.scanned] : [...settings.scanned];
  return [...new Set(all)];
}

/** Drops channels that no longer exist (or the member lost access to) from the settings. */
export function pruneScan(settings: ScanSettings, available: readonly string[]): ScanSettings {
  const known = new Set(available);
  return {
    selected: settings.selected !== null && known.has(settings.selected) ? settings.selected : null,
    scanned: settings.scanned.filter((id) => known.has(id)),
  };
}

export function scanRows(
  channels: readonly ScanChannel[],
  settings: ScanSettings,
  talkers: Readonly<Record<string, string | null>>,
  audibleChannelId: string | null,
): ScanRow[] {
  const monitored = new Set(monitoredChannels(settings));
  const heardChannel = channels.find((c) => c.id === audibleChannelId) ?? null;
  const heardBecause: HeldBackBy | null = heardChannel
    ? heardChannel.priority
      ? 'priority'
      : heardChannel.id === settings.selected
        ? 'selected'
        : 'scan'
    : null;
  return channels.map((channel) => {
    const talker = monitored.has(channel.id) ? (talkers[channel.id] ?? null) : null;
    const heard = channel.id === audibleChannelId;
    return {
      id: channel.id,
      name: channel.name,
      priority: channel.priority,
      selected: channel.id === settings.selected,
      monitored: monitored.has(channel.id),
      talker,
      heard,
      heldBackBy: talker !== null && !heard ? heardBecause : null,
    };
  });
}
