// The error classes (src/errors.ts): codes, errno names, fields.
import { describe, expect, it } from 'vitest';
import { DecodeError, Errno, IpvsError, describeValue, errnoName, inputError } from '../../src/errors.js';
import * as index from '../../src/index.js';

describe('IpvsError', () => {
  it('a kernel refusal: code from errno, every detail kept', () => {
    const cause = new Error('underlying');
    const e = new IpvsError('virtual service TCP 10.0.0.1:80 already exists', {
      kind: 'kernel', errno: 17, operation: 'addService', kernelMessage: 'text', kernelOffset: 20, seq: 9, cause,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(IpvsError);
    expect(e.name).toBe('IpvsError');
    expect(e.message).toBe('virtual service TCP 10.0.0.1:80 already exists');
    expect(e).toMatchObject({ kind: 'kernel', code: 'EEXIST', errno: 17, operation: 'addService', kernelMessage: 'text', kernelOffset: 20, seq: 9 });
    expect(e.cause).toBe(cause);
    expect(e.stack).toMatch(/IpvsError: virtual service/);
  });

  it('leaves out the details that were not given', () => {
    const e = new IpvsError('x', { kind: 'timeout', errno: Errno.ETIMEDOUT, operation: 'info' });
    expect(e.code).toBe('ETIMEDOUT');
    for (const k of ['field', 'kernelMessage', 'kernelOffset', 'seq', 'syscall', 'cause']) expect(e, k).not.toHaveProperty(k);
  });

  it('a socket error names the system call', () => {
    const e = new IpvsError('sendto failed', { kind: 'socket', errno: Errno.ENOBUFS, operation: 'flush', syscall: 'sendto' });
    expect(e).toMatchObject({ kind: 'socket', code: 'ENOBUFS', errno: 105, syscall: 'sendto' });
  });

  it('codes without an errno: EDECODE for decode errors, UNKNOWN otherwise', () => {
    expect(new IpvsError('x', { kind: 'decode', errno: 0, operation: 'o' }).code).toBe('EDECODE');
    expect(new IpvsError('x', { kind: 'interrupted', errno: 0, operation: 'o' }).code).toBe('UNKNOWN');
  });

  it('inputError: EINVAL, kind input, the field named', () => {
    const e = inputError('addDestination', 'weight', 'addDestination: weight must be ...');
    expect(e).toBeInstanceOf(IpvsError);
    expect(e).toMatchObject({ kind: 'input', code: 'EINVAL', errno: 22, operation: 'addDestination', field: 'weight' });
    expect(e.message).toBe('addDestination: weight must be ...');
  });

  it('DecodeError is an IpvsError of kind decode', () => {
    const e = new DecodeError('service: attribute 3 is missing');
    expect(e).toBeInstanceOf(IpvsError);
    expect(e).toMatchObject({ name: 'IpvsError', kind: 'decode', code: 'EDECODE', errno: 0, operation: 'decode' });
    expect(new DecodeError('m', 'listServices').operation).toBe('listServices');
  });

  it('is exported from the package entry point', () => {
    expect(index.IpvsError).toBe(IpvsError);
  });
});

describe('errno names', () => {
  it('the codes the library and its callers reason about', () => {
    for (const [name, n] of Object.entries(Errno)) expect(errnoName(n), name).toBe(name);
    expect(Errno).toMatchObject({ EPERM: 1, ENOENT: 2, ESRCH: 3, EEXIST: 17, EINVAL: 22, EOPNOTSUPP: 95, EAFNOSUPPORT: 97, ETIMEDOUT: 110 });
  });

  it("95 is the kernel's EOPNOTSUPP (libuv would say ENOTSUP); 11 is EAGAIN", () => {
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(new IpvsError('x', { kind: 'kernel', errno: 95, operation: 'o' }).code).toBe('EOPNOTSUPP');
    expect(errnoName(11)).toBe('EAGAIN');
  });

  it('accepts the sign either way', () => {
    expect(errnoName(-2)).toBe('ENOENT');
    expect(errnoName(2)).toBe('ENOENT');
  });

  it('Linux errnos the kernel sends that libuv has no name for', () => {
    expect(errnoName(19)).toBe('ENODEV');
    expect(errnoName(74)).toBe('EBADMSG');
    expect(errnoName(61)).toBe('ENODATA');
    expect(errnoName(34)).toBe('ERANGE');
  });

  it('E<n> for numbers without a name, never a sentence', () => {
    expect(errnoName(9999)).toBe('E9999');
    expect(errnoName(133)).toMatch(/^E/);
    expect(errnoName(133)).not.toMatch(/\s/);
    expect(new IpvsError('x', { kind: 'kernel', errno: 9999, operation: 'o' }).code).toBe('E9999');
  });
});

describe('describeValue (how messages show a caller\'s value)', () => {
  it('shows plain values as people write them', () => {
    expect(['x', 5, -1.5, NaN, true, undefined, null, 24n, [1, 'a'], { a: 1 }].map(describeValue)).toEqual([
      '"x"', '5', '-1.5', 'NaN', 'true', 'undefined', 'null', '24n', '[1,"a"]', '{"a":1}',
    ]);
    expect(describeValue(Symbol('s'))).toBe('Symbol(s)');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue({ n: 10n })).toBe('{"n":"10n"}');
    expect(describeValue(new TypeError('bad'))).toBe('TypeError: bad');
  });

  it('never throws, whatever it is given, and stays short', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const boom = () => {
      throw new Error('boom');
    };
    const throwing = new Proxy({}, { get: boom, ownKeys: boom, getPrototypeOf: boom });
    const getter = Object.defineProperty({}, 'x', { get: boom, enumerable: true });
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { deep };
    for (const v of [cyclic, proxy, throwing, getter, deep]) expect(describeValue(v)).toBe('an object that cannot be shown');
    expect(describeValue(Object.create(null))).toBe('{}');
    expect(describeValue('x'.repeat(1000))).toHaveLength(80);
  });
});
