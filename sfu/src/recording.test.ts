import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readOggOpus } from '../test-support/ogg.ts';
import { decodeAll, encodeTone } from '../test-support/opus.ts';
import { sleep, waitFor } from '../test-support/rtp.ts';
import {
  addListener,
  addTalker,
  cleanups,
  runCleanups,
  startTestServer,
} from '../test-support/server.ts';

afterEach(runCleanups);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trupp-rec-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** 150 packets of a real Opus tone (3 s), encoded once for every test. */
const TONE = encodeTone(150);

describe('Recording (real mediasoup worker)', () => {
  it('records a 3 s transmission, with a lost stretch, as a valid Ogg Opus file of 3 s', async () => {
    const { server, notifications } = await startTestServer();
    const directory = join(tempDir(), 'tenant', 'channel');
    await server.createChannel('rec', { recording: { directory } });
    const alice = await addTalker(server, 'rec', 'alice', TONE);
    const bob = await addListener(server, 'rec', 'bob');
    const bobSsrc = await bob.consume(alice.producerId);
    alice.start();
    await sleep(100); // sent while paused: neither forwarded nor recorded

    const grantedAt = Date.now();
    await server.grantFloor('rec', alice.producerId, { talker: 'Alice Example' });
    const sentAtGrant = alice.talker.sent + alice.talker.dropped;
    expect(server.stats().channels[0]!.recordingId).toEqual(expect.any(String));
    await waitFor(() => alice.talker.sent + alice.talker.dropped - sentAtGrant >= 75, 5_000);
    alice.talker.drop(10); // 200 ms lost on the way
    await waitFor(() => alice.talker.sent + alice.talker.dropped - sentAtGrant >= 150, 5_000);
    await sleep(30);
    const packetsInTurn = alice.talker.sent + alice.talker.dropped - sentAtGrant;
    await server.releaseFloor('rec');

    const [finished] = await notifications.wait('recording.finished');
    expect(finished).toMatchObject({
      channelId: 'rec',
      participantId: 'alice',
      producerId: alice.producerId,
      talker: 'Alice Example',
      reason: 'released',
    });
    expect(finished!.path.startsWith(`${directory}/`)).toBe(true);
    expect(finished!.path.endsWith('.opus')).toBe(true);
    expect(Math.abs(Date.parse(finished!.startedAt) - grantedAt)).toBeLessThan(1_000);
    expect(statSync(finished!.path).size).toBe(finished!.bytes);
    expect(bob.sink.count(bobSsrc)).toBeGreaterThan(100); // listeners heard it meanwhile

    // The file, read by an independent parser: CRCs, page order, flags, headers.
    const ogg = readOggOpus(readFileSync(finished!.path));
    expect(ogg.head).toMatchObject({ version: 1, channels: 1, preSkip: 312, mapping: 0 });
    expect(ogg.tags).toMatchObject({ TRUPP_CHANNEL: 'rec', ARTIST: 'Alice Example' });
    const expectedMs = packetsInTurn * 20;
    expect(expectedMs).toBeGreaterThanOrEqual(3_000);
    expect(Math.abs(ogg.durationMs - expectedMs) / expectedMs).toBeLessThanOrEqual(0.1);
    expect(Math.abs(finished!.durationMs - ogg.durationMs)).toBeLessThanOrEqual(1);
    // The lost 200 ms are concealed, not cut out.
    expect(finished!.concealedMs).toBeGreaterThanOrEqual(180);
    expect(finished!.concealedMs).toBeLessThanOrEqual(260);
    // libopus decodes it all back: as many samples as the granule says, and the tone.
    const decoded = decodeAll(ogg.audio);
    expect(decoded.samples).toBe(Number(ogg.finalGranule));
    expect(decoded.rms).toBeGreaterThan(2_000);
    console.warn(
      `[sfu test] recording: ${packetsInTurn} packets in the turn → ${Math.round(ogg.durationMs)} ms in the file (${finished!.bytes} bytes, ${finished!.concealedMs} ms concealed)`,
    );
  });

  it('writes one file per turn: a pre-emption ends one, a talker leaving ends the next', async () => {
    const { server, notifications } = await startTestServer();
    const directory = tempDir();
    await server.createChannel('turns', { recording: { directory } });
    const alice = await addTalker(server, 'turns', 'alice', TONE);
    const carol = await addTalker(server, 'turns', 'carol', TONE);
    alice.start();
    carol.start();
    await server.grantFloor('turns', alice.producerId);
    await sleep(500);
    await server.grantFloor('turns', carol.producerId); // pre-empts alice
    await sleep(500);
    expect(server.leave('turns', 'carol')).toBe(true);

    const finished = await notifications.wait('recording.finished', 2);
    expect(finished.map((n) => [n.participantId, n.reason])).toEqual([
      ['alice', 'floor.changed'],
      ['carol', 'producer.closed'],
    ]);
    expect(finished[1]!.talker).toBe('carol'); // no label given: the participant id
    for (const n of finished) {
      const ogg = readOggOpus(readFileSync(n.path));
      expect(ogg.durationMs).toBeGreaterThan(350);
      expect(ogg.durationMs).toBeLessThan(800);
    }
    expect(readdirSync(directory).sort()).toEqual(
      finished.map((n) => n.path.slice(directory.length + 1)).sort(),
    );
  });

  it('records nothing without audio or with recording off, starts mid-turn, and finishes on shutdown', async () => {
    const { server, notifications } = await startTestServer();
    const directory = tempDir();
    await expect(
      server.createChannel('opt', { recording: { directory: 'relative/dir' } }),
    ).rejects.toMatchObject({
      code: 'SFU_BAD_RECORDING_DIRECTORY',
      statusCode: 400,
    });
    await server.createChannel('opt', { recording: { directory } });
    const silent = await addTalker(server, 'opt', 'silent', TONE); // never starts sending
    await server.grantFloor('opt', silent.producerId);
    await sleep(200);
    await server.releaseFloor('opt');

    const alice = await addTalker(server, 'opt', 'alice', TONE);
    alice.start();
    expect(await server.setRecording('opt', null)).toEqual({ recording: false });
    await server.grantFloor('opt', alice.producerId);
    await sleep(300);
    await server.releaseFloor('opt');
    await sleep(200);
    expect(notifications.of('recording.finished')).toEqual([]);
    expect(readdirSync(directory)).toEqual([]);

    // Switched on while alice talks: her turn is recorded from then on.
    await server.grantFloor('opt', alice.producerId);
    await sleep(200);
    expect(await server.setRecording('opt', { directory })).toEqual({ recording: true });
    expect(server.stats().channels[0]!.recording).toEqual({ directory });
    await sleep(400);
    // Shutting down ends the turn's file properly before the process would exit.
    await server.shutdown();
    const [finished] = await notifications.wait('recording.finished');
    expect(finished).toMatchObject({ participantId: 'alice', reason: 'channel.closed' });
    const ogg = readOggOpus(readFileSync(finished!.path));
    expect(ogg.durationMs).toBeGreaterThan(250);
    expect(ogg.durationMs).toBeLessThan(700);
  });
});
