import type {
  ChatClaimedKeyPackage,
  ChatCommitUpload,
  ChatConversation,
  ChatDevice,
  ChatEnvelope,
  ChatSend,
  ChatSendResult,
  ChatWelcome,
} from '@trupp/shared';
import { fromBase64, randomId, sha256Hex } from '../bytes.ts';
import type { ChatTransport } from '../transport.ts';

/**
 * An in-memory delivery service for tests only, enforcing the server's rules from
 * `@trupp/shared` chat.ts: one commit per epoch (CHAT_EPOCH_CONFLICT), messages only in the
 * current epoch (CHAT_EPOCH_STALE), idempotent `clientId`, seq order, welcomes per device,
 * pending adds/removes as desired devices minus group devices, and key package claims that
 * consume one-time packages before falling back to the last-resort one.
 */

export class DsError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

interface Device {
  userId: string;
  deviceId: string;
  label: string;
  signaturePublicKey: string | null;
  /** Unregistered devices stay known (their history) but are no longer desired anywhere. */
  active: boolean;
}

interface StoredKeyPackage {
  ref: string;
  keyPackage: string;
  lastResort: boolean;
}

interface Conversation {
  id: string;
  members: Set<string>;
  epoch: number | null;
  groupDevices: Set<string>;
  messages: ChatEnvelope[];
  sent: Map<string, ChatSendResult>;
  createdAt: string;
}

export class MemoryDeliveryService {
  readonly devices = new Map<string, Device>();
  readonly keyPackages = new Map<string, StoredKeyPackage[]>();
  readonly conversations = new Map<string, Conversation>();
  readonly welcomes = new Map<string, ChatWelcome[]>();
  /** Every commit attempt with its outcome, to assert on races. */
  readonly commitLog: Array<{
    conversationId: string;
    deviceId: string;
    epoch: number;
    accepted: boolean;
  }> = [];
  #clock = Date.parse('2025-01-01T00:00:00Z');

  registerDevice(userId: string, deviceId: string, label = deviceId): void {
    this.devices.set(deviceId, { userId, deviceId, label, signaturePublicKey: null, active: true });
  }

  unregisterDevice(deviceId: string): void {
    const device = this.devices.get(deviceId);
    if (device) device.active = false;
    this.keyPackages.delete(deviceId);
  }

  createConversation(userIds: string[], id: string = randomId()): string {
    this.conversations.set(id, {
      id,
      members: new Set(userIds),
      epoch: null,
      groupDevices: new Set(),
      messages: [],
      sent: new Map(),
      createdAt: this.#timestamp(),
    });
    return id;
  }

  addMember(conversationId: string, userId: string): void {
    this.#conversation(conversationId).members.add(userId);
  }

