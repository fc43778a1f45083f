import {
  bigint,
  boolean,
  char,
  datetime,
  double,
  index,
  int,
  json,
  mediumtext,
  mysqlEnum,
  mysqlTable,
  primaryKey,
  text,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/mysql-core';
import type {
  AlarmEscalation,
  AlarmRequirements,
  AlarmTargets,
  AvailabilityWindow,
  GeofenceGeometry,
  PttMembers,
} from '@trupp/shared';
import {
  CHAT_CONVERSATION_KINDS,
  ALARM_PRIORITIES,
  ALARM_RESPONSES,
  AVAILABILITY_STATES,
  GEOFENCE_KINDS,
  ROLES,
} from '@trupp/shared';

/**
 * The database schema. Invariant: every domain table carries `tenant_id`, and every
 * query on it goes through a repository function that takes the tenant scope first.
 * Ids are random UUIDs (not guessable, not counting). Times are UTC with milliseconds.
 * Change this file, then `npm run db:generate` and commit the generated migration.
 */
const id = (name = 'id') => varchar(name, { length: 36 });
const tenantId = () => varchar('tenant_id', { length: 36 }).notNull();
const at = (name: string) => datetime(name, { mode: 'date', fsp: 3 });
const createdAt = () => at('created_at').notNull();
const updatedAt = () => at('updated_at').notNull();

export const tenants = mysqlTable(
  'tenants',
  {
    id: id().primaryKey(),
    name: varchar('name', { length: 200 }).notNull(),
    slug: varchar('slug', { length: 64 }).notNull(),
    timezone: varchar('timezone', { length: 64 }).notNull().default('Europe/Berlin'),
    /** Days connection metadata (socket connects/disconnects) is kept. */
    retentionConnectionDays: int('retention_connection_days').notNull().default(90),
    /** Days audit records are kept; the chain is verified before old records go. */
    retentionAuditDays: int('retention_audit_days').notNull().default(730),
    /** Days a device that has not been seen stays signed in before it is signed out. */
    retentionInactiveDeviceDays: int('retention_inactive_device_days').notNull().default(180),
    /** Hours position tracks (and last known positions) are kept. */
    retentionTrackHours: int('retention_track_hours').notNull().default(24),
    /** Days alarms with their recipients' answers are kept. */
    retentionAlarmDays: int('retention_alarm_days').notNull().default(365),
    /** Days push-to-talk recordings (audio files and their metadata) are kept. */
    retentionRecordingDays: int('retention_recording_days').notNull().default(30),
    /** Days chat ciphertext and encrypted attachments are kept on the server. */
    retentionChatDays: int('retention_chat_days').notNull().default(30),
    /** Largest encrypted chat attachment (MiB). */
    chatUploadMb: int('chat_upload_mb').notNull().default(25),
    /**
     * Members share their position while on duty (availability "available"), not only
     * while answering an alarm or switched on. Off by default (privacy by default).
     */
    positionShareOnDuty: boolean('position_share_on_duty').notNull().default(false),
    /** Bumped in the same transaction as any change to units, users or qualifications. */
    directoryVersion: bigint('directory_version', { mode: 'number', unsigned: true })
      .notNull()
      .default(0),
    /** Bumped by every change to an alarm; cursor of the `alarms` sync source. */
    alarmVersion: bigint('alarm_version', { mode: 'number', unsigned: true }).notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('tenants_slug_uq').on(t.slug)],
);

export const units = mysqlTable(
  'units',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    parentId: id('parent_id'),
    name: varchar('name', { length: 120 }).notNull(),
    /** Free label such as "district", "station", "squad". */
    kind: varchar('kind', { length: 40 }).notNull().default(''),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('units_tenant_parent_idx').on(t.tenantId, t.parentId)],
);

