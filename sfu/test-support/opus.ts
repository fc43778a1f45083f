import OpusScript from 'opusscript';

/**
 * Real Opus for tests: libopus (compiled to WebAssembly by the `opusscript` package)
 * encodes a tone into 20 ms packets, and decodes packets back to PCM.
 */
export const FRAME_SAMPLES = 960; // 20 ms at 48 kHz

/** `count` 20 ms packets of a 440 Hz tone, mono, as a browser would send them. */
export function encodeTone(count: number, frequency = 440): Buffer[] {
  const encoder = new OpusScript(48_000, 1, OpusScript.Application.VOIP);
  try {
    encoder.setBitrate(24_000);
    const packets: Buffer[] = [];
    for (let frame = 0; frame < count; frame += 1) {
      const pcm = Buffer.alloc(FRAME_SAMPLES * 2);
      for (let i = 0; i < FRAME_SAMPLES; i += 1) {
        const t = (frame * FRAME_SAMPLES + i) / 48_000;
        pcm.writeInt16LE(Math.round(10_000 * Math.sin(2 * Math.PI * frequency * t)), i * 2);
      }
      // opusscript reuses its output buffer: copy each packet.
      packets.push(Buffer.from(encoder.encode(pcm, FRAME_SAMPLES)));
    }
    return packets;
  } finally {
    encoder.delete();
  }
}

/** Decodes packets in order (mono); returns the number of samples and their RMS. */
export function decodeAll(packets: Buffer[]): { samples: number; rms: number } {
  const decoder = new OpusScript(48_000, 1, OpusScript.Application.VOIP);
  try {
    let samples = 0;
    let sumSquares = 0;
    for (const packet of packets) {
      const pcm = decoder.decode(packet);
      for (let i = 0; i + 1 < pcm.length; i += 2) {
        const value = pcm.readInt16LE(i);
        sumSquares += value * value;
      }
      samples += pcm.length / 2;
    }
    return { samples, rms: samples === 0 ? 0 : Math.sqrt(sumSquares / samples) };
  } finally {
    decoder.delete();
  }
}
