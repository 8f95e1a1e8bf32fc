// The lab's delay line: a user-space forwarder between two TUN devices, one in each of two network namespaces,
// that holds every packet for a configurable one-way delay (half the round trip, plus optional jitter) before
// passing it on. The kernel here has no netem; TUN devices work, and tc tbf on the TUN devices keeps shaping
// the rate. See test/lab/delay-line.ts (which compiles and drives it) and docs/throughput.md ("The lab").
//
//   delay-line <netns-path-A> <dev-A> <netns-path-B> <dev-B>
//
// Creates TUN device dev-A in namespace A and dev-B in namespace B (IFF_TUN | IFF_NO_PI: bare IP packets),
// prints "ready", then forwards A→B and B→A. Commands on stdin, one per line, each answered with one line:
//   set <rtt_ms> <jitter_ms>  one-way delay rtt/2 each way; each packet ±jitter/2 at random, never reordered
//   stats                     "stats <fwd_ab> <fwd_ba> <drop_ab> <drop_ba> <maxq_ab> <maxq_ba> <late_max_us> <late_mean_us> <rt>"
//                             (counts since the start; queue and lateness since the previous stats; rt: 1 when
//                             running with real-time priority)
// It asks for SCHED_FIFO (it is root in the lab): on a busy two-core machine an ordinary process is sometimes
// scheduled tens of ms late, which would add that much delay to a packet. It sleeps in ppoll between packets,
// so the priority costs the machine nothing.
// End of stdin (the parent died or closed it) ends the process, and the TUN devices with it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8192   /* packets queued per direction: 2.5 k full frames is 100 Mbit/s held for 300 ms */
#define SLOT_BYTES 2048
#define READ_BATCH 64

struct slot {
  int64_t due_ns;
  int len;
  unsigned char data[SLOT_BYTES];
};

struct direction {
  int in, out;
  struct slot *ring;
  unsigned head, tail; /* head: next to send; tail: next free */
  int64_t last_due_ns;
  uint64_t forwarded, dropped, max_queue;
};

static int64_t delay_ns = 0;  /* one way */
static int64_t jitter_ns = 0; /* full width of the uniform spread around delay_ns */
static int64_t late_max_ns = 0;
static double late_sum_ns = 0;
static uint64_t late_count = 0;
static int realtime = 0;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "delay-line: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int open_tun(const char *netns_path, const char *name) {
  int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(netns_path);
  if (setns(ns, CLONE_NEWNET) < 0) die("setns");
  close(ns);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  return fd;
}

static void receive(struct direction *d) {
  int64_t t = now_ns();
  for (int i = 0; i < READ_BATCH; i++) {
    unsigned used = d->tail - d->head;
    if (used >= SLOTS) {
      /* Full: read and drop, as a full router buffer would. */
      unsigned char scratch[SLOT_BYTES];
      if (read(d->in, scratch, sizeof scratch) < 0) return;
      d->dropped++;
      continue;
    }
    struct slot *s = &d->ring[d->tail % SLOTS];
    ssize_t n = read(d->in, s->data, SLOT_BYTES);
    if (n <= 0) return;
    int64_t due = t + delay_ns;
    if (jitter_ns > 0) due += (int64_t)(((double)random() / RAND_MAX - 0.5) * (double)jitter_ns);
    if (due < d->last_due_ns) due = d->last_due_ns; /* a link keeps order: jitter never reorders */
    d->last_due_ns = due;
    s->due_ns = due;
    s->len = (int)n;
    d->tail++;
    if (used + 1 > d->max_queue) d->max_queue = used + 1;
  }
}

/* Sends what is due; returns the next due time, or -1 when the queue is empty. */
static int64_t send_due(struct direction *d) {
  int64_t t = now_ns();
  while (d->head != d->tail) {
    struct slot *s = &d->ring[d->head % SLOTS];
    if (s->due_ns > t) return s->due_ns;
    if (write(d->out, s->data, s->len) == s->len) d->forwarded++;
    else d->dropped++;
    int64_t late = t - s->due_ns;
    if (late > late_max_ns) late_max_ns = late;
    late_sum_ns += (double)late;
    late_count++;
    d->head++;
  }
  return -1;
}

/* Reads stdin commands; returns 0 at end of input. */
static int command(struct direction *ab, struct direction *ba) {
  static char buf[512];
  static size_t have = 0;
  ssize_t n = read(0, buf + have, sizeof buf - 1 - have);
  if (n <= 0) return 0;
  have += (size_t)n;
  buf[have] = 0;
  char *line = buf, *nl;
  while ((nl = strchr(line, '\n'))) {
    *nl = 0;
    double rtt, jitter;
    if (sscanf(line, "set %lf %lf", &rtt, &jitter) == 2 && rtt >= 0 && jitter >= 0 && rtt <= 60000 && jitter <= 60000) {
      delay_ns = (int64_t)(rtt * 1e6 / 2);
      jitter_ns = (int64_t)(jitter * 1e6);
      printf("ok\n");
    } else if (strcmp(line, "stats") == 0) {
      printf("stats %llu %llu %llu %llu %llu %llu %lld %.0f %d\n", (unsigned long long)ab->forwarded, (unsigned long long)ba->forwarded,
             (unsigned long long)ab->dropped, (unsigned long long)ba->dropped, (unsigned long long)ab->max_queue,
             (unsigned long long)ba->max_queue, (long long)(late_max_ns / 1000), late_count ? late_sum_ns / late_count / 1000 : 0.0, realtime);
      ab->max_queue = ba->max_queue = 0;
      late_max_ns = 0;
      late_sum_ns = 0;
      late_count = 0;
    } else {
      printf("error: expected 'set <rtt_ms> <jitter_ms>' or 'stats'\n");
    }
    fflush(stdout);
    line = nl + 1;
  }
  have = strlen(line);
  memmove(buf, line, have);
  if (have >= sizeof buf - 1) have = 0; /* an overlong line is dropped */
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: delay-line <netns-path-A> <dev-A> <netns-path-B> <dev-B>\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  srandom((unsigned)now_ns());
  struct sched_param sp = {.sched_priority = 10};
  realtime = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
  int a = open_tun(argv[1], argv[2]);
  int b = open_tun(argv[3], argv[4]);
  struct direction ab = {.in = a, .out = b, .ring = calloc(SLOTS, sizeof(struct slot))};
  struct direction ba = {.in = b, .out = a, .ring = calloc(SLOTS, sizeof(struct slot))};
  if (!ab.ring || !ba.ring) die("calloc");
  printf("ready\n");
  fflush(stdout);

  for (;;) {
    int64_t next_ab = send_due(&ab), next_ba = send_due(&ba);
    int64_t next = next_ab < 0 ? next_ba : next_ba < 0 ? next_ab : (next_ab < next_ba ? next_ab : next_ba);
    struct timespec wait, *timeout = NULL;
    if (next >= 0) {
      int64_t w = next - now_ns();
      if (w < 0) w = 0;
      wait.tv_sec = w / 1000000000LL;
      wait.tv_nsec = w % 1000000000LL;
      timeout = &wait;
    }
    struct pollfd fds[3] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    if (ppoll(fds, 3, timeout, NULL) < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    if (fds[0].revents & POLLIN) receive(&ab);
    if (fds[1].revents & POLLIN) receive(&ba);
    if (fds[0].revents & (POLLERR | POLLNVAL) || fds[1].revents & (POLLERR | POLLNVAL)) {
      fprintf(stderr, "delay-line: a TUN device went away\n");
      return 1;
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR) && !command(&ab, &ba)) return 0;
  }
}
