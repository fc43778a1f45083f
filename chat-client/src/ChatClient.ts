import {
  CHAT_LIMITS,
  type ChatContent,
  type ChatConversation,
  type ChatEnvelope,
  type ChatSend,
  type ChatSendResult,
  type ChatWelcome,
} from '@trupp/shared';
import {
  acceptAll,
  createApplicationMessage,
  createCommit,
  createGroup,
  emptyPskIndex,
  encodeMlsMessage,
  joinGroup,
  processMessage,
  type ClientState,
  type PrivateKeyPackage,
  type ProcessMessageResult,
  type Proposal,
} from 'ts-mls';
import {
  decodeTagged,
  encodeTagged,
  fromBase64,
  randomId,
  sha256Hex,
  toBase64,
  utf8,
} from './bytes.ts';
import { ChatContentError, decodeContent, encodeContent } from './content.ts';
import { ChatEmitter, type ChatClientEvents } from './events.ts';
import {
  cipherSuite,
  decodeClientState,
  decodeKeyPackage,
  decodeMessage,
  decodeRatchetTree,
  encodeGroupState,
  encodeRatchetTree,
  epochOf,
  generateDeviceKeyPackage,
  isActive,
  leaves,
  parseIdentity,
  truppClientConfig,
  type Leaf,
  type SignatureKeyPair,
} from './mls.ts';
import { chatSafetyNumber } from './safety-number.ts';
import type { ChatStore } from './store.ts';
import { ChatClientError, errorCode, type ChatTransport } from './transport.ts';

/** Key packages a device keeps on the server; refilled below CHAT_LIMITS.keyPackagesLow. */
const KEY_PACKAGE_TARGET = 20;
const SEND_ATTEMPTS = 3;
const RECONCILE_ATTEMPTS = 4;

/**
 * Store layout. Every key starts with `chat/`, so `forget()` finds them all.
 * - `chat/identity`: the Ed25519 signature key pair (tagged JSON).
 * - `chat/last-resort`: present once the last-resort key package was uploaded.
 * - `chat/kp/<ref>`: a key package's bytes and private keys until a welcome uses it.
 * - `chat/conv/<id>`: read position and MLS group state, written as one value (so a crash
 *   can never leave them out of step) before every message this device sends and after
 *   every batch of received messages it processes.
 */
const PREFIX = 'chat/';
const IDENTITY_KEY = `${PREFIX}identity`;
const LAST_RESORT_KEY = `${PREFIX}last-resort`;
const keyPackageKey = (ref: string): string => `${PREFIX}kp/${ref}`;
const conversationKey = (id: string): string => `${PREFIX}conv/${id}`;

interface StoredKeyPackage {
  bytes: Uint8Array;
  privatePackage: PrivateKeyPackage;
  lastResort: boolean;
  createdAt: number;
}

interface ConversationMeta {
  /** Highest seq processed (or deliberately passed over). */
  lastSeq: number;
  /** The seq of the commit that brought this device in; nothing before it is readable here. */
  joinedSeq: number;
}

interface LocalConversation extends ConversationMeta {
  state: ClientState | undefined;
}

/**
 * A message encrypted ahead by `ChatClient.prepare()`: the `chat.send` exactly as it will
 * go out, and the content it carries (shown as the device's own message once sent).
 */
export interface ChatPreparedSend {
  message: ChatSend;
  content: ChatContent;
}

/** Pushed envelopes of one conversation waiting for their turn on its lock. */
interface PushedBatch {
  envelopes: ChatEnvelope[];
  done: Promise<void>;
}

export interface ChatDeviceInfo {
  userId: string;
  deviceId: string;
  /** base64 Ed25519 public key of the leaf. */
  signaturePublicKey: string;
  /** See chatSafetyNumber. */
  safetyNumber: string;
}

export interface ChatClientOptions {
  userId: string;
  deviceId: string;
  transport: ChatTransport;
  store: ChatStore;
  /** Clock (ms since epoch), recorded with generated key packages. */
  now?: () => number;
  /**
   * Upper bound (ms) of the random pause before this device commits group changes, so that
   * the devices of a conversation rarely race for the same epoch. 0 disables it. Default 250.
   */
  reconcileJitterMs?: number;
  /**
   * Delivery positions are reported at most once per this many ms per conversation (the
   * highest seq processed), not once per message: in a busy group one report per
   * message and device would be most of the server's traffic. 0 reports at once (tests).
   * Default 1000.
   */
  deliveredIntervalMs?: number;
}

