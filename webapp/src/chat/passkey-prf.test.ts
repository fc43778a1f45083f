import { afterEach, describe, expect, it, vi } from 'vitest';
import { browserPrfCredentials } from './passkey-prf.ts';

/**
 * The WebAuthn calls of the passkey unlock against a stubbed `navigator.credentials`: what
 * is asked of the authenticator, and how its answers are read.
 */

afterEach(() => {
  vi.unstubAllGlobals();
});

function credential(rawId: Uint8Array, prf: AuthenticationExtensionsPRFOutputs | undefined) {
  return {
    rawId: rawId.buffer,
    getClientExtensionResults: () => (prf ? { prf } : {}),
  };
}

function stubCredentials(answer: unknown) {
  const create = vi.fn(async (_options: CredentialCreationOptions) => answer);
  const get = vi.fn(async (_options: CredentialRequestOptions) => answer);
  vi.stubGlobal('navigator', { credentials: { create, get } });
  vi.stubGlobal('PublicKeyCredential', class {});
  return { create, get };
}

describe('browser PRF credentials', () => {
  it('creates a credential of its own with PRF, user verification and a random user handle', async () => {
    const id = new Uint8Array([9, 8, 7]);
    const output = new Uint8Array(32).fill(5);
    const { create } = stubCredentials(
      credential(id, { enabled: true, results: { first: output.buffer } }),
    );
    const salt = new Uint8Array(32).fill(1);

    expect(browserPrfCredentials.available()).toBe(true);
    const created = await browserPrfCredentials.create(salt);
    expect(created).toEqual({ id, enabled: true, first: output });

    await browserPrfCredentials.create(salt);
    const [first, second] = create.mock.calls.map(([options]) => options.publicKey!);
    expect(new Uint8Array(first!.extensions!.prf!.eval!.first as Uint8Array)).toEqual(salt);
    expect(first!.authenticatorSelection!.userVerification).toBe('required');
    expect(first!.user.id).not.toEqual(second!.user.id);
  });

  it('evaluates the PRF of that one credential, and says when there is none', async () => {
    const id = new Uint8Array([1, 2, 3]);
    const salt = new Uint8Array(32).fill(3);
    const output = new Uint8Array(32).fill(4);
    const { get } = stubCredentials(credential(id, { results: { first: output } }));
    expect(await browserPrfCredentials.evaluate(id, salt)).toEqual(output);
    const options = get.mock.calls[0]![0].publicKey!;
    expect(options.allowCredentials!.map((c) => new Uint8Array(c.id as Uint8Array))).toEqual([id]);
    expect(new Uint8Array(options.extensions!.prf!.eval!.first as Uint8Array)).toEqual(salt);

    stubCredentials(credential(id, undefined));
    expect(await browserPrfCredentials.evaluate(id, salt)).toBeNull();
    stubCredentials(credential(id, { enabled: false }));
    expect(await browserPrfCredentials.create(salt)).toMatchObject({ enabled: false, first: null });
  });

  it('passes a cancelled dialog on as the browser reports it', async () => {
    vi.stubGlobal('navigator', {
      credentials: {
        get: () => Promise.reject(new DOMException('cancelled', 'NotAllowedError')),
      },
    });
    await expect(
      browserPrfCredentials.evaluate(new Uint8Array(1), new Uint8Array(32)),
    ).rejects.toMatchObject({ name: 'NotAllowedError' });
  });
});
