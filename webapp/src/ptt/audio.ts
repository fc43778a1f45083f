/**
 * Web Audio for push-to-talk: the short tones a radio makes (talk permit, busy, end of
 * turn, the warning before the maximum talk time) and level meters on a microphone or a
 * received track. One AudioContext for all of it, resumed by the first tap (browsers
 * refuse audio before a user gesture; pressing the PTT button is one).
 */

let context: AudioContext | null = null;

function audioContext(): AudioContext | null {
  if (context) return context;
  const Ctor = globalThis.AudioContext;
  if (!Ctor) return null;
  context = new Ctor();
  return context;
}

/** Call from a user gesture so later tones and meters are allowed to run. */
export function unlockAudio(): void {
  const ctx = audioContext();
  if (ctx && ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
}

export type Tone = 'permit' | 'busy' | 'end' | 'warning' | 'emergency';

/** Beeps as [frequency Hz, start s, length s]; short and distinct, like a radio's. */
const TONES: Record<Tone, [number, number, number][]> = {
  // Rising double beep: you may talk now.
  permit: [
    [880, 0, 0.07],
    [1320, 0.09, 0.08],
  ],
  // Low triple: someone else talks, your request waits or was refused.
  busy: [
    [420, 0, 0.12],
    [420, 0.2, 0.12],
    [420, 0.4, 0.12],
  ],
  // Falling beep: the turn is over (yours ended, or the talker let go).
  end: [[660, 0, 0.09]],
  // Two high beeps: the maximum talk time ends in a few seconds.
  warning: [
    [1500, 0, 0.1],
    [1500, 0.18, 0.1],
  ],
  emergency: [
    [1000, 0, 0.15],
    [1400, 0.18, 0.15],
    [1000, 0.36, 0.15],
    [1400, 0.54, 0.15],
  ],
};

export function playTone(tone: Tone): void {
  const ctx = audioContext();
  if (!ctx || ctx.state !== 'running') return;
  const now = ctx.currentTime;
  for (const [frequency, start, length] of TONES[tone]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(frequency, now + start);
    gain.gain.setValueAtTime(0, now + start);
    gain.gain.linearRampToValueAtTime(0.2, now + start + 0.01);
    gain.gain.setValueAtTime(0.2, now + start + length - 0.015);
    gain.gain.linearRampToValueAtTime(0, now + start + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now + start);
    osc.stop(now + start + length + 0.01);
  }
}

export interface LevelMeter {
  /** Current level 0…1 (RMS of the last ~20 ms, scaled so speech fills the bar). */
  level(): number;
  close(): void;
}

/**
 * An AnalyserNode on a track. Nothing is connected to the speakers: the meter only
 * listens (the received track plays through its own <audio> element).
 */
export function createLevelMeter(track: MediaStreamTrack): LevelMeter | null {
  const ctx = audioContext();
  if (!ctx) return null;
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    level() {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const rms = Math.sqrt(sum / samples.length);
      // Speech sits around 0.05–0.3 RMS; map 0…0.3 (≈ -10 dBFS) onto the bar.
      return Math.min(1, rms / 0.3);
    },
    close() {
      source.disconnect();
      analyser.disconnect();
    },
  };
}
