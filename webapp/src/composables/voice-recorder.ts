/**
 * Hold-to-record voice messages: MediaRecorder with Opus, a level meter on the
 * microphone, the elapsed time, and a hard limit of five minutes. A press shorter than
 * half a second is a slip, not a message, so `stop()` gives nothing back for it.
 *
 * The microphone is opened on `start()` and closed as soon as recording ends, so the
 * browser's "recording" indicator never stays on between messages.
 */
import { computed, getCurrentScope, onScopeDispose, readonly, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { createLevelMeter, unlockAudio, type LevelMeter } from '../ptt/audio.ts';

export const VOICE_MIN_MS = 500;
export const VOICE_MAX_MS = 5 * 60_000;
/** In order of preference; the browser's default is used when none is supported (Safari: mp4/aac). */
export const VOICE_MIME_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus'] as const;

export type VoiceRecorderState = 'idle' | 'starting' | 'recording' | 'error';
export type VoiceRecorderError = 'denied' | 'noDevice' | 'busy' | 'unsupported' | 'failed';

export interface VoiceRecording {
  blob: Blob;
  /** The container and codec actually recorded, e.g. `audio/webm;codecs=opus`. */
  mime: string;
  durationMs: number;
}

export interface VoiceRecorderOptions {
  minMs?: number;
  maxMs?: number;
  /**
   * Called with the recording when it ended without `stop()`: the maximum duration was
   * reached or the microphone went away. A later `stop()` then returns null.
   */
  onAutoStop?: (recording: VoiceRecording) => void;
}

/** The first Opus container the browser records, or undefined for its default. */
export function pickMimeType(isTypeSupported: (mime: string) => boolean): string | undefined {
  return VOICE_MIME_TYPES.find((mime) => {
    try {
      return isTypeSupported(mime);
    } catch {
      return false;
    }
  });
}

/** Why opening the microphone or recording failed, in terms the user can act on. */
export function recorderErrorReason(error: unknown): VoiceRecorderError {
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'noDevice';
    case 'NotReadableError':
    case 'AbortError':
      return 'busy';
    case 'NotSupportedError':
      return 'unsupported';
    default:
      return 'failed';
  }
}

export function useVoiceRecorder(options: VoiceRecorderOptions = {}) {
  const minMs = options.minMs ?? VOICE_MIN_MS;
  const maxMs = options.maxMs ?? VOICE_MAX_MS;
  const { t } = useI18n();

  const state = ref<VoiceRecorderState>('idle');
  const error = ref<VoiceRecorderError | null>(null);
  const elapsedMs = ref(0);
  const level = ref(0);
  const errorText = computed(() => (error.value ? t(`chat.voice.error.${error.value}`) : null));

  /** Bumped by every start and stop: a microphone that opens after the press ended is closed again. */
  let session = 0;
  let stream: MediaStream | null = null;
  let recorder: MediaRecorder | null = null;
  let meter: LevelMeter | null = null;
  let chunks: Blob[] = [];
  let startedAt = 0;
  let frame = 0;
  let limitTimer: ReturnType<typeof setTimeout> | undefined;
  let finishing: Promise<VoiceRecording | null> | null = null;

  function tick(): void {
    elapsedMs.value = performance.now() - startedAt;
    level.value = meter?.level() ?? 0;
    frame = requestAnimationFrame(tick);
  }

  function release(): void {
    cancelAnimationFrame(frame);
    clearTimeout(limitTimer);
    meter?.close();
    meter = null;
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    recorder = null;
    chunks = [];
    level.value = 0;
  }

  function fail(reason: VoiceRecorderError): void {
    session += 1;
    release();
    error.value = reason;
    state.value = 'error';
  }

  /** Ends the recording; resolves once the recorder has flushed its last chunk. */
  function finish(keep: boolean): Promise<VoiceRecording | null> {
    if (finishing) return finishing;
    const active = recorder;
    if (!active) return Promise.resolve(null);
    const durationMs = performance.now() - startedAt;
    cancelAnimationFrame(frame);
    clearTimeout(limitTimer);
    finishing = new Promise<VoiceRecording | null>((resolve) => {
      active.onstop = () => {
        const mime = active.mimeType || chunks[0]?.type || 'audio/webm';
        const blob = new Blob(chunks, { type: mime });
        release();
        finishing = null;
        state.value = 'idle';
        elapsedMs.value = 0;
        resolve(keep && durationMs >= minMs && blob.size > 0 ? { blob, mime, durationMs } : null);
      };
      if (active.state === 'inactive') active.onstop(new Event('stop'));
      else active.stop();
    });
    return finishing;
  }

  function autoStop(): void {
    void finish(true).then((recording) => {
      if (recording) options.onAutoStop?.(recording);
    });
  }

  /**
   * Opens the microphone and starts recording. Call it from the press itself (a user
   * gesture), so the audio context for the level meter may start. Never throws: failures
   * end in state `error` with a reason.
   */
  async function start(): Promise<void> {
    if (state.value === 'starting' || state.value === 'recording' || finishing) return;
    error.value = null;
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
      return fail('unsupported');
    }
    const mySession = ++session;
    state.value = 'starting';
    unlockAudio();
    let opened: MediaStream;
    try {
      opened = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (caught) {
      if (mySession === session) fail(recorderErrorReason(caught));
      return;
    }
    if (mySession !== session) {
      // Released (or cancelled) while the permission prompt was open.
      for (const track of opened.getTracks()) track.stop();
      return;
    }
    stream = opened;
    try {
      const mimeType = pickMimeType((mime) => MediaRecorder.isTypeSupported(mime));
      recorder = new MediaRecorder(opened, {
        ...(mimeType ? { mimeType } : {}),
        // Speech in Opus is clear at 24–32 kbit/s; five minutes stay near 1 MB.
        audioBitsPerSecond: 32_000,
      });
    } catch (caught) {
      return fail(recorderErrorReason(caught));
    }
    chunks = [];
    recorder.ondataavailable = (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    };
    recorder.onerror = () => fail('failed');
    const [track] = opened.getAudioTracks();
    if (track) {
      track.onended = autoStop;
      meter = createLevelMeter(track);
    }
    // A timeslice makes the recorder hand over data as it goes, not all at the end.
    recorder.start(1000);
    startedAt = performance.now();
    elapsedMs.value = 0;
    state.value = 'recording';
    limitTimer = setTimeout(autoStop, maxMs);
    frame = requestAnimationFrame(tick);
  }

  /** Ends recording and returns it; null when it was shorter than the minimum or never started. */
  function stop(): Promise<VoiceRecording | null> {
    if (state.value === 'starting') {
      session += 1;
      state.value = 'idle';
      return Promise.resolve(null);
    }
    return finish(true);
  }

  /** Ends recording and throws it away. */
  function cancel(): void {
    if (state.value === 'starting') {
      session += 1;
      state.value = 'idle';
      return;
    }
    void finish(false);
  }

  if (getCurrentScope()) onScopeDispose(cancel);

  return {
    state: readonly(state),
    /** Why the last start failed, or null. */
    error: readonly(error),
    /** The reason as a sentence in the user's language. */
    errorText,
    elapsedMs: readonly(elapsedMs),
    /** Microphone level 0…1 while recording. */
    level: readonly(level),
    maxMs,
    start,
    stop,
    cancel,
  };
}
