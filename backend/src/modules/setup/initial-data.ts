import { randomInt } from 'node:crypto';
import type { Role } from '@trupp/shared';
import type { Config } from '../../config.ts';
import type { Database, Tx } from '../../db/client.ts';
import {
  alarmTemplates,
  qualifications,
  units,
  userQualifications,
  userUnits,
  users,
} from '../../db/schema.ts';
import { newId } from '../../lib/ids.ts';
import { recordAudit } from '../audit/service.ts';
import { hashPassword } from '../auth/passwords.ts';
import { SETUP_TTL_MS, issueLink, linkUrl } from '../links/repository.ts';
import { insertTenant } from '../tenants/repository.ts';
import { insertUser } from '../users/repository.ts';

export interface InitialDataDeps {
  database: Pick<Database, 'db' | 'pool'>;
  config: Pick<Config, 'demoData' | 'publicUrl'>;
}

export type InitialDataResult =
  | { kind: 'existing' }
  | {
      kind: 'demo';
      tenantId: string;
      password: string;
      logins: { email: string; role: Role; isSuperadmin: boolean }[];
    }
  | { kind: 'setup'; url: string };

/** Two nodes starting at once against an empty database must not both create data. */
const LOCK_NAME = 'trupp:initial-data';
const LOCK_TIMEOUT_SECONDS = 60;

/**
 * Runs at every start, after migrations, and acts only while no user exists:
 * - with demo data on (development): creates the demo tenant "Freiwillige Feuerwehr
 *   Musterstadt" with units, qualifications and one user per role, and prints the logins.
 *   The password is random, generated now and printed once — a demo instance that is
 *   reachable from a network must not open with a password everybody knows.
 * - otherwise (production): prints a first-admin setup link valid for 24 hours. A
 *   restart while it is unused prints a fresh link; the earlier one dies.
 * `print` receives the text meant for the operator's terminal (it holds a credential, so
 * it goes to stdout, never into the log).
 */
export async function ensureInitialData(
  deps: InitialDataDeps,
  print: (text: string) => void,
): Promise<InitialDataResult> {
  // argon2 is slow; hash before taking the lock. Wasted only when users exist already.
  const password = deps.config.demoData ? demoPassword() : null;
  const passwordHash = password === null ? null : await hashPassword(password);
  // The named lock lives on its own connection and is held until after the commit, so
  // a second node waits and then finds the users the first one created.
  const lockConnection = await deps.database.pool.getConnection();
  let result: InitialDataResult;
  try {
    const [rows] = await lockConnection.query('SELECT GET_LOCK(?, ?) AS got', [
      LOCK_NAME,
      LOCK_TIMEOUT_SECONDS,
    ]);
    if ((rows as Array<{ got: number | null }>)[0]?.got !== 1) {
      throw new Error('could not take the initial-data lock (another node holds it)');
    }
    result = await deps.database.db.transaction(async (tx): Promise<InitialDataResult> => {
      const [existing] = await tx.select({ id: users.id }).from(users).limit(1);
      if (existing) return { kind: 'existing' };
      if (password !== null && passwordHash !== null) {
        return createDemoData(tx, password, passwordHash);
      }
      const token = await issueLink(tx, {
        tenantId: null,
        userId: null,
        purpose: 'setup',
        ttlMs: SETUP_TTL_MS,
        createdBy: null,
      });
      return { kind: 'setup', url: linkUrl(deps.config.publicUrl, token) };
    });
  } finally {
    await lockConnection.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]).catch(() => undefined);
    lockConnection.release();
  }
  if (result.kind === 'demo') print(demoBanner(deps.config.publicUrl, result));
  if (result.kind === 'setup') print(setupBanner(result.url));
  return result;
}

