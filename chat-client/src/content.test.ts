import type { ChatContent } from '@trupp/shared';
import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.ts';
import { ChatContentError, decodeContent, encodeContent } from './content.ts';

describe('content', () => {
  it('round-trips every content type', () => {
    const contents: ChatContent[] = [
      { v: 1, type: 'text', id: 'a', text: 'hi', mentions: ['u1'], replyTo: 'z' },
      {
        v: 1,
        type: 'attachment',
        id: 'b',
        caption: 'map',
        attachment: {
          kind: 'image',
          blobId: 'x',
          key: 'k',
          iv: 'i',
          mime: 'image/jpeg',
          name: 'a.jpg',
          size: 10,
        },
      },
      { v: 1, type: 'edit', id: 'c', target: 'a', text: 'hello' },
      { v: 1, type: 'delete', id: 'd', target: 'a' },
    ];
    for (const content of contents) expect(decodeContent(encodeContent(content))).toEqual(content);
  });

  it('rejects unknown types, wrong shapes and non-JSON with a ChatContentError', () => {
    const bad = [
      utf8(JSON.stringify({ v: 1, type: 'poll', id: 'a', question: '?' })),
      utf8(JSON.stringify({ v: 2, type: 'text', id: 'a', text: 'hi' })),
      utf8(JSON.stringify({ v: 1, type: 'text', id: 'a', text: 5 })),
      utf8(JSON.stringify({ v: 1, type: 'attachment', id: 'a', attachment: { kind: 'image' } })),
      utf8('not json'),
      Uint8Array.of(0xff, 0xfe),
    ];
    for (const bytes of bad) expect(() => decodeContent(bytes)).toThrow(ChatContentError);
  });
});
