/*
 * LD_PRELOAD shim for user-mode-linux 6.1 on hosts with a large XSAVE area.
 *
 * Why: UML saves and restores a guest thread's FPU state with
 * PTRACE_GETREGSET / PTRACE_SETREGSET(NT_X86_XSTATE), always passing a
 * fixed 832-byte buffer (legacy area + XSAVE header + AVX).  GET accepts a
 * short buffer, but the host kernel's SET insists on the full XSAVE size
 * (10752 bytes with AVX-512 + AMX) and fails with EFAULT, so UML panics at
 * the first userspace process: "ptrace set fp regs failed, errno = 14".
 * Newer UML kernels size the buffer from the host; this shim does it for 6.1.
 *
 * How: short xstate GETs/SETs are widened to the full host size.  Each
 * UML buffer address (one per guest thread) keys its own full-size host
 * buffer, so the part UML cannot see (AVX-512, AMX, ...) of one guest thread
 * is kept across its GET/SET pairs and never mixed with another thread's.
 * Requests that already carry the full size pass straight through, so the
 * shim is harmless on hosts that do not need it.  UML issues these calls
 * from one host thread; the shim is not thread-safe.
 *
 * Build: cc -O2 -shared -fPIC -o xstate-shim.so xstate-shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PTRACE_GETREGSET 0x4204
#define PTRACE_SETREGSET 0x4205
#define NT_X86_XSTATE 0x202
#define SLOTS 65536 /* open-addressing table; far more than guest threads */

static size_t full_size; /* host XSAVE size, probed on first use */
static struct slot {
  void *key;          /* UML's per-thread fp buffer */
  int valid;          /* buf holds state read from the host */
  unsigned char *buf; /* full-size host state for that thread */
} slots[SLOTS];

static long sys_ptrace(long req, long pid, void *addr, void *data) {
  return syscall(SYS_ptrace, req, pid, addr, data);
}

static int probe_size(long pid) {
  static unsigned char tmp[1 << 16];
  struct iovec iov = {tmp, sizeof tmp};
  if (full_size) return 0;
  if (sys_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) < 0) return -1;
  full_size = iov.iov_len; /* the kernel trims iov_len to what it wrote */
  return 0;
}

static struct slot *slot_for(void *key) {
  size_t h = (size_t)(((uintptr_t)key >> 4) * 11400714819323198485ull >> 48);
  for (size_t i = 0; i < SLOTS; i++) {
    struct slot *s = &slots[(h + i) % SLOTS];
    if (s->key == key) return s;
    if (s->key == NULL) {
      if (!(s->buf = calloc(1, full_size))) return NULL;
      s->key = key;
      return s;
    }
  }
  return NULL;
}

long ptrace(int req, ...) {
  static long (*real)(int, ...);
  va_list ap;
  va_start(ap, req);
  long pid = va_arg(ap, long);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if (!real) real = (long (*)(int, ...))dlsym(RTLD_NEXT, "ptrace");

  if ((req == PTRACE_GETREGSET || req == PTRACE_SETREGSET) &&
      (uintptr_t)addr == NT_X86_XSTATE && probe_size(pid) == 0) {
    struct iovec *user = data;
    struct slot *s = user->iov_len < full_size ? slot_for(user->iov_base) : NULL;
    if (s) {
      struct iovec full = {s->buf, full_size};
      /* GET, and a SET for a thread never read: fetch the whole host state. */
      if (req == PTRACE_GETREGSET || !s->valid) {
        if (sys_ptrace(PTRACE_GETREGSET, pid, addr, &full) < 0) return -1;
        s->valid = 1;
      }
      if (req == PTRACE_GETREGSET) {
        memcpy(user->iov_base, s->buf, user->iov_len);
        return 0;
      }
      /* SET: UML's part over the thread's last full state. */
      memcpy(s->buf, user->iov_base, user->iov_len);
      return sys_ptrace(PTRACE_SETREGSET, pid, addr, &full);
    }
  }
  return real(req, pid, addr, data);
}