/**
 * One device's MLS client: identity and key packages, one MLS group per conversation,
 * encryption and decryption of messages, and the reconciliation of group membership that
 * the server asks for (`ChatConversation.pending`). See `@trupp/shared` chat.ts for the
 * protocol.
 *
 * Ordering: all work on one conversation runs through a per-conversation promise chain,
 * so the socket push path, `sync()` and `send()` never process a message twice or out of
 * order. Messages are applied strictly in seq order.
 *
 * Persistence: state and read position are saved before every message is sent (the
 * sender's ratchet moved; reusing its key would be a key and nonce reuse) and after every
 * batch of received messages — a page of `sync()`, or the pushed envelopes that queued up
 * while the conversation was busy. A crash before a batch is saved loses nothing: the
 * stored state is the one from before the batch, which still holds the keys of its
 * messages, and the read position makes the client fetch and process them again (shown
 * twice at most; the app deduplicates by content id). Delivery is reported only after the
 * save, so the server never counts a message this device could forget.
 */
export class ChatClient {
  readonly userId: string;
  readonly deviceId: string;
  readonly #transport: ChatTransport;
  readonly #store: ChatStore;
  readonly #now: () => number;
  readonly #jitterMs: number;
  readonly #emitter = new ChatEmitter();
  /** Signature keys of devices as the server lists them; leaves must match (mls.ts). */
  readonly #knownKeys = new Map<string, Uint8Array>();
  readonly #config = truppClientConfig((deviceId) => this.#knownKeys.get(deviceId));
  readonly #conversations = new Map<string, LocalConversation>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #deliveredIntervalMs: number;
  /** Highest processed seq not reported yet, per conversation with a report scheduled. */
  readonly #deliveredPending = new Map<string, number>();
  /** Pushed envelopes not yet taken up, per conversation (see `handleEnvelope`). */
  readonly #pushed = new Map<string, PushedBatch>();
  #identity: SignatureKeyPair | undefined;

  constructor(opts: ChatClientOptions) {
    this.userId = opts.userId;
    this.deviceId = opts.deviceId;
    this.#transport = opts.transport;
    this.#store = opts.store;
    this.#now = opts.now ?? Date.now;
    this.#jitterMs = opts.reconcileJitterMs ?? 250;
    this.#deliveredIntervalMs = opts.deliveredIntervalMs ?? 1000;
  }

  on<K extends keyof ChatClientEvents>(
    type: K,
    listener: (event: ChatClientEvents[K]) => void,
  ): () => void {
    return this.#emitter.on(type, listener);
  }

