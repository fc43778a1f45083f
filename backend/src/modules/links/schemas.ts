import { Type, type Static } from 'typebox';
import { Slug, TenantName } from '../tenants/schemas.ts';

/** Tokens are 43 characters; 100 is the router's limit for a path segment. */
export const LinkParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 100 }) });

export const LinkInfo = Type.Object({
  purpose: Type.Enum(['invite', 'setup', 'password_reset']),
  email: Type.Union([Type.String(), Type.Null()]),
  displayName: Type.Union([Type.String(), Type.Null()]),
  tenantName: Type.Union([Type.String(), Type.Null()]),
});
export type LinkInfo = Static<typeof LinkInfo>;

/**
 * Invitation and password reset need only `password`; the first-admin setup needs all
 * fields (checked by the service, since which applies depends on the link).
 */
export const LinkAcceptBody = Type.Object(
  {
    password: Type.String({ minLength: 1, maxLength: 1000 }),
    tenantName: Type.Optional(TenantName),
    tenantSlug: Type.Optional(Slug),
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' })),
  },
  { additionalProperties: false },
);
export type LinkAcceptBody = Static<typeof LinkAcceptBody>;