export const users = mysqlTable(
  'users',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    /** Sign-in name; unique across the installation so sign-in needs no organisation picker. */
    email: varchar('email', { length: 254 }).notNull(),
    displayName: varchar('display_name', { length: 120 }).notNull(),
    role: mysqlEnum('role', ROLES).notNull(),
    /** Platform operator: may create and manage tenants. */
    isSuperadmin: boolean('is_superadmin').notNull().default(false),
    /** argon2id; null until an invited user sets a password (or for passkey-only users). */
    passwordHash: varchar('password_hash', { length: 255 }),
    active: boolean('active').notNull().default(true),
    locale: varchar('locale', { length: 8 }),
    /** Base32 TOTP secret; confirmed when `totpEnabledAt` is set. */
    totpSecret: varchar('totp_secret', { length: 64 }),
    totpEnabledAt: at('totp_enabled_at'),
    /** Time step of the last accepted TOTP code; a code is accepted once only. */
    totpLastStep: bigint('totp_last_step', { mode: 'number' }),
    lastLoginAt: at('last_login_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_email_uq').on(t.email),
    index('users_tenant_idx').on(t.tenantId, t.updatedAt),
  ],
);

export const userUnits = mysqlTable(
  'user_units',
  {
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    unitId: id('unit_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.unitId] }),
    index('user_units_unit_idx').on(t.tenantId, t.unitId),
  ],
);

export const qualifications = mysqlTable(
  'qualifications',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    name: varchar('name', { length: 60 }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('qualifications_tenant_name_uq').on(t.tenantId, t.name)],
);

export const userQualifications = mysqlTable(
  'user_qualifications',
  {
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    qualificationId: id('qualification_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.qualificationId] }),
    index('user_qualifications_q_idx').on(t.tenantId, t.qualificationId),
  ],
);

/**
 * A signed-in browser profile / app install. Holds its session: a short-lived access
 * token and a rotating refresh token, both stored only as SHA-256 hashes. A user has at
 * most MAX_ACTIVE_DEVICES rows with `revokedAt` null.
 */
export const devices = mysqlTable(
  'devices',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    name: varchar('name', { length: 120 }).notNull(),
    userAgent: varchar('user_agent', { length: 512 }).notNull().default(''),
    accessHash: char('access_hash', { length: 64 }),
    accessExpiresAt: at('access_expires_at'),
    refreshHash: char('refresh_hash', { length: 64 }),
    refreshExpiresAt: at('refresh_expires_at'),
    /** The refresh token this one replaced; presenting it again means theft: revoke. */
    prevRefreshHash: char('prev_refresh_hash', { length: 64 }),
    /** Signed in, but must enrol a second factor before doing anything else. */
    mfaEnrolmentPending: boolean('mfa_enrolment_pending').notNull().default(false),
    lastSeenAt: at('last_seen_at').notNull(),
    lastIp: varchar('last_ip', { length: 64 }).notNull().default(''),
    createdAt: createdAt(),
    revokedAt: at('revoked_at'),
    revokedBy: id('revoked_by'),
    /** 'logout' | 'user' | 'admin' | 'refresh_reuse' | 'deactivated' | 'inactive' */
    revokeReason: varchar('revoke_reason', { length: 32 }),
    /** The client must erase its local data at its next contact. */
    wipeRequested: boolean('wipe_requested').notNull().default(false),
    wipeConfirmedAt: at('wipe_confirmed_at'),
  },
  (t) => [
    uniqueIndex('devices_access_uq').on(t.accessHash),
    uniqueIndex('devices_refresh_uq').on(t.refreshHash),
    index('devices_prev_refresh_idx').on(t.prevRefreshHash),
    index('devices_user_idx').on(t.tenantId, t.userId, t.revokedAt),
  ],
);

export const recoveryCodes = mysqlTable(
  'recovery_codes',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    codeHash: char('code_hash', { length: 64 }).notNull(),
    usedAt: at('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('recovery_codes_user_idx').on(t.tenantId, t.userId)],
);

export const webauthnCredentials = mysqlTable(
  'webauthn_credentials',
  {
    /** Credential id, base64url. */
    id: varchar('id', { length: 512 }).primaryKey(),
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    name: varchar('name', { length: 120 }).notNull(),
    publicKey: text('public_key').notNull(),
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
    transports: json('transports').$type<string[]>().notNull(),
    backedUp: boolean('backed_up').notNull().default(false),
    createdAt: createdAt(),
    lastUsedAt: at('last_used_at'),
  },
  (t) => [index('webauthn_user_idx').on(t.tenantId, t.userId)],
);

/** One-time WebAuthn challenges; deleted when used or expired. */
export const authChallenges = mysqlTable('auth_challenges', {
  id: id().primaryKey(),
  challenge: varchar('challenge', { length: 128 }).notNull(),
  /** 'passkey_register' | 'passkey_login' | 'passkey_mfa' */
  purpose: varchar('purpose', { length: 32 }).notNull(),
  userId: id('user_id'),
  expiresAt: at('expires_at').notNull(),
});

/**
 * Failed sign-in counters keyed by a hash of the account name or the client address.
 * Keyed by name, not user id, so unknown names are throttled exactly like real ones.
 */
export const loginThrottle = mysqlTable('login_throttle', {
  keyHash: char('key_hash', { length: 64 }).primaryKey(),
  failures: int('failures').notNull().default(0),
  windowStartedAt: at('window_started_at').notNull(),
  lockedUntil: at('locked_until'),
});

/** One-time links: invitations, first-admin setup, password resets. Token stored hashed. */
export const oneTimeLinks = mysqlTable(
  'one_time_links',
  {
    id: id().primaryKey(),
    /** Null only for the installation's first-admin setup link. */
    tenantId: varchar('tenant_id', { length: 36 }),
    userId: id('user_id'),
    purpose: mysqlEnum('purpose', ['invite', 'setup', 'password_reset']).notNull(),
    tokenHash: char('token_hash', { length: 64 }).notNull(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
    createdBy: id('created_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('one_time_links_token_uq').on(t.tokenHash)],
);

/**
 * Append-only, hash-chained audit log: `hash = sha256(prevHash + canonical record)`, one
 * chain per tenant ('platform' for events outside any tenant), `seq` without gaps.
 */
export const auditLog = mysqlTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    tenantId: varchar('tenant_id', { length: 36 }).notNull(),
    seq: bigint('seq', { mode: 'number', unsigned: true }).notNull(),
    at: at('at').notNull(),
    actorUserId: id('actor_user_id'),
    actorDeviceId: id('actor_device_id'),
    actorIp: varchar('actor_ip', { length: 64 }),
    action: varchar('action', { length: 64 }).notNull(),
    targetType: varchar('target_type', { length: 32 }),
    targetId: varchar('target_id', { length: 64 }),
    details: json('details').$type<Record<string, unknown>>().notNull(),
    prevHash: char('prev_hash', { length: 64 }).notNull(),
    hash: char('hash', { length: 64 }).notNull(),
  },
  (t) => [
    uniqueIndex('audit_tenant_seq_uq').on(t.tenantId, t.seq),
    index('audit_tenant_at_idx').on(t.tenantId, t.at),
  ],
);

/** Head of each tenant's audit chain; locked FOR UPDATE to append in order. */
export const auditHeads = mysqlTable('audit_heads', {
  tenantId: varchar('tenant_id', { length: 36 }).primaryKey(),
  seq: bigint('seq', { mode: 'number', unsigned: true }).notNull(),
  hash: char('hash', { length: 64 }).notNull(),
});

/** Connection metadata (DSK: record of connection data): one row per socket connection. */
export const connections = mysqlTable(
  'connections',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    deviceId: id('device_id').notNull(),
    ip: varchar('ip', { length: 64 }).notNull(),
    userAgent: varchar('user_agent', { length: 512 }).notNull(),
    connectedAt: at('connected_at').notNull(),
    disconnectedAt: at('disconnected_at'),
    disconnectReason: varchar('disconnect_reason', { length: 64 }),
  },
  (t) => [
    index('connections_tenant_at_idx').on(t.tenantId, t.connectedAt),
    index('connections_device_idx').on(t.tenantId, t.deviceId),
  ],
);

export type AlarmTargetsJson = AlarmTargets;
export type AlarmRequirementsJson = AlarmRequirements;
export type AlarmEscalationJson = AlarmEscalation;

/** Per-member availability, set by one tap; dispatch sees it, unavailable members are skipped. */
export const memberAvailability = mysqlTable('member_availability', {
  userId: id('user_id').primaryKey(),
  tenantId: tenantId(),
  status: mysqlEnum('status', AVAILABILITY_STATES).notNull(),
  /** Back to available at this time; null = until changed. */
  until: at('until'),
  /** Weekly plan (tenant time zone); a tap overrides it until `until`. */
  schedule: json('schedule').$type<AvailabilityWindow[]>(),
  updatedAt: updatedAt(),
});

export const alarmTemplates = mysqlTable(
  'alarm_templates',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    keyword: varchar('keyword', { length: 80 }).notNull(),
    title: varchar('title', { length: 200 }).notNull(),
    text: text('text').notNull(),
    priority: mysqlEnum('priority', ALARM_PRIORITIES).notNull(),
    targets: json('targets').$type<AlarmTargetsJson>().notNull(),
    requirements: json('requirements').$type<AlarmRequirementsJson>().notNull(),
    escalation: json('escalation').$type<AlarmEscalationJson | null>(),
    sound: varchar('sound', { length: 32 }).notNull().default('siren'),
    /** Hooks for the chat and push-to-talk capabilities: open an alarm chat / channel. */
    opensChat: boolean('opens_chat').notNull().default(false),
    opensPtt: boolean('opens_ptt').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('alarm_templates_keyword_uq').on(t.tenantId, t.keyword)],
);

/**
 * An alarm. `version` takes the tenant's alarm version at every change, so the `alarms`
 * sync source can hand a reconnecting device exactly what changed since its cursor.
 */
export const alarms = mysqlTable(
  'alarms',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    templateId: id('template_id'),
    keyword: varchar('keyword', { length: 80 }).notNull(),
    title: varchar('title', { length: 200 }).notNull(),
    text: text('text').notNull(),
    priority: mysqlEnum('priority', ALARM_PRIORITIES).notNull(),
    sound: varchar('sound', { length: 32 }).notNull(),
    isTest: boolean('is_test').notNull().default(false),
    allHands: boolean('all_hands').notNull().default(false),
    lat: double('lat'),
    lon: double('lon'),
    address: varchar('address', { length: 300 }).notNull().default(''),
    targets: json('targets').$type<AlarmTargetsJson>().notNull(),
    requirements: json('requirements').$type<AlarmRequirementsJson>().notNull(),
    escalation: json('escalation').$type<AlarmEscalationJson | null>(),
    /** 0 = first alert; each escalation step adds one. */
    escalationStage: int('escalation_stage').notNull().default(0),
    /** When the escalation job looks at this alarm next; null = nothing to do. */
    escalateAt: at('escalate_at'),
    opensChat: boolean('opens_chat').notNull().default(false),
    opensPtt: boolean('opens_ptt').notNull().default(false),
    /** Where it came from: 'console', 'api', 'cap', 'schedule'. */
    source: varchar('source', { length: 16 }).notNull(),
    /** CAP identifier of the alert that raised it (unique per tenant: a replay is refused). */
    externalId: varchar('external_id', { length: 200 }),
    createdBy: id('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    closedAt: at('closed_at'),
    closedBy: id('closed_by'),
    version: bigint('version', { mode: 'number', unsigned: true }).notNull(),
  },
  (t) => [
    index('alarms_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('alarms_tenant_version_idx').on(t.tenantId, t.version),
    index('alarms_escalate_idx').on(t.escalateAt),
    uniqueIndex('alarms_external_uq').on(t.tenantId, t.externalId),
  ],
);

/** One row per alerted member, written with the alarm before anything is sent. */
export const alarmRecipients = mysqlTable(
  'alarm_recipients',
  {
    alarmId: id('alarm_id').notNull(),
    userId: id('user_id').notNull(),
    tenantId: tenantId(),
    /** Escalation stage that added this member (0 = first alert). */
    stage: int('stage').notNull().default(0),
    /** How often this member was alerted (re-alerts by escalation add one). */
    alertCount: int('alert_count').notNull().default(1),
    sentAt: at('sent_at').notNull(),
    /** First acknowledgement by any of the member's devices. */
    deliveredAt: at('delivered_at'),
    readAt: at('read_at'),
    response: mysqlEnum('response', ALARM_RESPONSES),
    /** Minutes until arrival for 'coming' (estimated) and 'later' (stated). */
    etaMinutes: int('eta_minutes'),
    respondedAt: at('responded_at'),
  },
  (t) => [
    primaryKey({ columns: [t.alarmId, t.userId] }),
    index('alarm_recipients_user_idx').on(t.tenantId, t.userId),
  ],
);

// ---------------------------------------------------------------- integrations

/**
 * A tenant's key for a dispatch system. Only the SHA-256 hash of the secret is kept; the
 * secret is shown once when the key is created. A revoked key stays for the audit trail.
 */
export const apiKeys = mysqlTable(
  'api_keys',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    name: varchar('name', { length: 120 }).notNull(),
    /** The first characters of the secret (`trupp_AbCd…`), so admins can tell keys apart. */
    prefix: varchar('prefix', { length: 16 }).notNull(),
    secretHash: char('secret_hash', { length: 64 }).notNull(),
    /** e.g. ['alarms:write', 'alarms:read'] */
    scopes: json('scopes').$type<string[]>().notNull(),
    createdBy: id('created_by'),
    createdAt: createdAt(),
    lastUsedAt: at('last_used_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_keys_secret_uq').on(t.secretHash),
    index('api_keys_tenant_idx').on(t.tenantId, t.createdAt),
  ],
);

/** An outgoing webhook: alarm events are POSTed to `url`, signed with `secret`. */
export const webhooks = mysqlTable(
  'webhooks',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    url: varchar('url', { length: 2000 }).notNull(),
    /** HMAC-SHA256 key; kept in the clear because every delivery is signed with it. */
    secret: varchar('secret', { length: 100 }).notNull(),
    /** Event names such as 'alarm.raised'. */
    events: json('events').$type<string[]>().notNull(),
    active: boolean('active').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [index('webhooks_tenant_idx').on(t.tenantId)],
);

/**
 * Outbox of webhook deliveries. A row is due while `delivered_at` is null and
 * `next_attempt_at` has passed; a worker claims it by pushing `next_attempt_at` ahead, so
 * a node that dies mid-delivery only delays it. `next_attempt_at` null = given up.
 */
export const webhookDeliveries = mysqlTable(
  'webhook_deliveries',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    webhookId: id('webhook_id').notNull(),
    event: varchar('event', { length: 64 }).notNull(),
    payload: json('payload').$type<Record<string, unknown>>().notNull(),
    attempts: int('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at'),
    deliveredAt: at('delivered_at'),
    lastError: varchar('last_error', { length: 500 }),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.deliveredAt, t.nextAttemptAt),
    index('webhook_deliveries_webhook_idx').on(t.tenantId, t.webhookId),
  ],
);

