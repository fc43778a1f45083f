import type { ChatAttachmentRef, ChatContent } from '@trupp/shared';
import { fromUtf8, utf8 } from './bytes.ts';

/** A decrypted message whose content this client does not understand. */
export class ChatContentError extends Error {
  override readonly name = 'ChatContentError';
}

export const encodeContent = (content: ChatContent): Uint8Array => utf8(JSON.stringify(content));

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const optional = (o: Json, key: string, check: (v: unknown) => boolean): boolean =>
  o[key] === undefined || check(o[key]);
const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every(isString);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function isAttachment(v: unknown): v is ChatAttachmentRef {
  return (
    isObject(v) &&
    (v.kind === 'image' || v.kind === 'file' || v.kind === 'voice') &&
    isString(v.blobId) &&
    isString(v.key) &&
    isString(v.iv) &&
    isString(v.mime) &&
    isString(v.name) &&
    isCount(v.size) &&
    optional(v, 'durationMs', isCount) &&
    optional(v, 'width', isCount) &&
    optional(v, 'height', isCount) &&
    optional(v, 'thumbnail', isString)
  );
}

function isContent(o: Json): boolean {
  if (o.v !== 1 || !isString(o.id)) return false;
  switch (o.type) {
    case 'text':
      return (
        isString(o.text) &&
        optional(o, 'mentions', isStringArray) &&
        optional(o, 'replyTo', isString)
      );
    case 'attachment':
      return (
        isAttachment(o.attachment) &&
        optional(o, 'caption', isString) &&
        optional(o, 'mentions', isStringArray) &&
        optional(o, 'replyTo', isString)
      );
    case 'edit':
      return isString(o.target) && isString(o.text);
    case 'delete':
      return isString(o.target);
    default:
      return false;
  }
}

/**
 * Parses a decrypted application message. Senders are authenticated members, but a newer
 * app version may send types this one does not know, so the shape is checked, not trusted.
 *
 * @throws {ChatContentError} when the bytes are not JSON of a known `ChatContent` shape.
 */
export function decodeContent(bytes: Uint8Array): ChatContent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new ChatContentError('The message content is not UTF-8 JSON.');
  }
  if (!isObject(parsed) || !isContent(parsed)) {
    const type = isObject(parsed) && isString(parsed.type) ? parsed.type : 'unknown';
    throw new ChatContentError(`The message content has an unknown shape (type ${type}).`);
  }
  return parsed as unknown as ChatContent;
}
