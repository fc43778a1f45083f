/**
 * Roles and the one permission matrix of Trupp. Every HTTP route and socket event names
 * the permission it needs; the backend enforces it, the webapp uses it to hide what a
 * user cannot do. Reading and changing one's own account (password, 2FA, own devices,
 * own data export) needs no permission beyond being signed in.
 */
export const ROLES = ['admin', 'dispatcher', 'lead', 'member', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** Talk/floor priority and "how much say" ordering; higher wins. */
export const ROLE_RANK: Readonly<Record<Role, number>> = {
  admin: 40,
  dispatcher: 30,
  lead: 20,
  member: 10,
  auditor: 0,
};

const OPERATIONAL: readonly Role[] = ['admin', 'dispatcher', 'lead', 'member'];

export const PERMISSION_MATRIX = {
  /** Read units, members and qualifications of the own tenant (the directory). */
  'directory.read': OPERATIONAL,
  /** Create, rename, move and delete units. */
  'units.manage': ['admin'],
  /** Create, invite, change role/units/qualifications of, deactivate users; reset their 2FA. */
  'users.manage': ['admin'],
  /** Read another user's account details (email, security state, devices). Audited. */
  'users.read_private': ['admin'],
  /** Create, rename and delete qualifications. */
  'qualifications.manage': ['admin'],
  /** List and revoke (remote wipe) any device of the tenant. */
  'devices.manage': ['admin'],
  /** Read the audit log and verify its hash chain. */
  'audit.read': ['admin', 'auditor'],
  /** Read connection metadata (who was connected when, from which device and address). */
  'connections.read': ['admin', 'auditor'],
  /** Raise, update and close alarms; manage alarm templates. */
  'alarms.dispatch': ['admin', 'dispatcher'],
  /** See every alarm of the tenant with its response board, history and statistics. */
  'alarms.board': ['admin', 'dispatcher', 'lead'],
  /** Receive alarms and answer them; set one's own availability. */
  'alarms.receive': OPERATIONAL,
  /** See members' availability. */
  'availability.read': ['admin', 'dispatcher', 'lead'],
  /** Create and revoke API keys for dispatch systems. */
  'apikeys.manage': ['admin'],
  /** Change tenant settings such as retention periods. */
  'tenant.manage': ['admin'],
  /** Join the push-to-talk channels one belongs to, talk, listen, raise an emergency call. */
  'ptt.use': OPERATIONAL,
  /**
   * Manage push-to-talk channels, join any channel of the tenant, list and download
   * recordings (audited), acknowledge emergency calls.
   */
  'ptt.manage': ['admin', 'dispatcher', 'lead'],
  /** Draw, change and delete geofences (station areas, danger zones, operation areas). */
  'geofences.manage': ['admin', 'dispatcher', 'lead'],
  /** Take part in end-to-end encrypted chat: 1:1, groups, unit and alarm chats. */
  'chat.use': OPERATIONAL,
  /** Create unit chats (membership follows a unit). */
  'chat.manage': ['admin', 'dispatcher', 'lead'],
  /**
   * See chat metadata only (conversations, members, devices, message times and sizes) —
   * never content, which the server cannot read anyway.
   */
  'chat.metadata': ['admin', 'auditor'],
  /** Upload and delete GeoJSON overlay layers of the map. */
  'overlays.manage': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSION_MATRIX;
export const PERMISSIONS = Object.keys(PERMISSION_MATRIX) as Permission[];

export function roleHas(role: Role, permission: Permission): boolean {
  return (PERMISSION_MATRIX[permission] as readonly Role[]).includes(role);
}

/** Roles that must enrol a second factor before they can do anything else. */
export const MFA_REQUIRED_ROLES: readonly Role[] = ['admin', 'dispatcher'];

/** Largest number of devices a user may have signed in at once. */
export const MAX_ACTIVE_DEVICES = 3;
