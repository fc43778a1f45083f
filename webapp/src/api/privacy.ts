/** What Trupp stores about the signed-in user, who sees it and for how long. */
import { request } from './http.ts';
import type { PrivacyInfo } from './types.ts';

export const getPrivacy = (): Promise<PrivacyInfo> => request('GET', '/api/privacy');
