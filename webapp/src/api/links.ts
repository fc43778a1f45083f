/** One-time links: invitations, password resets and the first-admin setup. */
import { request } from './http.ts';
import type { LinkInfo } from './types.ts';

const path = (token: string) => `/api/links/${encodeURIComponent(token)}`;

export const getLink = (token: string): Promise<LinkInfo> =>
  request('GET', path(token), { auth: false });

export type LinkAcceptBody =
  | { password: string }
  | {
      tenantName: string;
      tenantSlug: string;
      email: string;
      displayName: string;
      password: string;
    };

export const acceptLink = (token: string, body: LinkAcceptBody): Promise<void> =>
  request('POST', `${path(token)}/accept`, { auth: false, body });