/** The installation's VAPID key pair (RFC 8292), made on first use; one row. */
export const vapidKeys = mysqlTable('vapid_keys', {
  id: int('id').primaryKey(),
  publicKey: varchar('public_key', { length: 120 }).notNull(),
  privateKey: varchar('private_key', { length: 80 }).notNull(),
  createdAt: createdAt(),
});

/**
 * A device's Web Push subscription (RFC 8030 endpoint plus RFC 8291 keys); one per
 * device, removed with the device and when the push service answers 404/410.
 */
export const pushSubscriptions = mysqlTable(
  'push_subscriptions',
  {
    deviceId: id('device_id').primaryKey(),
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    endpoint: varchar('endpoint', { length: 1000 }).notNull(),
    p256dh: varchar('p256dh', { length: 120 }).notNull(),
    auth: varchar('auth', { length: 40 }).notNull(),
    createdAt: createdAt(),
    lastSentAt: at('last_sent_at'),
  },
  (t) => [index('push_subscriptions_user_idx').on(t.tenantId, t.userId)],
);

/**
 * A recurring alarm, e.g. the weekly test on Saturday 12:00 in the tenant's time zone.
 * `nextRunAt` (UTC) is claimed with SKIP LOCKED and moved on in the same transaction
 * that raises the alarm, so each run happens once across nodes.
 */
