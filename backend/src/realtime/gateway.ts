import type { FastifyInstance } from 'fastify';
import type { Server, Socket } from 'socket.io';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ERROR_CATALOGUE, roleHas, type SocketAck } from '@trupp/shared';
import type { Static, TSchema } from 'typebox';
import { appError } from '../errors.ts';
import type { AuthContext } from '../modules/auth/access-token.ts';
import type { UserAccess } from '../plugins/access.ts';
import { toErrorBody } from '../plugins/errors.ts';

/** What a socket carries once its handshake authenticated. */
export interface SocketData {
  auth: AuthContext;
  connectionId: number | null;
  /** Rooms joined on connect: tenant:, user:, device: and unit: ones. */
  rooms: string[];
}

export type TruppSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  SocketData
>;

export interface EventContext {
  auth: AuthContext;
  socket: TruppSocket;
}

export interface EventOptions<S extends TSchema> {
  schema: S;
  /** Same meaning as a route's `config.access`; 'public' is not allowed on sockets. */
  access: Exclude<UserAccess, 'public'>;
}

export interface SyncPage {
  items: unknown[];
  cursor: string;
  hasMore: boolean;
}

export interface SyncSource {
  access: Exclude<UserAccess, 'public'>;
  /** @throws AppError SYNC_CURSOR_INVALID for a cursor this source did not issue */
  fetch(auth: AuthContext, cursor: string | null, limit: number): Promise<SyncPage>;
}

interface Registered {
  schema: TSchema;
  validate: ValidateFunction;
  access: Exclude<UserAccess, 'public'>;
  handler: (ctx: EventContext, payload: unknown) => Promise<unknown>;
}

/** Room of the sockets that may see every alarm board of a tenant (dispatch, leads). */
export const boardRoom = (tenantId: string): string => `board:${tenantId}`;
export const userRoom = (userId: string): string => `user:${userId}`;

/** Socket payloads are checked like request bodies, formats (date-time, uri …) included. */
function withFormats(ajv: Ajv): Ajv {
  addFormats.default(ajv);
  return ajv;
}

/** Client events per socket per second before RATE_LIMITED (burst = twice that). */
const EVENTS_PER_SECOND = 20;

/** @throws AppError when `auth` may not use something guarded by `access`. */
export function assertAccess(auth: AuthContext, access: Exclude<UserAccess, 'public'>): void {
  if (auth.mfaEnrolmentPending) throw appError('AUTH_MFA_ENROLMENT_REQUIRED');
  if (access === 'self') return;
  if (access === 'superadmin') {
    if (!auth.isSuperadmin) throw appError('AUTH_SUPERADMIN_REQUIRED');
    return;
  }
  if (!roleHas(auth.role, access)) throw appError('AUTH_FORBIDDEN');
}

/**
 * The registry of client → server socket events and of sync sources. Domains register
 * here; the gateway validates every payload, checks access, rate-limits per socket and
 * always acknowledges with a `SocketAck`, so a bad client can never crash the server.
 */
export class Realtime {
  readonly #events = new Map<string, Registered>();
  readonly #sources = new Map<string, SyncSource>();
  readonly #ajv = withFormats(
    new Ajv({
      coerceTypes: false,
      removeAdditional: true,
      useDefaults: true,
      strict: false,
    }),
  );

  constructor(readonly io: Server) {}

  /** Registers a client event; the handler's return value is the ack's `data`. */
  on<S extends TSchema>(
    event: string,
    options: EventOptions<S>,
    handler: (ctx: EventContext, payload: Static<S>) => Promise<unknown>,
  ): void {
    if (this.#events.has(event)) throw new Error(`socket event ${event} registered twice`);
    this.#events.set(event, {
      schema: options.schema,
      validate: this.#ajv.compile(options.schema),
      access: options.access,
      handler: handler as Registered['handler'],
    });
  }

  /** Every registered client event with its payload schema (for tests that walk them all). */
  events(): Array<{ event: string; schema: TSchema }> {
    return [...this.#events].map(([event, r]) => ({ event, schema: r.schema }));
  }

  registerSyncSource(name: string, source: SyncSource): void {
    if (this.#sources.has(name)) throw new Error(`sync source ${name} registered twice`);
    this.#sources.set(name, source);
  }

  syncSource(name: string): SyncSource | undefined {
    return this.#sources.get(name);
  }

  /** Wires the registered events onto one authenticated socket. */
  attach(socket: TruppSocket, log: FastifyInstance['log']): void {
    let tokens = EVENTS_PER_SECOND * 2;
    let refilledAt = Date.now();
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack =
        typeof args[args.length - 1] === 'function'
          ? (args.pop() as (a: SocketAck<unknown>) => void)
          : null;
      const reply = (result: SocketAck<unknown>) => ack?.(result);
      const fail = (error: unknown) => {
        const body = toErrorBody(error);
        if (body.statusCode >= 500) log.error({ err: error, event }, 'socket event failed');
        reply({
          ok: false,
          error: { code: body.code, message: body.message, statusCode: body.statusCode },
        });
      };
      const now = Date.now();
      tokens = Math.min(
        EVENTS_PER_SECOND * 2,
        tokens + ((now - refilledAt) / 1000) * EVENTS_PER_SECOND,
      );
      refilledAt = now;
      if (tokens < 1) return fail(appError('RATE_LIMITED'));
      tokens -= 1;
      const registered = this.#events.get(event);
      if (!registered) {
        return fail(appError('ROUTE_NOT_FOUND', `There is no socket event "${event}".`));
      }
      // No argument at all is an empty payload; an explicit null is bad input like any other.
      const payload = args[0] === undefined ? {} : args[0];
      if (!registered.validate(payload)) {
        const message = `${ERROR_CATALOGUE.VALIDATION_FAILED.message} ${this.#ajv.errorsText(registered.validate.errors)}`;
        return fail(appError('VALIDATION_FAILED', message));
      }
      const auth = socket.data.auth;
      Promise.resolve()
        .then(() => {
          if (auth.accessExpiresAt.getTime() <= Date.now()) throw appError('AUTH_TOKEN_EXPIRED');
          assertAccess(auth, registered.access);
          return registered.handler({ auth, socket }, payload);
        })
        .then((data) => reply({ ok: true, data }), fail);
    });
  }
}