  /** base64 public signature key of this device (after `init()`). */
  get signaturePublicKey(): string {
    return toBase64(this.#requireIdentity().publicKey);
  }

  /**
   * Loads or creates the device identity and makes sure the server holds enough key
   * packages. Private parts are stored before anything is uploaded, so a welcome can
   * never name a key package this device has lost.
   */
  async init(): Promise<void> {
    const stored = await this.#store.get(IDENTITY_KEY);
    if (stored !== undefined) {
      this.#identity = decodeTagged<SignatureKeyPair>(stored);
    } else {
      const cs = await cipherSuite();
      const { signKey, publicKey } = await cs.signature.keygen();
      this.#identity = { signKey, publicKey };
      await this.#store.put(IDENTITY_KEY, encodeTagged(this.#identity));
    }
    await this.#lock('keys', () => this.#refillKeyPackages());
  }

  /**
   * Catches up with the server: joins groups from welcomes, processes new messages of every
   * conversation in seq order, and commits the membership changes the server lists as
   * pending. Failures about single messages are emitted as 'error' events, not thrown.
   *
   * @throws the transport's error when the server cannot be reached.
   */
  async sync(): Promise<void> {
    this.#requireIdentity();
    await this.#processWelcomes(await this.#transport.fetchWelcomes());
    const conversations = await this.#transport.listConversations();
    this.#learnDevices(conversations);
    let lostCreation = false;
    for (const conversation of conversations) {
      const outcome = await this.#lock(conversation.id, async () => {
        await this.#catchUp(conversation.id);
        return this.#reconcile(conversation);
      });
      if (outcome === 'lost_creation') lostCreation = true;
    }
    // Another device created a group this one tried to create; its welcome is waiting.
    if (lostCreation) await this.#processWelcomes(await this.#transport.fetchWelcomes());
    await this.#lock('keys', () => this.#refillKeyPackages());
  }

  /**
   * Socket push of a stored message: processes it in order, fetching any gap first.
   * Envelopes pushed while the conversation is busy (decrypting, sending) are taken up
   * together when it is free, as one batch saved once; the promise resolves when the
   * batch holding this envelope has been processed and saved.
   */
  handleEnvelope(envelope: ChatEnvelope): Promise<void> {
    const conversationId = envelope.conversationId;
    let batch = this.#pushed.get(conversationId);
    if (batch === undefined) {
      const envelopes: ChatEnvelope[] = [];
      const done = this.#lock(conversationId, async () => {
        // From here on, new pushes start the next batch.
        this.#pushed.delete(conversationId);
        await this.#processPushed(conversationId, envelopes);
      });
      batch = { envelopes, done };
      this.#pushed.set(conversationId, batch);
    }
    batch.envelopes.push(envelope);
    return batch.done;
  }

  /** Socket push of a welcome for this device. */
  async handleWelcome(welcome: ChatWelcome): Promise<void> {
    await this.#processWelcomes([welcome]);
    await this.#lock('keys', () => this.#refillKeyPackages());
  }

  /**
   * Encrypts and sends one message at the group's current epoch. When the server says the
   * epoch is stale, processes the missing commits and resends under the same `clientId`,
   * so a retry never duplicates the message.
   *
   * @throws {ChatClientError} CHAT_NOT_IN_GROUP when this device is not in the group.
   * @throws the transport's error when sending fails for another reason or keeps being stale.
   */
  async send(conversationId: string, content: ChatContent): Promise<ChatSendResult> {
    const plaintext = encodeContent(content);
    return this.#lock(conversationId, async () => {
      const clientId = randomId();
      for (let attempt = 1; ; attempt++) {
        const message = await this.#encrypt(conversationId, clientId, plaintext);
        try {
          return this.#sent(message, content, await this.#transport.send(message));
        } catch (error) {
          if (errorCode(error) !== 'CHAT_EPOCH_STALE' || attempt >= SEND_ATTEMPTS) throw error;
          await this.#catchUp(conversationId);
        }
      }
    });
  }

  /**
   * Encrypts one message at the group's current epoch without sending it, for
   * `sendPrepared()` later: the work of `send()` split in two, e.g. to encrypt ahead of
   * time. The state is saved before this returns, as before any send. The ciphertext is
   * only good for this epoch: once a commit moved the group on, the server refuses it
   * (CHAT_EPOCH_STALE) and the content has to be prepared again.
   *
   * @throws {ChatClientError} CHAT_NOT_IN_GROUP when this device is not in the group.
   */
  async prepare(conversationId: string, content: ChatContent): Promise<ChatPreparedSend> {
    const plaintext = encodeContent(content);
    const message = await this.#lock(conversationId, () =>
      this.#encrypt(conversationId, randomId(), plaintext),
    );
    return { message, content };
  }

  /**
   * Sends a message from `prepare()` unchanged, once, and shows it as this device's own.
   * Send prepared messages in the order they were prepared: receivers read each sender's
   * messages in its ratchet's order and keep only a bounded window of skipped keys.
   *
   * @throws the transport's error, CHAT_EPOCH_STALE included (no retry: the ciphertext
   * belongs to its epoch).
   */
  async sendPrepared(prepared: ChatPreparedSend): Promise<ChatSendResult> {
    return this.#sent(
      prepared.message,
      prepared.content,
      await this.#transport.send(prepared.message),
    );
  }

  /** The devices in the local MLS group, as the cryptography sees them. */
  async devices(conversationId: string): Promise<ChatDeviceInfo[]> {
    const local = await this.#lock(conversationId, () => this.#load(conversationId));
    if (!isActive(local?.state)) return [];
    return Promise.all(
      leaves(local.state.ratchetTree).map(async (leaf) => {
        const signaturePublicKey = toBase64(leaf.signaturePublicKey);
        return {
          userId: leaf.userId,
          deviceId: leaf.deviceId,
          signaturePublicKey,
          safetyNumber: await chatSafetyNumber(signaturePublicKey),
        };
      }),
    );
  }

  /** See chatSafetyNumber. */
  safetyNumber(signaturePublicKeyBase64: string): Promise<string> {
    return chatSafetyNumber(signaturePublicKeyBase64);
  }

  /** The local MLS epoch, or null when this device is not in the group. */
  async epoch(conversationId: string): Promise<number | null> {
    const local = await this.#lock(conversationId, () => this.#load(conversationId));
    return isActive(local?.state) ? epochOf(local.state) : null;
  }

  async isMember(conversationId: string): Promise<boolean> {
    const local = await this.#lock(conversationId, () => this.#load(conversationId));
    return isActive(local?.state);
  }

  /** Deletes every key this client stored (sign-out, device reset) and forgets its caches. */
  async forget(): Promise<void> {
    for (const key of await this.#store.keys(PREFIX)) await this.#store.delete(key);
    this.#conversations.clear();
    this.#identity = undefined;
  }

  // --- sending ------------------------------------------------------------------------

  /** Encrypts at the current epoch and saves the moved ratchet. Caller holds the lock. */
  async #encrypt(
    conversationId: string,
    clientId: string,
    plaintext: Uint8Array,
  ): Promise<ChatSend> {
    const local = await this.#load(conversationId);
    if (local === undefined || !isActive(local.state)) {
      throw new ChatClientError(
        'CHAT_NOT_IN_GROUP',
        'This device is not in the conversation group.',
      );
    }
    const epoch = epochOf(local.state);
    const { newState, privateMessage } = await createApplicationMessage(
      local.state,
      plaintext,
      await cipherSuite(),
    );
    // Persisted before the ciphertext leaves this method: the ratchet moved, and reusing
    // its key after a crash would encrypt two messages under one key and nonce.
    local.state = newState;
    await this.#save(conversationId, local);
    const payload = toBase64(
      encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage }),
    );
    return { conversationId, clientId, epoch, payload };
  }

  /** The server accepted this device's message. */
  #sent(message: ChatSend, content: ChatContent, result: ChatSendResult): ChatSendResult {
    // The server push of this message is skipped by sender device (#processEnvelopes), so
    // this is the only time it is shown.
    this.#emitter.emit('message', {
      conversationId: message.conversationId,
      seq: result.seq,
      senderUserId: this.userId,
      senderDeviceId: this.deviceId,
      createdAt: result.createdAt,
      content,
      own: true,
    });
    return result;
  }

  // --- key packages -------------------------------------------------------------------

  async #refillKeyPackages(): Promise<void> {
    const identity = this.#requireIdentity();
    const needsLastResort = (await this.#store.get(LAST_RESORT_KEY)) === undefined;
    const count = await this.#transport.keyPackageCount();
    if (count >= CHAT_LIMITS.keyPackagesLow && !needsLastResort) return;
    const wanted = Math.max(0, KEY_PACKAGE_TARGET - count);
    const device = { userId: this.userId, deviceId: this.deviceId };
    const generated = [];
    for (let i = 0; i < wanted + (needsLastResort ? 1 : 0); i++) {
      const kp = await generateDeviceKeyPackage(device, identity);
      const lastResort = needsLastResort && i === wanted;
      const record: StoredKeyPackage = {
        bytes: kp.bytes,
        privatePackage: kp.privatePackage,
        lastResort,
        createdAt: this.#now(),
      };
      await this.#store.put(keyPackageKey(kp.ref), encodeTagged(record));
      generated.push({ ...kp, lastResort });
    }
    const lastResort = generated.find((kp) => kp.lastResort);
    await this.#transport.uploadKeyPackages({
      signaturePublicKey: toBase64(identity.publicKey),
      keyPackages: generated.filter((kp) => !kp.lastResort).map((kp) => toBase64(kp.bytes)),
      ...(lastResort ? { lastResort: toBase64(lastResort.bytes) } : {}),
    });
    if (lastResort) await this.#store.put(LAST_RESORT_KEY, utf8(lastResort.ref));
  }

  // --- welcomes -----------------------------------------------------------------------

  async #processWelcomes(welcomes: ChatWelcome[]): Promise<void> {
    for (const welcome of [...welcomes].sort((a, b) => a.seq - b.seq)) {
      await this.#lock(welcome.conversationId, () => this.#processWelcome(welcome));
    }
  }

  async #processWelcome(welcome: ChatWelcome): Promise<void> {
    const conversationId = welcome.conversationId;
    let local = await this.#load(conversationId);
    // A device still in the group reads on; a welcome only matters to one that is not
    // (never was, or was removed and is now added again).
    if (isActive(local?.state)) {
      await this.#catchUp(conversationId);
      local = await this.#load(conversationId);
      if (isActive(local?.state)) return;
    }
    if (local !== undefined && welcome.seq <= local.lastSeq) return;
    const storedKp = await this.#store.get(keyPackageKey(welcome.keyPackageRef));
    if (storedKp === undefined) {
      this.#emitter.emit('error', {
        conversationId,
        seq: welcome.seq,
        reason: 'welcome_failed',
        error: new Error('The welcome names a key package this device does not have.'),
      });
      return;
    }
    try {
      const record = decodeTagged<StoredKeyPackage>(storedKp);
      const message = decodeMessage(fromBase64(welcome.welcome));
      if (message.wireformat !== 'mls_welcome') throw new Error('Not an MLS welcome.');
      const tree =
        welcome.ratchetTree === null
          ? undefined
          : decodeRatchetTree(fromBase64(welcome.ratchetTree), 0)?.[0];
      const state = await joinGroup(
        message.welcome,
        decodeKeyPackage(record.bytes),
        record.privatePackage,
        emptyPskIndex,
        await cipherSuite(),
        tree,
        undefined,
        this.#config,
      );
      const joined: LocalConversation = { state, lastSeq: welcome.seq, joinedSeq: welcome.seq };
      await this.#save(conversationId, joined);
      // The server may forget the welcome now (a failed join keeps it for a retry).
      await this.#transport.acknowledgeWelcome?.(welcome.id).catch(() => undefined);
      // One-time keys are gone once used (forward secrecy); the last-resort one stays.
      if (!record.lastResort) await this.#store.delete(keyPackageKey(welcome.keyPackageRef));
      this.#emitter.emit('system', {
        conversationId,
        seq: welcome.seq,
        type: 'joined',
        userId: this.userId,
        deviceId: this.deviceId,
      });
    } catch (error) {
      this.#emitter.emit('error', {
        conversationId,
        seq: welcome.seq,
        reason: 'welcome_failed',
        error,
      });
      return;
    }
    await this.#catchUp(conversationId);
  }

  // --- messages -----------------------------------------------------------------------

  /** Fetches and processes everything after the local read position. Caller holds the lock. */
  async #catchUp(conversationId: string): Promise<void> {
    const local = await this.#load(conversationId);
    if (local === undefined || !isActive(local.state)) return;
    for (;;) {
      const page = await this.#transport.fetchMessages(
        conversationId,
        local.lastSeq,
        CHAT_LIMITS.pageSize,
      );
      await this.#processEnvelopes(local, conversationId, page);
      if (page.length < CHAT_LIMITS.pageSize || !isActive(local.state)) return;
    }
  }

  /**
   * A batch of pushed envelopes, in any order, duplicates and old ones included: the run
   * that follows the read position is processed as one batch; a gap is fetched.
   * Caller holds the lock.
   */
  async #processPushed(conversationId: string, pushed: ChatEnvelope[]): Promise<void> {
    const local = await this.#load(conversationId);
    if (local === undefined || !isActive(local.state)) return;
    const run: ChatEnvelope[] = [];
    let gap = false;
    for (const envelope of [...pushed].sort((a, b) => a.seq - b.seq)) {
      const next = (run.at(-1)?.seq ?? local.lastSeq) + 1;
      if (envelope.seq < next) continue;
      if (envelope.seq > next) {
        gap = true;
        break;
      }
      run.push(envelope);
    }
    if (run.length > 0) await this.#processEnvelopes(local, conversationId, run);
    if (gap) await this.#catchUp(conversationId);
  }

  /**
   * Applies `envelopes` (in seq order, following `local.lastSeq`) and saves state and read
   * position once, after the batch: see the class comment for why that is safe. Caller
   * holds the lock.
   */
  async #processEnvelopes(
    local: LocalConversation,
    conversationId: string,
    envelopes: ChatEnvelope[],
  ): Promise<void> {
    const before = local.lastSeq;
    try {
      for (const envelope of envelopes) {
        if (envelope.seq <= local.lastSeq) continue;
        // A removed device stops here: what follows is not meant for it, and a later
        // welcome (re-add) must still find its seq unread.
        if (!isActive(local.state)) break;
        await this.#processEnvelope(local, conversationId, envelope);
        local.lastSeq = envelope.seq;
      }
    } finally {
      if (local.lastSeq > before) await this.#save(conversationId, local);
    }
    if (local.lastSeq > before) await this.#reportDelivered(conversationId, local.lastSeq);
  }

  /** Receipts are best effort; a later report carries a higher seq anyway. */
  async #reportDelivered(conversationId: string, seq: number): Promise<void> {
    if (this.#deliveredIntervalMs === 0) {
      await this.#transport.delivered(conversationId, seq).catch(() => undefined);
      return;
    }
    const scheduled = this.#deliveredPending.has(conversationId);
    this.#deliveredPending.set(
      conversationId,
      Math.max(seq, this.#deliveredPending.get(conversationId) ?? 0),
    );
    if (scheduled) return;
    setTimeout(() => {
      const upTo = this.#deliveredPending.get(conversationId);
      this.#deliveredPending.delete(conversationId);
      if (upTo !== undefined) {
        void this.#transport.delivered(conversationId, upTo).catch(() => undefined);
      }
    }, this.#deliveredIntervalMs);
  }

  async #processEnvelope(
    local: LocalConversation,
    conversationId: string,
    envelope: ChatEnvelope,
  ): Promise<void> {
    const state = local.state;
    if (!isActive(state)) return;
    const epoch = epochOf(state);
    // MLS senders cannot decrypt their own application messages; this device showed them
    // when sending. Own commits were applied when the server accepted them (epoch < local).
    if (envelope.kind === 'application' && envelope.senderDeviceId === this.deviceId) return;
    if (envelope.kind === 'commit' && envelope.epoch < epoch) return;
    const fail = (reason: 'undecryptable' | 'invalid_content', error: unknown): void =>
      this.#emitter.emit('error', { conversationId, seq: envelope.seq, reason, error });
    let result: ProcessMessageResult;
    try {
      if (envelope.kind === 'commit' && envelope.epoch > epoch) {
        throw new Error(`Commit for epoch ${envelope.epoch} but the group is at ${epoch}.`);
      }
      const message = decodeMessage(fromBase64(envelope.payload));
      if (
        message.wireformat !== 'mls_private_message' &&
        message.wireformat !== 'mls_public_message'
      ) {
        throw new Error(`Unexpected ${message.wireformat} in a conversation.`);
      }
      result = await processMessage(message, state, emptyPskIndex, acceptAll, await cipherSuite());
    } catch (error) {
      fail('undecryptable', error);
      return;
    }
    if (result.kind === 'applicationMessage') {
      local.state = result.newState;
      try {
        this.#emitter.emit('message', {
          conversationId,
          seq: envelope.seq,
          senderUserId: envelope.senderUserId,
          senderDeviceId: envelope.senderDeviceId,
          createdAt: envelope.createdAt,
          content: decodeContent(result.message),
          own: false,
        });
      } catch (error) {
        fail(error instanceof ChatContentError ? 'invalid_content' : 'undecryptable', error);
      }
      return;
    }
    local.state = result.newState;
    this.#emitMembershipChanges(conversationId, envelope.seq, state, result.newState);
  }

  #emitMembershipChanges(
    conversationId: string,
    seq: number,
    before: ClientState,
    after: ClientState,
  ): void {
    const key = (leaf: Leaf): string => `${leaf.userId}:${leaf.deviceId}`;
    const old = new Map(leaves(before.ratchetTree).map((leaf) => [key(leaf), leaf]));
    const now = new Map(leaves(after.ratchetTree).map((leaf) => [key(leaf), leaf]));
    for (const [id, leaf] of now) {
      if (!old.has(id))
        this.#emitter.emit('system', { conversationId, seq, type: 'device_added', ...pick(leaf) });
    }
    for (const [id, leaf] of old) {
      if (!now.has(id))
        this.#emitter.emit('system', {
          conversationId,
          seq,
          type: 'device_removed',
          ...pick(leaf),
        });
    }
  }

  // --- group changes ------------------------------------------------------------------

  /**
   * Commits what the server lists as pending, if this device can. Only applies a commit
   * locally once the server accepted it; on CHAT_EPOCH_CONFLICT processes the winner and
   * looks again. Caller holds the conversation lock and has caught up.
   */
  async #reconcile(listed: ChatConversation): Promise<'done' | 'lost_creation'> {
    let conversation: ChatConversation | undefined = listed;
    for (let attempt = 0; attempt < RECONCILE_ATTEMPTS && conversation; attempt++) {
      if (!conversation.members.some((m) => m.userId === this.userId)) return 'done';
      const local = await this.#load(conversation.id);
      const creating = conversation.epoch === null;
      if (!creating && !isActive(local?.state)) return 'done';
      if (
        !creating &&
        conversation.pending.add.length === 0 &&
        conversation.pending.remove.length === 0
      ) {
        return 'done';
      }
      if (attempt === 0 && this.#jitterMs > 0) await sleep(Math.random() * this.#jitterMs);
      try {
        const outcome = await this.#commitPending(conversation, creating ? undefined : local);
        if (outcome !== 'conflict') return 'done';
      } catch (error) {
        this.#emitter.emit('error', {
          conversationId: conversation.id,
          seq: null,
          reason: 'reconcile_failed',
          error,
        });
        return 'done';
      }
      // Another device's commit won this epoch: read it, then see what is still pending.
      await this.#catchUp(conversation.id);
      const id: string = conversation.id;
      conversation = (await this.#transport.listConversations()).find((c) => c.id === id);
      if (conversation) this.#learnDevices([conversation]);
      if (creating && (conversation === undefined || conversation.epoch !== null))
        return 'lost_creation';
    }
    return 'done';
  }

  async #commitPending(
    conversation: ChatConversation,
    local: LocalConversation | undefined,
  ): Promise<'committed' | 'nothing' | 'conflict'> {
    const cs = await cipherSuite();
    const identity = this.#requireIdentity();
    let state: ClientState;
    if (local?.state && isActive(local.state)) {
      state = local.state;
    } else {
      // The group id is the conversation id, so a welcome cannot be replayed into another one.
      const own = await generateDeviceKeyPackage(
        { userId: this.userId, deviceId: this.deviceId },
        identity,
      );
      state = await createGroup(
        utf8(conversation.id),
        own.keyPackage,
        own.privatePackage,
        [],
        cs,
        this.#config,
      );
    }
    const members = leaves(state.ratchetTree);
    const inGroup = new Set(members.map((leaf) => leaf.deviceId));
    const toAdd = conversation.pending.add.filter(
      (d) => d.deviceId !== this.deviceId && !inGroup.has(d.deviceId),
    );
    // A device cannot commit its own removal; another member device will.
    const removes = conversation.pending.remove
      .filter((d) => d.deviceId !== this.deviceId)
      .flatMap((d) =>
        members.filter((leaf) => leaf.deviceId === d.deviceId && leaf.userId === d.userId),
      )
      .map((leaf) => ({ deviceId: leaf.deviceId, leafIndex: leaf.leafIndex }));

    const adds: Array<{ deviceId: string; ref: string; proposal: Proposal }> = [];
    const claimed =
      toAdd.length > 0 ? await this.#transport.claimKeyPackages(toAdd.map((d) => d.deviceId)) : [];
    for (const claim of claimed) {
      const wanted = toAdd.find((d) => d.deviceId === claim.deviceId && d.userId === claim.userId);
      if (!wanted || adds.some((a) => a.deviceId === claim.deviceId)) continue;
      try {
        const bytes = fromBase64(claim.keyPackage);
        if ((await sha256Hex(bytes)) !== claim.ref) throw new Error('Key package ref mismatch.');
        const keyPackage = decodeKeyPackage(bytes);
        const owner = parseIdentity(keyPackage.leafNode.credential);
        // The server must not be able to slip someone else's key package in for a device.
        if (owner?.userId !== claim.userId || owner.deviceId !== claim.deviceId) {
          throw new Error('Key package identity does not match the device.');
        }
        adds.push({
          deviceId: claim.deviceId,
          ref: claim.ref,
          proposal: { proposalType: 'add', add: { keyPackage } },
        });
      } catch (error) {
        this.#emitter.emit('error', {
          conversationId: conversation.id,
          seq: null,
          reason: 'reconcile_failed',
          error,
        });
      }
    }
    const creating = local?.state === undefined || !isActive(local.state);
    if (!creating && adds.length === 0 && removes.length === 0) return 'nothing';

    const { newState, welcome, commit } = await createCommit(
      { state, cipherSuite: cs },
      {
        extraProposals: [
          ...adds.map((a) => a.proposal),
          ...removes.map((r): Proposal => ({
            proposalType: 'remove',
            remove: { removed: r.leafIndex },
          })),
        ],
      },
    );
    let accepted: { seq: number; epoch: number };
    try {
      accepted = await this.#transport.commit(conversation.id, {
        epoch: epochOf(state),
        commit: toBase64(encodeMlsMessage(commit)),
        ...(welcome
          ? {
              welcome: toBase64(
                encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome }),
              ),
              ratchetTree: toBase64(encodeRatchetTree(newState.ratchetTree)),
            }
          : {}),
        adds: adds.map(({ deviceId, ref }) => ({ deviceId, ref })),
        removes: removes.map((r) => r.deviceId),
      });
    } catch (error) {
      if (errorCode(error) === 'CHAT_EPOCH_CONFLICT') return 'conflict';
      throw error;
    }
    const updated: LocalConversation = local ?? {
      state: undefined,
      lastSeq: accepted.seq,
      joinedSeq: accepted.seq,
    };
    if (creating) {
      // The creator starts at its own first commit, like a joiner at its welcome.
      updated.lastSeq = Math.max(updated.lastSeq, accepted.seq);
      updated.joinedSeq = accepted.seq;
    }
    updated.state = newState;
    await this.#save(conversation.id, updated);
    if (creating) {
      this.#emitter.emit('system', {
        conversationId: conversation.id,
        seq: accepted.seq,
        type: 'joined',
        userId: this.userId,
        deviceId: this.deviceId,
      });
    }
    this.#emitMembershipChanges(conversation.id, accepted.seq, state, newState);
    return 'committed';
  }

  // --- persistence and plumbing -------------------------------------------------------

  #learnDevices(conversations: ChatConversation[]): void {
    for (const conversation of conversations) {
      for (const device of [...conversation.devices, ...conversation.pending.add]) {
        if (device.signaturePublicKey)
          this.#knownKeys.set(device.deviceId, fromBase64(device.signaturePublicKey));
      }
    }
  }

  async #load(conversationId: string): Promise<LocalConversation | undefined> {
    const cached = this.#conversations.get(conversationId);
    if (cached) return cached;
    const bytes = await this.#store.get(conversationKey(conversationId));
    if (bytes === undefined) return undefined;
    const local = decodeConversation(bytes, this.#config);
    this.#conversations.set(conversationId, local);
    return local;
  }

  async #save(conversationId: string, local: LocalConversation): Promise<void> {
    this.#conversations.set(conversationId, local);
    await this.#store.put(conversationKey(conversationId), encodeConversation(local));
  }

  /** Runs `task` after every earlier task with the same key. */
  #lock<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.#locks.set(key, tail);
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return run;
  }

  #requireIdentity(): SignatureKeyPair {
    if (this.#identity === undefined) throw new Error('ChatClient.init() has not run.');
    return this.#identity;
  }
}