export const alarmSchedules = mysqlTable(
  'alarm_schedules',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    templateId: id('template_id').notNull(),
    name: varchar('name', { length: 120 }).notNull(),
    /** 0 = Sunday … 6 = Saturday, in the tenant's time zone. */
    weekdays: json('weekdays').$type<number[]>().notNull(),
    /** "HH:MM" local time of the tenant. */
    time: varchar('time', { length: 5 }).notNull(),
    isTest: boolean('is_test').notNull().default(true),
    active: boolean('active').notNull().default(true),
    nextRunAt: at('next_run_at'),
    lastRunAt: at('last_run_at'),
    createdBy: id('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('alarm_schedules_due_idx').on(t.active, t.nextRunAt)],
);

/**
 * The last known position of each member (the store alarms use for area targets; the
 * geolocation capability adds tracks on top). Written only while the member shares.
 */
export const memberPositions = mysqlTable(
  'member_positions',
  {
    userId: id('user_id').primaryKey(),
    tenantId: tenantId(),
    deviceId: id('device_id').notNull(),
    lat: double('lat').notNull(),
    lon: double('lon').notNull(),
    accuracyM: int('accuracy_m').notNull(),
    heading: int('heading'),
    speedKmh: int('speed_kmh'),
    /** When the device measured it (device clock, checked for skew). */
    recordedAt: at('recorded_at').notNull(),
    receivedAt: at('received_at').notNull(),
  },
  (t) => [index('member_positions_tenant_idx').on(t.tenantId, t.recordedAt)],
);

/** A member's explicit choice to share their position until a time (null = not sharing). */
export const positionSharing = mysqlTable('position_sharing', {
  userId: id('user_id').primaryKey(),
  tenantId: tenantId(),
  until: at('until'),
  /**
   * When the member last pressed stop: sharing on duty and for alarms answered before
   * this time stays off (see positions/sharing.ts).
   */
  stoppedAt: at('stopped_at'),
  updatedAt: updatedAt(),
});

/** Position history (tracks), written in batches while members share. */
export const positionPoints = mysqlTable(
  'position_points',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    lat: double('lat').notNull(),
    lon: double('lon').notNull(),
    accuracyM: int('accuracy_m').notNull(),
    recordedAt: at('recorded_at').notNull(),
  },
  (t) => [
    index('position_points_user_idx').on(t.tenantId, t.userId, t.recordedAt),
    index('position_points_at_idx').on(t.tenantId, t.recordedAt),
  ],
);