  /** The transport one device uses; every call runs as that device. */
  transport(deviceId: string): ChatTransport {
    const self = (): Device => {
      const device = this.devices.get(deviceId);
      if (!device?.active) throw new DsError('AUTH_REQUIRED');
      return device;
    };
    // Responses are copied, as they would be over the network.
    const copy = <T>(value: T): T => structuredClone(value);
    return {
      uploadKeyPackages: async (upload) => {
        const device = self();
        device.signaturePublicKey = upload.signaturePublicKey;
        const list = this.keyPackages.get(deviceId) ?? [];
        for (const keyPackage of upload.keyPackages) {
          list.push({
            ref: await sha256Hex(fromBase64(keyPackage)),
            keyPackage,
            lastResort: false,
          });
        }
        if (upload.lastResort) {
          const kept = list.filter((kp) => !kp.lastResort);
          kept.push({
            ref: await sha256Hex(fromBase64(upload.lastResort)),
            keyPackage: upload.lastResort,
            lastResort: true,
          });
          list.splice(0, list.length, ...kept);
        }
        this.keyPackages.set(deviceId, list);
      },
      keyPackageCount: async () => {
        self();
        return (this.keyPackages.get(deviceId) ?? []).filter((kp) => !kp.lastResort).length;
      },
      claimKeyPackages: async (deviceIds) => {
        self();
        const claimed: ChatClaimedKeyPackage[] = [];
        for (const id of deviceIds) {
          const target = this.devices.get(id);
          const list = this.keyPackages.get(id) ?? [];
          if (!target?.active) continue;
          const index = list.findIndex((kp) => !kp.lastResort);
          const kp = index >= 0 ? list.splice(index, 1)[0] : list.find((k) => k.lastResort);
          if (kp)
            claimed.push({
              deviceId: id,
              userId: target.userId,
              ref: kp.ref,
              keyPackage: kp.keyPackage,
            });
        }
        return claimed;
      },
      listConversations: async () => {
        const device = self();
        return copy(
          [...this.conversations.values()]
            .filter((c) => c.members.has(device.userId))
            .map((c) => this.#describe(c)),
        );
      },
      fetchMessages: async (conversationId, afterSeq, limit) => {
        this.#requireMember(conversationId, self());
        return copy(
          this.#conversation(conversationId)
            .messages.filter((m) => m.seq > afterSeq)
            .slice(0, limit),
        );
      },
      fetchWelcomes: async () => {
        self();
        return copy(this.welcomes.get(deviceId) ?? []);
      },
      send: async (message: ChatSend) => {
        const device = self();
        const conversation = this.#requireMember(message.conversationId, device);
        const earlier = conversation.sent.get(message.clientId);
        if (earlier) return copy(earlier);
        if (!conversation.groupDevices.has(deviceId)) throw new DsError('CHAT_NOT_IN_GROUP');
        if (message.epoch !== conversation.epoch) throw new DsError('CHAT_EPOCH_STALE');
        const envelope = this.#append(
          conversation,
          device,
          'application',
          message.epoch,
          message.payload,
        );
        const result = { id: envelope.id, seq: envelope.seq, createdAt: envelope.createdAt };
        conversation.sent.set(message.clientId, result);
        return copy(result);
      },
      commit: async (conversationId, upload: ChatCommitUpload) => {
        const device = self();
        const conversation = this.#requireMember(conversationId, device);
        if (conversation.epoch !== null && !conversation.groupDevices.has(deviceId)) {
          throw new DsError('CHAT_NOT_IN_GROUP');
        }
        if (upload.adds.length > 0 && !upload.welcome) throw new DsError('VALIDATION_FAILED');
        const accepted = upload.epoch === (conversation.epoch ?? 0);
        this.commitLog.push({ conversationId, deviceId, epoch: upload.epoch, accepted });
        if (!accepted) throw new DsError('CHAT_EPOCH_CONFLICT');
        // The device that creates the group is its first member.
        if (conversation.epoch === null) conversation.groupDevices.add(deviceId);
        const envelope = this.#append(conversation, device, 'commit', upload.epoch, upload.commit);
        conversation.epoch = upload.epoch + 1;
        for (const removed of upload.removes) conversation.groupDevices.delete(removed);
        for (const add of upload.adds) {
          conversation.groupDevices.add(add.deviceId);
          const list = this.welcomes.get(add.deviceId) ?? [];
          list.push({
            id: randomId(),
            conversationId,
            seq: envelope.seq,
            epoch: conversation.epoch,
            keyPackageRef: add.ref,
            welcome: upload.welcome ?? '',
            ratchetTree: upload.ratchetTree ?? null,
          });
          this.welcomes.set(add.deviceId, list);
        }
        return { seq: envelope.seq, epoch: conversation.epoch };
      },
      delivered: async (conversationId) => {
        this.#requireMember(conversationId, self());
      },
    };
  }

  /** Messages of one conversation as stored. */
  messages(conversationId: string): ChatEnvelope[] {
    return this.#conversation(conversationId).messages;
  }

  describe(conversationId: string): ChatConversation {
    return this.#describe(this.#conversation(conversationId));
  }

  #describe(c: Conversation): ChatConversation {
    const view = (d: Device): ChatDevice => ({
      deviceId: d.deviceId,
      userId: d.userId,
      label: d.label,
      signaturePublicKey: d.signaturePublicKey,
    });
    // Devices that never uploaded key packages cannot be added yet.
    const desired = [...this.devices.values()].filter(
      (d) => d.active && c.members.has(d.userId) && d.signaturePublicKey !== null,
    );
    const inGroup = [...c.groupDevices]
      .map((id) => this.devices.get(id))
      .filter((d): d is Device => !!d);
    return {
      id: c.id,
      kind: 'group',
      title: null,
      unitId: null,
      followUnit: false,
      alarmId: null,
      members: [...c.members].map((userId) => ({
        userId,
        displayName: userId,
        role: 'member' as const,
      })),
      epoch: c.epoch,
      lastSeq: c.messages.length,
      readSeq: 0,
      unread: 0,
      retentionDays: 30,
      devices: inGroup.map(view),
      pending: {
        add: desired.filter((d) => !c.groupDevices.has(d.deviceId)).map(view),
        remove: inGroup.filter((d) => !d.active || !c.members.has(d.userId)).map(view),
      },
      archived: false,
      createdAt: c.createdAt,
    };
  }

  #append(
    c: Conversation,
    device: Device,
    kind: ChatEnvelope['kind'],
    epoch: number,
    payload: string,
  ): ChatEnvelope {
    const envelope: ChatEnvelope = {
      id: randomId(),
      conversationId: c.id,
      seq: c.messages.length + 1,
      kind,
      epoch,
      senderUserId: device.userId,
      senderDeviceId: device.deviceId,
      payload,
      createdAt: this.#timestamp(),
    };
    c.messages.push(envelope);
    return envelope;
  }

  #conversation(id: string): Conversation {
    const conversation = this.conversations.get(id);
    if (!conversation) throw new DsError('CHAT_CONVERSATION_NOT_FOUND');
    return conversation;
  }

  #requireMember(id: string, device: Device): Conversation {
    const conversation = this.#conversation(id);
    if (!conversation.members.has(device.userId)) throw new DsError('CHAT_CONVERSATION_NOT_FOUND');
    return conversation;
  }

  #timestamp(): string {
    this.#clock += 1000;
    return new Date(this.#clock).toISOString();
  }
}
