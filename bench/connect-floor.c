/*
 * The floor under the agent's TCP checks: the cheapest prober there is, a
 * single-threaded C program doing nonblocking connects with epoll and
 * nothing else. bench/agent-scale.mjs runs it in the same guest boot, on the
 * same addresses and listener, before the agent, to tell the guest's limit
 * from the agent's.
 *
 *   connect-floor paced N SECONDS PORT [NET]  N targets (NET.i/250.i%250+1; NET
 *                                        10.5 by default, 127.0 on a host), each
 *                                        connected once a second, starts spread
 *                                        evenly (the agent's cadence), 1 s timeout
 *   connect-floor max N SECONDS PORT [NET]  the same targets, 64 connects in flight,
 *                                        as fast as they complete
 *   connect-floor listen PORT            accept and close, forever (a C listener)
 *
 * Prints one JSON line: connects started, succeeded, failed, per second, the
 * prober's CPU (user + system, from getrusage) per connect, and for paced the
 * start lateness (p50/p99/max ms) and how many connects were still open
 * at the end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INFLIGHT_MAX 65536
#define LATE_MAX (1 << 20)

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double cpu_s(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static struct sockaddr_in target(const char *net, int i, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  char s[48];
  snprintf(s, sizeof s, "%s.%d.%d", net, i / 250, i % 250 + 1);
  inet_pton(AF_INET, s, &a.sin_addr);
  return a;
}

static double started_at[INFLIGHT_MAX]; /* by fd: when its connect began */
static long started, ok, failed, timedout;
static long errnos[256]; /* failures by errno, for the report */
static void fail(int e) {
  failed++;
  errnos[e & 255]++;
}
static int inflight;

static int start_connect(int ep, struct sockaddr_in *a) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || fd >= INFLIGHT_MAX) {
    fail(fd < 0 ? errno : EMFILE);
    if (fd >= 0) close(fd);
    return -1;
  }
  started++;
  started_at[fd] = now_ms();
  if (connect(fd, (struct sockaddr *)a, sizeof *a) == 0) {
    ok++;
    close(fd);
    return 0;
  }
  if (errno != EINPROGRESS) {
    fail(errno);
    close(fd);
    return 0;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  inflight++;
  return 0;
}

/* Reaps finished connects (waiting at most wait_ms); returns how many finished. */
static int reap(int ep, int wait_ms) {
  struct epoll_event evs[256];
  int n = epoll_wait(ep, evs, 256, wait_ms);
  for (int i = 0; i < n; i++) {
    int fd = evs[i].data.fd, err = 0;
    socklen_t l = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) fail(err);
    else ok++;
    close(fd); /* epoll forgets a closed fd */
    inflight--;
  }
  return n < 0 ? 0 : n;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "listen") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4096)) return perror("listen"), 1;
    printf("ready\n");
    fflush(stdout);
    for (;;) {
      int c = accept(s, 0, 0);
      if (c >= 0) close(c);
    }
  }
  if (argc < 5) {
    fprintf(stderr, "usage: connect-floor paced|max N SECONDS PORT [NET] | listen PORT\n");
    return 2;
  }
  int paced = strcmp(argv[1], "paced") == 0;
  int n = atoi(argv[2]), port = atoi(argv[4]);
  double secs = atof(argv[3]);
  struct sockaddr_in *addrs = malloc(sizeof *addrs * n);
  const char *net = argc > 5 ? argv[5] : "10.5";
  for (int i = 0; i < n; i++) addrs[i] = target(net, i, port);
  double *late = malloc(sizeof *late * LATE_MAX);
  long nlate = 0;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  double c0 = cpu_s(), t0 = now_ms(), end = t0 + secs * 1e3;
  long next = 0; /* the next connect due, counting from 0 over all rounds */
  while (now_ms() < end) {
    if (paced) {
      /* connect k is due at t0 + k * 1000 / n ms: N a second, evenly spread */
      double t = now_ms();
      while (t0 + next * 1000.0 / n <= t && t0 + next * 1000.0 / n < end) {
        if (nlate < LATE_MAX) late[nlate++] = t - (t0 + next * 1000.0 / n);
        start_connect(ep, &addrs[next % n]);
        next++;
      }
      double due = t0 + next * 1000.0 / n - now_ms();
      reap(ep, due > 0 ? (int)due + 1 : 0); /* (rounded up: a wait of 0 would spin) */
    } else {
      while (inflight < 64) start_connect(ep, &addrs[next++ % n]);
      reap(ep, 10);
    }
  }
  double wall = (now_ms() - t0) / 1e3;
  /* let the last ones finish (up to 1 s), as the agent's timeout would */
  double stop = now_ms() + 1000;
  while (inflight > 0 && now_ms() < stop) reap(ep, 10);
  timedout = inflight;
  double cpu = cpu_s() - c0;
  qsort(late, nlate, sizeof *late, cmp);
  printf("{\"mode\":\"%s\",\"n\":%d,\"seconds\":%.1f,\"started\":%ld,\"ok\":%ld,\"failed\":%ld,\"stillOpen\":%ld,"
         "\"perSecond\":%.0f,\"cpuSeconds\":%.2f,\"cpuMsPerConnect\":%.3f",
         argv[1], n, wall, started, ok, failed, timedout, ok / wall, cpu, started ? cpu * 1e3 / started : 0);
  if (paced && nlate)
    printf(",\"latenessP50Ms\":%.2f,\"latenessP99Ms\":%.2f,\"latenessMaxMs\":%.1f", late[nlate / 2], late[(long)(nlate * 0.99)], late[nlate - 1]);
  const char *sep = "";
  printf(",\"errors\":{");
  for (int e = 0; e < 256; e++)
    if (errnos[e]) printf("%s\"%s\":%ld", sep, strerrorname_np(e) ? strerrorname_np(e) : "?", errnos[e]), sep = ",";
  printf("}}\n");
  return 0;
}