/** Areas drawn on the map (station areas, danger zones, operation areas) of a tenant. */
export const geofences = mysqlTable(
  'geofences',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    name: varchar('name', { length: 80 }).notNull(),
    kind: mysqlEnum('kind', GEOFENCE_KINDS).notNull(),
    /** A circle (centre, radius in metres) or a closed, simple polygon ring of [lon, lat]. */
    geometry: json('geometry').$type<GeofenceGeometry>().notNull(),
    /** Status a member has while inside (status rule); null = none. */
    statusText: varchar('status_text', { length: 60 }),
    createdBy: id('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('geofences_name_uq').on(t.tenantId, t.name)],
);

/**
 * Whether a member is inside a geofence, and since when. Written only when a crossing is
 * decided (with hysteresis), before it is announced; no row means outside.
 */
export const geofencePresence = mysqlTable(
  'geofence_presence',
  {
    geofenceId: id('geofence_id').notNull(),
    userId: id('user_id').notNull(),
    tenantId: tenantId(),
    inside: boolean('inside').notNull(),
    since: at('since').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.geofenceId, t.userId] }),
    index('geofence_presence_user_idx').on(t.tenantId, t.userId),
  ],
);

/** GeoJSON overlay layers (hydrants, assembly points …) uploaded by an admin. */
export const mapOverlays = mysqlTable(
  'map_overlays',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    name: varchar('name', { length: 80 }).notNull(),
    /** "#rrggbb"; null = the default colour. */
    color: varchar('color', { length: 7 }),
    visibleByDefault: boolean('visible_by_default').notNull().default(true),
    featureCount: int('feature_count').notNull(),
    sizeBytes: int('size_bytes').notNull(),
    /** A validated GeoJSON FeatureCollection (points, lines, polygons). */
    data: json('data').$type<Record<string, unknown>>().notNull(),
    createdBy: id('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('map_overlays_name_uq').on(t.tenantId, t.name)],
);

// ---------------------------------------------------------------- push-to-talk

/**
 * A push-to-talk channel (talkgroup). Members are named like alarm targets (units with
 * their sub-units, roles, users); an alarm channel (`alarmId` set) has the alarm's
 * recipients as members instead and is archived when the alarm closes. Managers
 * (`ptt.manage`) may join every channel of their tenant.
 */
export const pttChannels = mysqlTable(
  'ptt_channels',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    name: varchar('name', { length: 80 }).notNull(),
    members: json('members').$type<PttMembers>().notNull(),
    /** Scan: heard over the selected and scanned channels. */
    priority: boolean('priority').notNull().default(false),
    recorded: boolean('recorded').notNull().default(false),
    maxTalkSeconds: int('max_talk_seconds').notNull().default(30),
    /** One channel per alarm at most (MariaDB allows many NULLs in a unique index). */
    alarmId: id('alarm_id'),
    archivedAt: at('archived_at'),
    createdBy: id('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('ptt_channels_tenant_idx').on(t.tenantId, t.archivedAt),
    uniqueIndex('ptt_channels_alarm_uq').on(t.tenantId, t.alarmId),
  ],
);

/** One recorded transmission: an Ogg Opus file under RECORDINGS_DIR and its facts. */
export const pttRecordings = mysqlTable(
  'ptt_recordings',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    channelId: id('channel_id').notNull(),
    talkerUserId: id('talker_user_id').notNull(),
    startedAt: at('started_at').notNull(),
    durationMs: int('duration_ms').notNull(),
    bytes: bigint('bytes', { mode: 'number', unsigned: true }).notNull(),
    /** Relative to RECORDINGS_DIR. */
    storagePath: varchar('storage_path', { length: 500 }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('ptt_recordings_channel_idx').on(t.tenantId, t.channelId, t.startedAt),
    index('ptt_recordings_at_idx').on(t.tenantId, t.startedAt),
    index('ptt_recordings_talker_idx').on(t.tenantId, t.talkerUserId),
  ],
);

/** An emergency call, stored before anyone is told; dispatch acknowledges it. */
export const pttEmergencies = mysqlTable(
  'ptt_emergencies',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    channelId: id('channel_id').notNull(),
    userId: id('user_id').notNull(),
    lat: double('lat'),
    lon: double('lon'),
    accuracyM: int('accuracy_m'),
    /** When the position was measured (the call's own, or the last known one). */
    positionAt: at('position_at'),
    raisedAt: at('raised_at').notNull(),
    acknowledgedBy: id('acknowledged_by'),
    acknowledgedAt: at('acknowledged_at'),
  },
  (t) => [
    index('ptt_emergencies_tenant_idx').on(t.tenantId, t.raisedAt),
    index('ptt_emergencies_user_idx').on(t.tenantId, t.userId),
  ],
);

