/*
 * The kernel's floor, for the benchmark to compare against: the same
 * workload as bench/workload.ts sent over raw generic netlink by a
 * single-threaded C program, with nothing but the system calls the work
 * needs. Run inside the namespace to fill (add) or to list (list):
 *
 *   floor add N    N TCP services (wlc) x 2 masq real servers, PER_SEND
 *                  messages to a sendto, only the last asking for an ack
 *                  (what batch() does); every reply read with recvmmsg
 *   floor list N   one service dump, then one destination dump per
 *                  service (the kernel runs one dump at a time per socket)
 *
 * Prints {"us": time of the work alone (no process start-up), "units": N or
 * 3N, "dests": real servers listed}. Exits 1 on any kernel error. The same
 * bytes as the library's fast lane (src/ipvs/fast.ts), attribute for
 * attribute, so the kernel does the same work; NETLINK_EXT_ACK is on, as in
 * the library.
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#define PER_SEND 1024
#define NLA_F_NESTED_ (1 << 15)

/* include/uapi/linux/ip_vs.h */
enum { CMD_NEW_SERVICE = 1, CMD_GET_SERVICE = 4, CMD_NEW_DEST = 5, CMD_GET_DEST = 8 };
enum { ATTR_SERVICE = 1, ATTR_DEST = 2 };
enum { SVC_AF = 1, SVC_PROTOCOL, SVC_ADDR, SVC_PORT, SVC_FWMARK, SVC_SCHED, SVC_FLAGS, SVC_TIMEOUT, SVC_NETMASK };
enum { DEST_ADDR = 1, DEST_PORT, DEST_FWD, DEST_WEIGHT, DEST_UTHRESH, DEST_LTHRESH, DEST_AF = 11 };

static int fd;
static uint16_t family;
static uint32_t seq;
static char out[PER_SEND * 160];
static size_t outlen;
#define RX_MSGS 16
static char rx[RX_MSGS][65536];

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* --- writing messages into `out` --- */
static struct nlmsghdr *msg_start(uint16_t type, uint16_t flags, uint8_t cmd) {
  struct nlmsghdr *h = (struct nlmsghdr *)(out + outlen);
  memset(h, 0, NLMSG_HDRLEN + GENL_HDRLEN);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = ++seq;
  struct genlmsghdr *g = (struct genlmsghdr *)((char *)h + NLMSG_HDRLEN);
  g->cmd = cmd;
  g->version = 1;
  outlen += NLMSG_HDRLEN + GENL_HDRLEN;
  return h;
}
static void msg_end(struct nlmsghdr *h) { h->nlmsg_len = (uint32_t)(out + outlen - (char *)h); }
static void *put(uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)(out + outlen);
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  memset((char *)a + NLA_HDRLEN, 0, NLA_ALIGN(len));
  if (data) memcpy((char *)a + NLA_HDRLEN, data, len);
  outlen += NLA_HDRLEN + NLA_ALIGN(len);
  return a;
}
static void put16(uint16_t type, uint16_t v) { put(type, &v, 2); }
static void put32(uint16_t type, uint32_t v) { put(type, &v, 4); }
static struct nlattr *nest(uint16_t type) { return put(type | NLA_F_NESTED_, NULL, 0); }
static void nest_end(struct nlattr *a) { a->nla_len = (uint16_t)(out + outlen - (char *)a); }

static void put_addr(uint16_t type, uint32_t host_order) {
  uint8_t a[16] = {0};
  uint32_t be = htonl(host_order);
  memcpy(a, &be, 4);
  put(type, a, 16);
}
static void put_service_key(uint32_t vip) {
  put16(SVC_AF, AF_INET);
  put16(SVC_PROTOCOL, 6 /* IPPROTO_TCP */);
  put_addr(SVC_ADDR, vip);
  put16(SVC_PORT, htons(80));
}

/* Addresses as bench/workload.ts makes them. */
static uint32_t vip(uint32_t i) { return (10u << 24) | ((1 + (i >> 16)) << 16) | (((i >> 8) & 255) << 8) | (i & 255); }
static uint32_t rip(uint32_t i, uint32_t j) {
  uint32_t n = 2 + 2 * i + j;
  return (172u << 24) | ((16 + (n >> 16)) << 16) | (((n >> 8) & 255) << 8) | (n & 255);
}

/* --- reading replies --- */
/* Reads replies until the ack (or NLMSG_DONE, for a dump) of `last`; calls
 * `each` for every data message. Any error fails the program. */
