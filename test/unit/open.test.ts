/**
 * What Ipvs.open() says when the kernel has no IPVS or the caller lacks
 * privileges. These answers cannot be produced on the test kernel (IPVS is
 * loaded and tests run as root there: the EPERM case also has a real-kernel
 * test in test/kernel/errors.test.ts), so the fake kernel gives them.
 */
import { describe, expect, it } from 'vitest';
import { Ipvs, IpvsError } from '../../src/index.js';
import { fakeKernel } from '../helpers/fake-kernel.js';

describe('Ipvs.open', () => {
  it('says to load ip_vs when the kernel has no IPVS family', async () => {
    const err = await Ipvs.open({ nativeBinding: fakeKernel({ noIpvs: true }) }).catch((e) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2, kind: 'kernel', operation: 'open' });
    expect(err.message).toContain('modprobe ip_vs');
  });

  it('says CAP_NET_ADMIN is needed when the kernel answers EPERM', async () => {
    const err = await Ipvs.open({ nativeBinding: fakeKernel({ unprivileged: true }) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EPERM', errno: 1, kind: 'kernel', operation: 'open' });
    expect(err.message).toBe('permission denied: programming IPVS needs CAP_NET_ADMIN (run as root)');
  });

  it('refuses a namespace that is neither a name nor an absolute path, before opening anything', async () => {
    const kernel = fakeKernel();
    const err = await Ipvs.open({ nativeBinding: kernel, netns: 'a/b' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EINVAL', kind: 'input', field: 'netns' });
    expect(kernel.sockets).toHaveLength(0);
  });

  it('takes the addon as a loaded module, and refuses what is not one', async () => {
    const ipvs = await Ipvs.open({ nativeBinding: fakeKernel() });
    expect((await ipvs.info()).version).toBe('1.2.1');
    ipvs.close();
    const err = await Ipvs.open({ nativeBinding: {} as never }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EINVAL', kind: 'input', field: 'nativeBinding.NetlinkSocket' });
  });
});