/*
 * Chat. The server is an MLS delivery service: it keeps who is in a conversation, which
 * devices are in its MLS group, and opaque bytes (base64 text) it cannot read. No column
 * holds message content, file names or captions.
 */

/** A conversation = one MLS group. `epoch` is null until a member device created the group. */
export const chatConversations = mysqlTable(
  'chat_conversations',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    kind: mysqlEnum('kind', CHAT_CONVERSATION_KINDS).notNull(),
    /** A group's name (metadata the list needs); null for 1:1, unit and alarm chats. */
    title: varchar('title', { length: 120 }),
    unitId: id('unit_id'),
    followUnit: boolean('follow_unit').notNull().default(false),
    alarmId: id('alarm_id'),
    /** One 1:1 conversation per pair: the two user ids, sorted, joined by ':'. */
    directKey: varchar('direct_key', { length: 80 }),
    /** Shorter than the tenant's retention when set. */
    retentionDays: int('retention_days'),
    epoch: bigint('epoch', { mode: 'number', unsigned: true }),
    lastSeq: bigint('last_seq', { mode: 'number', unsigned: true }).notNull().default(0),
    createdBy: id('created_by'),
    archivedAt: at('archived_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('chat_conversations_direct_uq').on(t.tenantId, t.directKey),
    uniqueIndex('chat_conversations_alarm_uq').on(t.tenantId, t.alarmId),
    index('chat_conversations_unit_idx').on(t.tenantId, t.unitId),
  ],
);