static void read_until(uint32_t last, int dump, void (*each)(struct nlmsghdr *)) {
  struct mmsghdr m[RX_MSGS];
  struct iovec iov[RX_MSGS];
  for (;;) {
    for (int i = 0; i < RX_MSGS; i++) {
      iov[i].iov_base = rx[i];
      iov[i].iov_len = sizeof rx[i];
      memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
      m[i].msg_hdr.msg_iov = &iov[i];
      m[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(fd, m, RX_MSGS, MSG_WAITFORONE, NULL);
    if (got < 0) die("recvmmsg");
    for (int i = 0; i < got; i++) {
      int len = (int)m[i].msg_len;
      for (struct nlmsghdr *h = (struct nlmsghdr *)rx[i]; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
          int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
          if (err != 0) {
            fprintf(stderr, "floor: kernel error %d for message %u\n", err, h->nlmsg_seq);
            exit(1);
          }
          if (!dump && h->nlmsg_seq == last) return;
        } else if (h->nlmsg_type == NLMSG_DONE) {
          if (dump && h->nlmsg_seq == last) return;
        } else if (each) {
          each(h);
        }
      }
    }
  }
}

static void send_out(void) {
  if (send(fd, out, outlen, 0) != (ssize_t)outlen) die("send");
  outlen = 0;
}

/* --- the generic netlink family id of IPVS --- */
static uint16_t family_id;
static void on_family(struct nlmsghdr *h) {
  int len = (int)h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
  for (struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN); len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
       len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
    if (a->nla_type == CTRL_ATTR_FAMILY_ID) memcpy(&family_id, (char *)a + NLA_HDRLEN, 2);
}

/* --- list: service keys from the service dump --- */
static uint8_t (*keys)[64];
static uint16_t *key_len;
static size_t nkeys, cap, dests;
static void on_service(struct nlmsghdr *h) {
  if (nkeys >= cap) { /* more services than asked for: counted, then refused */
    nkeys++;
    return;
  }
  struct nlattr *svc = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
  int len = svc->nla_len - NLA_HDRLEN;
  size_t k = 0;
  for (struct nlattr *a = (struct nlattr *)((char *)svc + NLA_HDRLEN); len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
       len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
    uint16_t t = a->nla_type & NLA_TYPE_MASK;
    if ((t == SVC_AF || t == SVC_PROTOCOL || t == SVC_ADDR || t == SVC_PORT || t == SVC_FWMARK) && k + NLA_ALIGN(a->nla_len) <= 64) {
      memcpy(keys[nkeys] + k, a, NLA_ALIGN(a->nla_len));
      k += NLA_ALIGN(a->nla_len);
    }
  }
  key_len[nkeys++] = (uint16_t)k;
}
static void on_dest(struct nlmsghdr *h) {
  (void)h;
  dests++;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "add") && strcmp(argv[1], "list"))) {
    fprintf(stderr, "usage: floor add|list N\n");
    return 2;
  }
  uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) die("socket");
  int one = 1, rcvbuf = 1 << 20;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");

  struct nlmsghdr *h = msg_start(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY);
  ((struct genlmsghdr *)NLMSG_DATA(h))->version = 2;
  put(CTRL_ATTR_FAMILY_NAME, "IPVS", 5);
  msg_end(h);
  send_out();
  read_until(seq, 0, on_family);
  if (!family_id) {
    fprintf(stderr, "floor: no IPVS family\n");
    return 1;
  }
  family = family_id;

  double t0 = now_us();
  uint32_t units;
  if (argv[1][0] == 'a') {
    units = 3 * n;
    int queued = 0;
    for (uint32_t i = 0; i < n; i++) {
      for (int j = -1; j < 2; j++) {
        int last = (i == n - 1 && j == 1) || queued == PER_SEND - 1;
        h = msg_start(family, NLM_F_REQUEST | (last ? NLM_F_ACK : 0), j < 0 ? CMD_NEW_SERVICE : CMD_NEW_DEST);
        struct nlattr *s = nest(ATTR_SERVICE);
        put_service_key(vip(i));
        if (j < 0) {
          put(SVC_SCHED, "wlc", 4);
          uint32_t flags[2] = {0, 0xffffffff};
          put(SVC_FLAGS, flags, 8);
          put32(SVC_TIMEOUT, 0);
          put32(SVC_NETMASK, 0xffffffff);
        }
        nest_end(s);
        if (j >= 0) {
          struct nlattr *d = nest(ATTR_DEST);
          put_addr(DEST_ADDR, rip(i, (uint32_t)j));
          put16(DEST_PORT, htons(80));
          put32(DEST_FWD, 0 /* IP_VS_CONN_F_MASQ */);
          put32(DEST_WEIGHT, 1);
          put32(DEST_UTHRESH, 0);
          put32(DEST_LTHRESH, 0);
          put16(DEST_AF, AF_INET);
          nest_end(d);
        }
        msg_end(h);
        if (++queued == PER_SEND || last) {
          send_out();
          read_until(seq, 0, NULL);
          queued = 0;
        }
      }
    }
  } else {
    units = n;
    cap = n;
    keys = calloc(n + 1, sizeof *keys);
    key_len = calloc(n + 1, sizeof *key_len);
    if (!keys || !key_len) die("calloc");
    msg_end(msg_start(family, NLM_F_REQUEST | NLM_F_DUMP, CMD_GET_SERVICE));
    send_out();
    read_until(seq, 1, on_service);
    if (nkeys != n) {
      fprintf(stderr, "floor: listed %zu services, expected %u\n", nkeys, n);
      return 1;
    }
    for (size_t i = 0; i < nkeys; i++) {
      h = msg_start(family, NLM_F_REQUEST | NLM_F_DUMP, CMD_GET_DEST);
      struct nlattr *s = nest(ATTR_SERVICE);
      memcpy(out + outlen, keys[i], key_len[i]);
      outlen += key_len[i];
      nest_end(s);
      msg_end(h);
      send_out();
      read_until(seq, 1, on_dest);
    }
  }
  printf("{\"us\": %.0f, \"units\": %u, \"dests\": %zu}\n", now_us() - t0, units, dests);
  return 0;
}
