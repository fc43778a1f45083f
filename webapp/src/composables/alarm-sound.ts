/**
 * The alarm sound: a siren (or a softer gong for test alarms) synthesised with Web Audio,
 * repeating until the member answers. Browsers refuse sound until the page has had a
 * user gesture; `blocked` says so and `unlock()` (called from any tap) lifts it, so the
 * overlay can tell the member why it is silent and offer a button.
 */
import { ref } from 'vue';
import type { AlarmPriority } from '@trupp/shared';

class AlarmSound {
  readonly blocked = ref(false);
  readonly playing = ref(false);
  #context: AudioContext | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #priority: AlarmPriority = 'high';
  #test = false;
  #kind = 'siren';

  constructor() {
    if (typeof document !== 'undefined') {
      const unlockOnce = () => void this.unlock();
      document.addEventListener('pointerdown', unlockOnce, { capture: true });
      document.addEventListener('keydown', unlockOnce, { capture: true });
    }
  }

  #ctx(): AudioContext | null {
    if (this.#context) return this.#context;
    const Ctor = globalThis.AudioContext;
    if (!Ctor) return null;
    this.#context = new Ctor();
    return this.#context;
  }

  async unlock(): Promise<void> {
    const ctx = this.#ctx();
    if (!ctx) return;
    if (ctx.state === 'suspended') await ctx.resume().catch(() => undefined);
    this.blocked.value = this.playing.value && ctx.state !== 'running';
  }

  /** `kind`: the template's sound ('siren', 'gong', 'beep'); test alarms always gong. */
  start(priority: AlarmPriority, test: boolean, kind = 'siren'): void {
    this.#priority = priority;
    this.#test = test;
    this.#kind = kind;
    this.playing.value = true;
    const ctx = this.#ctx();
    if (!ctx) return;
    if (ctx.state !== 'running') void ctx.resume().catch(() => undefined);
    this.blocked.value = ctx.state !== 'running';
    this.#timer ??= setInterval(() => this.#cycle(), 2000);
    this.#cycle();
  }

  stop(): void {
    this.playing.value = false;
    this.blocked.value = false;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One two-second siren sweep (or gong), scheduled on the audio clock. */
  #cycle(): void {
    const ctx = this.#context;
    if (!ctx) return;
    this.blocked.value = ctx.state !== 'running';
    if (ctx.state !== 'running') return;
    const now = ctx.currentTime;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.connect(gain).connect(ctx.destination);
    if (this.#kind === 'beep' && !this.#test) {
      osc.type = 'square';
      osc.frequency.setValueAtTime(1000, now);
      for (let i = 0; i < 4; i += 1) {
        gain.gain.setValueAtTime(0.3, now + i * 0.4);
        gain.gain.setValueAtTime(0, now + i * 0.4 + 0.2);
      }
    } else if (this.#test || this.#kind === 'gong') {
      osc.type = 'sine';
      osc.frequency.setValueAtTime(660, now);
      gain.gain.setValueAtTime(0.4, now);
      gain.gain.exponentialRampToValueAtTime(0.001, now + 1.5);
    } else {
      osc.type = this.#priority === 'critical' ? 'sawtooth' : 'square';
      osc.frequency.setValueAtTime(600, now);
      osc.frequency.linearRampToValueAtTime(1200, now + 0.9);
      osc.frequency.linearRampToValueAtTime(600, now + 1.8);
      gain.gain.setValueAtTime(0.25, now);
    }
    osc.start(now);
    osc.stop(now + 1.9);
  }
}

export const alarmSound = new AlarmSound();