export const chatMembers = mysqlTable(
  'chat_members',
  {
    conversationId: id('conversation_id').notNull(),
    userId: id('user_id').notNull(),
    tenantId: tenantId(),
    role: mysqlEnum('role', ['owner', 'member']).notNull().default('member'),
    /** The member has seen every message up to this seq (read receipts, unread counts). */
    readSeq: bigint('read_seq', { mode: 'number', unsigned: true }).notNull().default(0),
    joinedAt: at('joined_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.userId] }),
    index('chat_members_user_idx').on(t.tenantId, t.userId),
  ],
);

/** The devices in a conversation's MLS group, as the accepted commits say. */
export const chatGroupDevices = mysqlTable(
  'chat_group_devices',
  {
    conversationId: id('conversation_id').notNull(),
    deviceId: id('device_id').notNull(),
    tenantId: tenantId(),
    userId: id('user_id').notNull(),
    /** The seq of the commit that added the device (it reads only later messages). */
    addedSeq: bigint('added_seq', { mode: 'number', unsigned: true }).notNull(),
    /** The device fetched every message up to this seq (delivery receipts, cleanup). */
    deliveredSeq: bigint('delivered_seq', { mode: 'number', unsigned: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.deviceId] }),
    index('chat_group_devices_device_idx').on(t.deviceId),
  ],
);

