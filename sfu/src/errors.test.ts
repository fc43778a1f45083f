import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SFU_ERRORS, SfuError } from './errors.ts';

describe('SFU errors', () => {
  it('documents every code in sfu/README.md', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const undocumented = Object.keys(SFU_ERRORS).filter((code) => !readme.includes(`\`${code}\``));
    expect(undocumented).toEqual([]);
  });

  it('answers with code, message and status, and reports only 5xx', () => {
    const notFound = new SfuError('SFU_CHANNEL_NOT_FOUND');
    expect(notFound.toBody()).toEqual({
      code: 'SFU_CHANNEL_NOT_FOUND',
      message: SFU_ERRORS.SFU_CHANNEL_NOT_FOUND.message,
      statusCode: 404,
    });
    expect(notFound.reportable).toBe(false);
    expect(new SfuError('SFU_NO_WORKER').reportable).toBe(true);
  });
});
