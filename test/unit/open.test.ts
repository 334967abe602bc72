/**
 * What Ipvs.open() says when the kernel has no IPVS or the caller lacks
 * privileges. These answers cannot be produced on the test kernel (IPVS is
 * loaded and tests run as root there: the EPERM case also has a real-kernel
 * test in test/kernel/errors.test.ts), so a scripted socket gives them.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Ipvs, IpvsError } from '../../src/index.js';

const nativeBinding = fileURLToPath(new URL('../fixtures/scripted-kernel.cjs', import.meta.url));
type Script = (type: number, cmd: number, seq: number) => { errno?: number; family?: number } | undefined;
const script = (fn: Script) => ((globalThis as { SCRIPTED_KERNEL?: Script }).SCRIPTED_KERNEL = fn);

afterEach(() => script(() => undefined));

describe('Ipvs.open', () => {
  it('says to load ip_vs when the kernel has no IPVS family', async () => {
    script((type) => (type === 0x10 ? { errno: 2 } : undefined));
    const err = await Ipvs.open({ nativeBinding }).catch((e) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2, kind: 'kernel', operation: 'open' });
    expect(err.message).toContain('modprobe ip_vs');
  });

  it('says CAP_NET_ADMIN is needed when the kernel answers EPERM', async () => {
    script((type) => (type === 0x10 ? { family: 30 } : { errno: 1 }));
    const err = await Ipvs.open({ nativeBinding }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EPERM', errno: 1, kind: 'kernel', operation: 'open' });
    expect(err.message).toBe('permission denied: programming IPVS needs CAP_NET_ADMIN (run as root)');
  });

  it('refuses a namespace that is neither a name nor an absolute path, before opening anything', async () => {
    const err = await Ipvs.open({ nativeBinding, netns: 'a/b' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EINVAL', kind: 'input', field: 'netns' });
  });
});
