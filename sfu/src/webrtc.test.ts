import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { RtpSink, waitFor } from '../test-support/rtp.ts';
import { loadSfuConfig } from './config.ts';
import { Server } from './Server.ts';

/**
 * A real ICE + DTLS + SRTP session into the WebRtcServer, from werift (a WebRTC peer in
 * TypeScript). Plain transports never run DTLS, and the offline-built worker once
 * crashed on the first real handshake (the kTLS fix in worker-shims/openssl), so this
 * test is what proves a browser-like client can talk.
 */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('WebRTC client through the WebRtcServer', () => {
  it('completes ICE and DTLS, and its audio reaches a listener once it holds the floor', async () => {
    // Without the kTLS fix the worker dies on the handshake: fail on that, not a timeout.
    const notifications: string[] = [];
    const server = await Server.start({
      config: loadSfuConfig(
        {},
        { workers: 1, rtcPort: 0, listenIp: '127.0.0.1', announcedAddress: null },
      ),
      log: pino({ level: 'silent' }),
      onNotification: (notification) => notifications.push(notification.type),
    });
    cleanups.push(() => server.close());
    const channelId = 'webrtc';

    // The talker: werift offers one send-only Opus track.
    const pc = new RTCPeerConnection({
      codecs: {
        audio: [
          new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 }),
        ],
      },
    });
    cleanups.push(() => pc.close());
    const track = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription!.sdp;
    const fingerprint = /a=fingerprint:sha-256 (\S+)/.exec(offer)![1]!;
    const payloadType = Number(/a=rtpmap:(\d+) opus\/48000\/2/i.exec(offer)![1]);
    const ssrc = Number(/a=ssrc:(\d+)/.exec(offer)![1]);
    const mid = /a=mid:(\S+)/.exec(offer)![1]!;

    await server.join(channelId, 'alice');
    const transport = await server.createTransport(channelId, 'alice', 'webrtc');
    await server.connectTransport(channelId, 'alice', transport.transportId, {
      dtlsParameters: {
        role: 'client',
        fingerprints: [{ algorithm: 'sha-256', value: fingerprint }],
      },
    });
    const { producerId } = await server.produce(channelId, 'alice', transport.transportId, {
      mid,
      codecs: [
        { mimeType: 'audio/opus', payloadType, clockRate: 48000, channels: 2, parameters: {} },
      ],
      encodings: [{ ssrc }],
    });

    // mediasoup is ICE-lite and the DTLS server: the answer says so.
    const serverFingerprint = transport.dtlsParameters!.fingerprints.find(
      (f) => f.algorithm === 'sha-256',
    )!.value;
    const udp = transport.iceCandidates!.find((candidate) => candidate.protocol === 'udp')!;
    const answer = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      `a=group:BUNDLE ${mid}`,
      'a=ice-lite',
      `a=fingerprint:sha-256 ${serverFingerprint}`,
      `m=audio ${udp.port} UDP/TLS/RTP/SAVPF ${payloadType}`,
      'c=IN IP4 127.0.0.1',
      `a=mid:${mid}`,
      'a=recvonly',
      `a=ice-ufrag:${transport.iceParameters!.usernameFragment}`,
      `a=ice-pwd:${transport.iceParameters!.password}`,
      'a=setup:passive',
      'a=rtcp-mux',
      `a=rtpmap:${payloadType} opus/48000/2`,
      `a=candidate:${udp.foundation} 1 udp ${udp.priority} ${udp.address} ${udp.port} typ host`,
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });

    // A listener on a plain transport.
    const sink = await RtpSink.open();
    cleanups.push(() => sink.close());
    const { rtpCapabilities } = await server.join(channelId, 'bob');
    const recv = await server.createTransport(channelId, 'bob', 'plain');
    await server.connectTransport(channelId, 'bob', recv.transportId, {
      ip: '127.0.0.1',
      port: sink.port,
    });
    const consumer = await server.consume(
      channelId,
      'bob',
      recv.transportId,
      producerId,
      rtpCapabilities,
      {
        paused: false,
      },
    );
    const out = consumer.rtpParameters.encodings![0]!.ssrc!;

    expect(await waitFor(() => pc.connectionState === 'connected', 10_000)).toBe(true);
    let seq = 0;
    const timer = setInterval(() => {
      const packet = Buffer.alloc(15);
      packet[0] = 0x80;
      packet[1] = payloadType;
      packet.writeUInt16BE(seq++ & 0xffff, 2);
      packet.writeUInt32BE((seq * 960) >>> 0, 4);
      packet.writeUInt32BE(ssrc, 8);
      packet.set([0xf8, 0xff, 0xfe], 12);
      track.writeRtp(packet);
    }, 20);
    cleanups.push(() => clearInterval(timer));

    // Sent over SRTP but paused on the server: nothing reaches bob.
    expect(await sink.countDuring(out, 300)).toBe(0);
    await server.grantFloor(channelId, producerId);
    expect(await waitFor(() => sink.count(out) >= 10, 2_000)).toBe(true);
    expect(notifications).not.toContain('worker.died');
  });
});
