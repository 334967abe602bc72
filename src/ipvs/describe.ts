/**
 * Words a kernel refusal for people. The kernel's IPVS code rarely sends an
 * extended-ack text, so the errno and the operation decide the sentence;
 * when the kernel does send text it is kept (kernelMessage, and appended).
 */
import { Errno, IpvsError } from '../errors.js';
import type { NetlinkStatus } from '../netlink/message.js';

export interface Subject {
  /** "TCP 10.0.0.1:80" */
  service?: string;
  /** "10.1.0.2:8080" */
  destination?: string;
  scheduler?: string;
  pe?: string;
  daemon?: string;
  /** The real server's family differs from the service's. */
  mixedFamily?: boolean;
}

export const PERMISSION_TEXT = 'permission denied: programming IPVS needs CAP_NET_ADMIN (run as root)';

export function describeStatus(operation: string, s: NetlinkStatus, seq: number, subject: Subject): IpvsError {
  const svc = subject.service ? `virtual service ${subject.service}` : 'virtual service';
  const dest = subject.destination ? `real server ${subject.destination}` : 'real server';
  let text: string;
  switch (s.errno) {
    case Errno.EPERM:
      text = PERMISSION_TEXT;
      break;
    case Errno.EEXIST:
      if (subject.daemon) text = `a ${subject.daemon} sync daemon is already running`;
      else text = subject.destination ? `${dest} already exists in ${svc}` : `${svc} already exists`;
      break;
    case Errno.ESRCH:
      if (subject.daemon) text = `no ${subject.daemon} sync daemon is running`;
      else text = `${svc} does not exist`;
      break;
    case Errno.ENOENT:
      if (subject.destination) text = `${dest} does not exist in ${svc}`;
      else if (subject.scheduler || subject.pe) {
        const what = [
          subject.scheduler ? `scheduler '${subject.scheduler}' (kernel module ip_vs_${subject.scheduler})` : '',
          subject.pe ? `persistence engine '${subject.pe}' (kernel module ip_vs_pe_${subject.pe})` : '',
        ].filter(Boolean).join(' or ');
        text = `${what} is not available in this kernel: check the name, or load the module with modprobe`;
      } else text = `${operation}: not found`;
      break;
    case Errno.ENODEV:
      text = subject.daemon ? `${operation}: the ${subject.daemon} sync daemon's network interface does not exist` : `${operation}: no such network device`;
      break;
    case Errno.EBUSY:
      text = `${operation}: the kernel is busy with another request on this socket`;
      break;
    case Errno.ERANGE:
      text = `${operation}: the lower threshold of ${dest} is above its upper threshold`;
      break;
    case Errno.EAFNOSUPPORT:
      text = `${operation}: ${dest} is of another address family than ${svc}, which the kernel allows only for tunnel forwarding`;
      break;
    case Errno.EOPNOTSUPP:
      text = `${operation}: not supported by this kernel`;
      break;
    case Errno.EINVAL:
      if (subject.daemon) {
        text = `${operation}: the kernel refused to start the ${subject.daemon} sync daemon: check that the interface exists and is up (a backup daemon joins a multicast group on it), that the multicast group is a multicast address, and that no real server has another address family than its service`;
        break;
      }
      if (subject.mixedFamily) {
        text = `${operation}: ${dest} is of another address family than ${svc}; the kernel allows that only with tunnel forwarding and no sync daemon running`;
        break;
      }
      text = `${operation}: the kernel refused the request as invalid${subject.service ? ` (${svc}${subject.destination ? `, ${dest}` : ''})` : ''}`;
      break;
    default:
      text = `${operation} failed`;
  }
  if (s.message) text += `: ${s.message}`;
  return new IpvsError(text, {
    kind: 'kernel',
    errno: s.errno,
    operation,
    seq,
    ...(s.message !== undefined ? { kernelMessage: s.message } : {}),
    ...(s.offset !== undefined ? { kernelOffset: s.offset } : {}),
  });
}