/** A device's MLS signature public key (the source of its safety number). */
export const chatDeviceKeys = mysqlTable('chat_device_keys', {
  deviceId: id('device_id').primaryKey(),
  tenantId: tenantId(),
  userId: id('user_id').notNull(),
  signaturePublicKey: varchar('signature_public_key', { length: 200 }).notNull(),
  createdAt: createdAt(),
});

/** One-time MLS key packages; a last-resort one is handed out but never used up. */
export const chatKeyPackages = mysqlTable(
  'chat_key_packages',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    deviceId: id('device_id').notNull(),
    /** sha256 (hex) of the key package bytes. */
    ref: char('ref', { length: 64 }).notNull(),
    keyPackage: text('key_package').notNull(),
    lastResort: boolean('last_resort').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('chat_key_packages_ref_uq').on(t.deviceId, t.ref),
    index('chat_key_packages_device_idx').on(t.deviceId, t.lastResort),
  ],
);

/** MLS messages (application and commit) of a conversation, ordered by `seq`. */
export const chatMessages = mysqlTable(
  'chat_messages',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    conversationId: id('conversation_id').notNull(),
    seq: bigint('seq', { mode: 'number', unsigned: true }).notNull(),
    kind: mysqlEnum('kind', ['application', 'commit']).notNull(),
    epoch: bigint('epoch', { mode: 'number', unsigned: true }).notNull(),
    senderUserId: id('sender_user_id').notNull(),
    senderDeviceId: id('sender_device_id').notNull(),
    /** The sender's idempotency key: a retry returns the stored message. */
    clientId: varchar('client_id', { length: 36 }),
    payload: mediumtext('payload').notNull(),
    size: int('size').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('chat_messages_seq_uq').on(t.conversationId, t.seq),
    uniqueIndex('chat_messages_client_uq').on(t.conversationId, t.senderDeviceId, t.clientId),
    index('chat_messages_at_idx').on(t.tenantId, t.createdAt),
  ],
);

/** A welcome for one added device, fetched by it and deleted when it acknowledges. */
export const chatWelcomes = mysqlTable(
  'chat_welcomes',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    conversationId: id('conversation_id').notNull(),
    deviceId: id('device_id').notNull(),
    seq: bigint('seq', { mode: 'number', unsigned: true }).notNull(),
    epoch: bigint('epoch', { mode: 'number', unsigned: true }).notNull(),
    keyPackageRef: char('key_package_ref', { length: 64 }).notNull(),
    welcome: mediumtext('welcome').notNull(),
    ratchetTree: mediumtext('ratchet_tree'),
    createdAt: createdAt(),
  },
  (t) => [
    index('chat_welcomes_device_idx').on(t.deviceId),
    index('chat_welcomes_at_idx').on(t.tenantId, t.createdAt),
  ],
);

/** An encrypted attachment under CHAT_BLOBS_DIR; only its size and owner are known here. */
export const chatBlobs = mysqlTable(
  'chat_blobs',
  {
    id: id().primaryKey(),
    tenantId: tenantId(),
    conversationId: id('conversation_id').notNull(),
    uploaderUserId: id('uploader_user_id').notNull(),
    uploaderDeviceId: id('uploader_device_id').notNull(),
    size: int('size').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('chat_blobs_conversation_idx').on(t.tenantId, t.conversationId),
    index('chat_blobs_at_idx').on(t.tenantId, t.createdAt),
  ],
);
