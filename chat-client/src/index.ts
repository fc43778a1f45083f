export {
  ChatClient,
  type ChatClientOptions,
  type ChatDeviceInfo,
  type ChatPreparedSend,
} from './ChatClient.ts';
export { MemoryChatStore, type ChatStore } from './store.ts';
export { ChatClientError, errorCode, type ChatTransport } from './transport.ts';
export type {
  ChatClientEvents,
  ChatErrorEvent,
  ChatMessageEvent,
  ChatSystemEvent,
} from './events.ts';
export { ChatContentError, decodeContent, encodeContent } from './content.ts';
export { decryptBlob, encryptBlob, type EncryptedBlob } from './blob-crypto.ts';
export { chatSafetyNumber } from './safety-number.ts';
export { fromBase64, toBase64 } from './bytes.ts';
export { httpChatTransport, type ChatRequest } from './http-transport.ts';