/** 12 characters without look-alikes (no 0/o, 1/l/i), in groups of four: easy to type. */
function demoPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const group = () =>
    Array.from({ length: 4 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `${group()}-${group()}-${group()}`;
}

const DEMO_TENANT = { name: 'Freiwillige Feuerwehr Musterstadt', slug: 'musterstadt' };
const DEMO_DOMAIN = 'musterstadt.example';

type UnitKey = 'city' | 'lz1' | 'g1' | 'g2' | 'lz2';
type QualificationKey = 'scba' | 'driver' | 'paramedic' | 'leader';

const DEMO_UNITS: { key: UnitKey; name: string; kind: string; parent: UnitKey | null }[] = [
  { key: 'city', name: 'Stadt Musterstadt', kind: 'district', parent: null },
  { key: 'lz1', name: 'Löschzug 1', kind: 'station', parent: 'city' },
  { key: 'g1', name: 'Gruppe 1', kind: 'squad', parent: 'lz1' },
  { key: 'g2', name: 'Gruppe 2', kind: 'squad', parent: 'lz1' },
  { key: 'lz2', name: 'Löschzug 2', kind: 'station', parent: 'city' },
];

const DEMO_QUALIFICATIONS: Record<QualificationKey, string> = {
  scba: 'Atemschutz',
  driver: 'Maschinist',
  paramedic: 'Sanitäter',
  leader: 'Gruppenführer',
};

const DEMO_USERS: {
  local: string;
  displayName: string;
  role: Role;
  superadmin?: boolean;
  units: UnitKey[];
  qualifications: QualificationKey[];
}[] = [
  {
    local: 'admin',
    displayName: 'Anna Berger',
    role: 'admin',
    superadmin: true,
    units: ['city'],
    qualifications: [],
  },
  {
    local: 'dispatcher',
    displayName: 'Dieter Schulz',
    role: 'dispatcher',
    units: ['city'],
    qualifications: [],
  },
  {
    local: 'lead',
    displayName: 'Lena Hoffmann',
    role: 'lead',
    units: ['lz1', 'g1'],
    qualifications: ['leader', 'scba'],
  },
  {
    local: 'member',
    displayName: 'Max Mustermann',
    role: 'member',
    units: ['g1'],
    qualifications: ['scba'],
  },
  { local: 'auditor', displayName: 'Petra Prüfer', role: 'auditor', units: [], qualifications: [] },
  {
    local: 'jonas.weber',
    displayName: 'Jonas Weber',
    role: 'member',
    units: ['g1'],
    qualifications: ['scba', 'driver'],
  },
  {
    local: 'sophie.wagner',
    displayName: 'Sophie Wagner',
    role: 'member',
    units: ['g2'],
    qualifications: ['paramedic'],
  },
  {
    local: 'tim.becker',
    displayName: 'Tim Becker',
    role: 'member',
    units: ['lz2'],
    qualifications: ['driver'],
  },
];

async function createDemoData(
  tx: Tx,
  password: string,
  passwordHash: string,
): Promise<InitialDataResult> {
  const tenant = await insertTenant(tx, { ...DEMO_TENANT, timezone: 'Europe/Berlin' });
  const tenantId = tenant.id;
  const now = new Date();

  const unitIds = new Map<UnitKey, string>();
  for (const unit of DEMO_UNITS) {
    const id = newId();
    unitIds.set(unit.key, id);
    await tx.insert(units).values({
      id,
      tenantId,
      parentId: unit.parent === null ? null : unitIds.get(unit.parent)!,
      name: unit.name,
      kind: unit.kind,
      createdAt: now,
      updatedAt: now,
    });
  }
  const qualificationIds = new Map<QualificationKey, string>();
  for (const [key, name] of Object.entries(DEMO_QUALIFICATIONS) as [QualificationKey, string][]) {
    const id = newId();
    qualificationIds.set(key, id);
    await tx.insert(qualifications).values({ id, tenantId, name, createdAt: now, updatedAt: now });
  }

  const logins: Extract<InitialDataResult, { kind: 'demo' }>['logins'] = [];
  for (const demo of DEMO_USERS) {
    const email = `${demo.local}@${DEMO_DOMAIN}`;
    const userId = await insertUser(tx, tenantId, {
      email,
      displayName: demo.displayName,
      role: demo.role,
      isSuperadmin: demo.superadmin ?? false,
      passwordHash,
    });
    for (const key of demo.units) {
      await tx.insert(userUnits).values({ tenantId, userId, unitId: unitIds.get(key)! });
    }
    for (const key of demo.qualifications) {
      await tx
        .insert(userQualifications)
        .values({ tenantId, userId, qualificationId: qualificationIds.get(key)! });
    }
    logins.push({ email, role: demo.role, isSuperadmin: demo.superadmin ?? false });
  }
  await insertDemoTemplates(tx, tenantId, unitIds, qualificationIds, now);
  await recordAudit(tx, tenantId, {
    action: 'tenant.created',
    target: { type: 'tenant', id: tenantId },
    details: { name: tenant.name, slug: tenant.slug, demo: true, users: logins.length },
  });
  return { kind: 'demo', tenantId, password, logins };
}

/** Two everyday templates, so a newcomer can raise an alarm at once. */
async function insertDemoTemplates(
  tx: Tx,
  tenantId: string,
  unitIds: Map<UnitKey, string>,
  qualificationIds: Map<QualificationKey, string>,
  now: Date,
): Promise<void> {
  const targets = (unit: UnitKey) => ({
    unitIds: [unitIds.get(unit)!],
    roles: [],
    userIds: [],
    qualificationIds: [],
  });
  await tx.insert(alarmTemplates).values([
    {
      id: newId(),
      tenantId,
      keyword: 'B3 – Wohnungsbrand',
      title: 'Wohnungsbrand, Menschenleben in Gefahr',
      text: 'Atemschutz anlegen. Anfahrt über die Hauptwache.',
      priority: 'critical',
      targets: targets('lz1'),
      requirements: {
        minMembers: 3,
        qualifications: [
          { qualificationId: qualificationIds.get('scba')!, min: 2 },
          { qualificationId: qualificationIds.get('driver')!, min: 1 },
        ],
      },
      escalation: { afterSeconds: 120, minComing: 3, extendTargets: targets('lz2') },
      sound: 'siren',
      createdAt: now,
      updatedAt: now,
    },
    {
      id: newId(),
      tenantId,
      keyword: 'THL 1 – Verkehrsunfall',
      title: 'Verkehrsunfall, Person eingeklemmt',
      text: '',
      priority: 'high',
      targets: targets('lz2'),
      requirements: {
        minMembers: 2,
        qualifications: [{ qualificationId: qualificationIds.get('driver')!, min: 1 }],
      },
      escalation: null,
      sound: 'siren',
      createdAt: now,
      updatedAt: now,
    },
  ]);
}

function demoBanner(
  publicUrl: string,
  result: Extract<InitialDataResult, { kind: 'demo' }>,
): string {
  const rule = '─'.repeat(72);
  const width = Math.max(...result.logins.map((l) => l.email.length)) + 3;
  const rows = result.logins.map(({ email, role, isSuperadmin }) => {
    const note = isSuperadmin ? `${role} (also platform operator)` : role;
    return `    ${email.padEnd(width)}${note}`;
  });
  return [
    rule,
    `  Demo data created: ${DEMO_TENANT.name}`,
    `  Sign in at ${publicUrl} with any of these accounts.`,
    `  Password for all of them: ${result.password}`,
    '  (generated for this installation and shown only now — note it down)',
    '',
    ...rows,
    '',
    '  admin and dispatcher set up two-factor authentication (TOTP) at their',
    '  first sign-in; keep an authenticator app at hand.',
    rule,
    '',
  ].join('\n');
}

function setupBanner(url: string): string {
  const rule = '─'.repeat(72);
  return [
    rule,
    '  Trupp is not set up yet. Open this link within 24 hours to create the',
    '  first organisation and its admin:',
    '',
    `    ${url}`,
    '',
    '  Restarting prints a new link; this one then stops working.',
    rule,
    '',
  ].join('\n');
}
