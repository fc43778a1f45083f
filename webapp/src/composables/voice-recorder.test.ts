import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount } from '@vue/test-utils';
import { defineComponent } from 'vue';
import { createAppI18n } from '../i18n/index.ts';
import {
  pickMimeType,
  recorderErrorReason,
  useVoiceRecorder,
  type VoiceRecorderOptions,
} from './voice-recorder.ts';

/**
 * The recorder against a scripted microphone and MediaRecorder (happy-dom has neither);
 * time is faked so durations and the five-minute limit can be stepped through.
 */

class FakeRecorder {
  static supported = new Set(['audio/ogg;codecs=opus']);
  static isTypeSupported = (mime: string) => FakeRecorder.supported.has(mime);
  static last: FakeRecorder | null = null;
  state: 'inactive' | 'recording' = 'inactive';
  mimeType: string;
  ondataavailable: ((event: { data: Blob }) => void) | null = null;
  onstop: ((event: Event) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(_stream: unknown, options: { mimeType?: string }) {
    this.mimeType = options.mimeType ?? '';
    FakeRecorder.last = this;
  }
  start() {
    this.state = 'recording';
  }
  stop() {
    this.state = 'inactive';
    // Like the browser: the last chunk, then stop, asynchronously.
    setTimeout(() => {
      this.ondataavailable?.({ data: new Blob(['opus-bytes'], { type: this.mimeType }) });
      this.onstop?.(new Event('stop'));
    }, 0);
  }
}

let track: { stop: ReturnType<typeof vi.fn>; onended: (() => void) | null };
let getUserMedia: ReturnType<typeof vi.fn>;

function mountRecorder(options: VoiceRecorderOptions = {}) {
  let recorder!: ReturnType<typeof useVoiceRecorder>;
  const Host = defineComponent({
    setup() {
      recorder = useVoiceRecorder(options);
      return () => null;
    },
  });
  const wrapper = mount(Host, { global: { plugins: [createAppI18n('en')] } });
  return { recorder, wrapper };
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: [
      'setTimeout',
      'clearTimeout',
      'performance',
      'requestAnimationFrame',
      'cancelAnimationFrame',
    ],
  });
  track = { stop: vi.fn(), onended: null };
  const stream = { getTracks: () => [track], getAudioTracks: () => [track] };
  getUserMedia = vi.fn(async () => stream);
  vi.stubGlobal('MediaRecorder', FakeRecorder);
  Object.defineProperty(navigator, 'mediaDevices', {
    value: { getUserMedia },
    configurable: true,
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('choosing the format and naming failures', () => {
  it('prefers WebM Opus, then Ogg Opus, else the browser default', () => {
    expect(pickMimeType(() => true)).toBe('audio/webm;codecs=opus');
    expect(pickMimeType((mime) => mime.startsWith('audio/ogg'))).toBe('audio/ogg;codecs=opus');
    expect(pickMimeType(() => false)).toBeUndefined();
  });

  it('tells a blocked microphone from a missing or busy one', () => {
    expect(recorderErrorReason(new DOMException('x', 'NotAllowedError'))).toBe('denied');
    expect(recorderErrorReason(new DOMException('x', 'NotFoundError'))).toBe('noDevice');
    expect(recorderErrorReason(new DOMException('x', 'NotReadableError'))).toBe('busy');
    expect(recorderErrorReason(new Error('boom'))).toBe('failed');
  });
});

describe('useVoiceRecorder', () => {
  it('records Opus and returns it with its duration; the microphone is closed afterwards', async () => {
    const { recorder } = mountRecorder();
    await recorder.start();
    expect(recorder.state.value).toBe('recording');
    expect(FakeRecorder.last?.mimeType).toBe('audio/ogg;codecs=opus');

    await vi.advanceTimersByTimeAsync(2000);
    expect(recorder.elapsedMs.value).toBeGreaterThanOrEqual(1900);
    const stopping = recorder.stop();
    await vi.advanceTimersByTimeAsync(1);
    const result = await stopping;

    expect(result?.mime).toBe('audio/ogg;codecs=opus');
    expect(result?.durationMs).toBeGreaterThanOrEqual(2000);
    expect(await result?.blob.text()).toBe('opus-bytes');
    expect(track.stop).toHaveBeenCalled();
    expect(recorder.state.value).toBe('idle');
  });

  it('returns nothing for a press shorter than half a second', async () => {
    const { recorder } = mountRecorder();
    await recorder.start();
    await vi.advanceTimersByTimeAsync(300);
    const stopping = recorder.stop();
    await vi.advanceTimersByTimeAsync(1);
    expect(await stopping).toBeNull();
  });

  it('stops by itself after five minutes and hands the recording over', async () => {
    const onAutoStop = vi.fn();
    const { recorder } = mountRecorder({ onAutoStop });
    await recorder.start();
    await vi.advanceTimersByTimeAsync(5 * 60_000 + 10);

    expect(onAutoStop).toHaveBeenCalledOnce();
    expect(onAutoStop.mock.calls[0]?.[0].durationMs).toBeGreaterThanOrEqual(5 * 60_000);
    expect(recorder.state.value).toBe('idle');
    expect(await recorder.stop()).toBeNull();
  });

  it('says in the user’s language that the microphone is blocked', async () => {
    getUserMedia.mockRejectedValueOnce(new DOMException('denied', 'NotAllowedError'));
    const { recorder } = mountRecorder();
    await recorder.start();
    expect(recorder.state.value).toBe('error');
    expect(recorder.error.value).toBe('denied');
    expect(recorder.errorText.value).toContain('microphone is blocked');
  });

  it('closes a microphone that opened after the button was already released', async () => {
    let grant!: (stream: unknown) => void;
    getUserMedia.mockImplementationOnce(() => new Promise((resolve) => (grant = resolve)));
    const { recorder } = mountRecorder();
    const starting = recorder.start();
    expect(recorder.state.value).toBe('starting');
    expect(await recorder.stop()).toBeNull();

    grant({ getTracks: () => [track], getAudioTracks: () => [track] });
    await starting;
    expect(track.stop).toHaveBeenCalled();
    expect(recorder.state.value).toBe('idle');
  });
});