const pick = (leaf: Leaf): { userId: string; deviceId: string } => ({
  userId: leaf.userId,
  deviceId: leaf.deviceId,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `[u32 meta length][meta JSON][encoded group state, if any]`, one value per conversation. */
function encodeConversation(local: LocalConversation): Uint8Array {
  const meta = utf8(
    JSON.stringify({
      lastSeq: local.lastSeq,
      joinedSeq: local.joinedSeq,
    } satisfies ConversationMeta),
  );
  const state = local.state ? encodeGroupState(local.state) : new Uint8Array(0);
  const out = new Uint8Array(4 + meta.length + state.length);
  new DataView(out.buffer).setUint32(0, meta.length);
  out.set(meta, 4);
  out.set(state, 4 + meta.length);
  return out;
}

function decodeConversation(
  bytes: Uint8Array,
  config: ReturnType<typeof truppClientConfig>,
): LocalConversation {
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  const meta = JSON.parse(
    new TextDecoder().decode(bytes.subarray(4, 4 + metaLength)),
  ) as ConversationMeta;
  const stateBytes = bytes.subarray(4 + metaLength);
  return {
    lastSeq: meta.lastSeq,
    joinedSeq: meta.joinedSeq,
    state: stateBytes.length > 0 ? decodeClientState(stateBytes, config) : undefined,
  };
}
