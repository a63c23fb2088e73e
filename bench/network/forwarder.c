/*
 * The emulated link's packet forwarder (built on first use by
 * bench/network/forwarder.ts; see docs/network.md for why it is C).
 *
 *   forwarder TUN_UP TUN_DOWN
 *
 * Creates two TUN devices (IFF_TUN | IFF_NO_PI: whole IP packets, no header).
 * Every packet read from TUN_UP (the client side) is written to TUN_DOWN (the
 * server side) after the "up" direction's treatment, and the other way round
 * for "down". Per direction, in this order:
 *
 *   loss    dropped at random (xorshift64*, seeded: a run repeats its drops);
 *   rate    serialized at `rate` bit/s behind the packets before it; a packet
 *           that finds more than `queue` bytes waiting is dropped (tail drop);
 *   delay   held for `delay` ns plus the jitter offset after it has been
 *           serialized. The offset wanders: every 4 x `jitter` ns a new target
 *           is drawn uniformly from [-jitter, +jitter] and the offset moves to
 *           it in a straight line. Packets close together see nearly the same
 *           delay (as on a real path, where jitter is queueing), the offset
 *           never changes faster than half the clock, so a later packet is
 *           never due before an earlier one (no reordering, no clamping that
 *           would bias the mean), and its time average is zero.
 *
 * The device fds stay valid when the Node side moves a device into another
 * network namespace (ip link set DEV netns NS). Commands on stdin, one a line:
 *
 *   set up|down DELAY_NS JITTER_NS RATE_BPS LOSS_PPB QUEUE_BYTES   (RATE 0 = unlimited)
 *   seed N
 *   stats        -> one JSON line on stdout (counters since start or reset)
 *   reset        -> zero the counters
 *
 * It prints "ready" once both devices exist and exits when stdin closes (the
 * bench went away), which also removes both devices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKET 65536
#define READ_BATCH 64
/*
 * A timer wake-up lands 50-80 us late on a VM; the loop asks to wake this much
 * before the next packet is due and polls the devices without sleeping for the
 * rest of the way, so packets leave within a few us of their time.
 */
#define EARLY_WAKE_NS 60000ULL
/* Lateness histogram: 1 us buckets up to 10 ms, the last one collects the rest. */
#define LATE_BUCKETS 10001

typedef struct {
  uint64_t due;
  uint32_t len;
  unsigned char *data;
} packet_t;

typedef struct {
  int in_fd, out_fd;
  /* parameters */
  uint64_t delay_ns, jitter_ns, rate_bps, loss_ppb, queue_bytes;
  /* state */
  uint64_t tx_free_at, last_due;
  /* jitter: the offset moves from jitter_from to jitter_to over [jitter_t0, jitter_t0 + 4 x jitter] */
  uint64_t jitter_t0;
  int64_t jitter_from, jitter_to;
  packet_t *ring;
  size_t cap, head, count;
  /* counters */
  uint64_t packets, bytes, forwarded, forwarded_bytes, loss_drops, queue_drops, write_errors, max_queue_bytes;
  uint64_t late[LATE_BUCKETS];
} direction_t;

static int realtime = 0;
static int low_latency_idle = 0;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int open_tun(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "open /dev/net/tun: %s\n", strerror(errno));
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "TUNSETIFF %s: %s\n", name, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static void push(direction_t *d, uint64_t due, const unsigned char *data, uint32_t len) {
  if (d->count == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 1024;
    packet_t *ring = malloc(cap * sizeof *ring);
    if (!ring) {
      d->queue_drops++;
      return;
    }
    for (size_t i = 0; i < d->count; i++) ring[i] = d->ring[(d->head + i) % d->cap];
    free(d->ring);
    d->ring = ring;
    d->cap = cap;
    d->head = 0;
  }
  unsigned char *copy = malloc(len);
  if (!copy) {
    d->queue_drops++;
    return;
  }
  memcpy(copy, data, len);
  packet_t *p = &d->ring[(d->head + d->count) % d->cap];
  p->due = due;
  p->len = len;
  p->data = copy;
  d->count++;
}

static void deliver(direction_t *d, const unsigned char *data, uint32_t len, uint64_t due, uint64_t now) {
  if (write(d->out_fd, data, len) == (ssize_t)len) {
    d->forwarded++;
    d->forwarded_bytes += len;
  } else {
    d->write_errors++;
  }
  uint64_t late_us = now > due ? (now - due) / 1000 : 0;
  d->late[late_us < LATE_BUCKETS - 1 ? late_us : LATE_BUCKETS - 1]++;
}

/* Sends every held packet that is due. */
static void flush(direction_t *d) {
  uint64_t now = now_ns();
  while (d->count > 0) {
    packet_t *p = &d->ring[d->head];
    if (p->due > now) break;
    deliver(d, p->data, p->len, p->due, now);
    free(p->data);
    d->head = (d->head + 1) % d->cap;
    d->count--;
  }
}

static int64_t jitter_target(direction_t *d) {
  return (int64_t)(rng_next() % (2 * d->jitter_ns + 1)) - (int64_t)d->jitter_ns;
}

/* The wandering jitter offset at time t (see the header). */
static int64_t jitter_offset(direction_t *d, uint64_t t) {
  uint64_t period = 4 * d->jitter_ns;
  if (d->jitter_t0 == 0 || t >= d->jitter_t0 + 2 * period) {
    /* first packet, or idle for a while: start a new segment here */
    d->jitter_t0 = t;
    d->jitter_from = jitter_target(d);
    d->jitter_to = jitter_target(d);
  }
  while (t >= d->jitter_t0 + period) {
    d->jitter_t0 += period;
    d->jitter_from = d->jitter_to;
    d->jitter_to = jitter_target(d);
  }
  double share = (double)(t - d->jitter_t0) / (double)period;
  return d->jitter_from + (int64_t)((double)(d->jitter_to - d->jitter_from) * share);
}

static void accept_packet(direction_t *d, const unsigned char *data, uint32_t len, uint64_t now) {
  d->packets++;
  d->bytes += len;
  if (d->loss_ppb > 0 && rng_next() % 1000000000ULL < d->loss_ppb) {
    d->loss_drops++;
    return;
  }
  uint64_t sent = now;
  if (d->rate_bps > 0) {
    uint64_t backlog_ns = d->tx_free_at > now ? d->tx_free_at - now : 0;
    uint64_t backlog_bytes = (uint64_t)((double)backlog_ns * (double)d->rate_bps / 8e9);
    if (backlog_bytes + len > d->queue_bytes) {
      d->queue_drops++;
      return;
    }
    if (backlog_bytes + len > d->max_queue_bytes) d->max_queue_bytes = backlog_bytes + len;
    uint64_t start = d->tx_free_at > now ? d->tx_free_at : now;
    d->tx_free_at = start + (uint64_t)((double)len * 8e9 / (double)d->rate_bps);
    sent = d->tx_free_at;
  }
  uint64_t due = sent + d->delay_ns;
  if (d->jitter_ns > 0) {
    int64_t offset = jitter_offset(d, sent);
    due = (int64_t)due + offset < (int64_t)sent ? sent : (uint64_t)((int64_t)due + offset);
  }
  if (due < d->last_due) due = d->last_due;
  d->last_due = due;
  if (due <= now && d->count == 0) {
    deliver(d, data, len, due, now);
    return;
  }
  push(d, due, data, len);
}

static void print_direction(const char *name, direction_t *d) {
  uint64_t total = 0;
  for (int i = 0; i < LATE_BUCKETS; i++) total += d->late[i];
  int p50 = -1, p99 = -1, max = -1;
  uint64_t seen = 0;
  for (int i = 0; i < LATE_BUCKETS; i++) {
    if (d->late[i] == 0) continue;
    seen += d->late[i];
    if (p50 < 0 && seen * 2 >= total) p50 = i;
    if (p99 < 0 && seen * 100 >= total * 99) p99 = i;
    max = i;
  }
  printf("\"%s\":{\"packets\":%llu,\"bytes\":%llu,\"forwarded\":%llu,\"forwardedBytes\":%llu,\"lossDrops\":%llu,"
         "\"queueDrops\":%llu,\"writeErrors\":%llu,\"maxQueueBytes\":%llu,\"held\":%zu,"
         "\"lateUsP50\":%d,\"lateUsP99\":%d,\"lateUsMax\":%d}",
         name, (unsigned long long)d->packets, (unsigned long long)d->bytes, (unsigned long long)d->forwarded,
         (unsigned long long)d->forwarded_bytes, (unsigned long long)d->loss_drops, (unsigned long long)d->queue_drops,
         (unsigned long long)d->write_errors, (unsigned long long)d->max_queue_bytes, d->count, p50, p99, max);
}

static void reset_counters(direction_t *d) {
  d->packets = d->bytes = d->forwarded = d->forwarded_bytes = 0;
  d->loss_drops = d->queue_drops = d->write_errors = d->max_queue_bytes = 0;
  memset(d->late, 0, sizeof d->late);
}

static direction_t up, down;

/* Handles one command line; returns 0 on a bad command (reported on stdout as an error line). */
static int command(char *line) {
  char which[8];
  unsigned long long delay, jitter, rate, loss, queue, seed;
  if (sscanf(line, "set %7s %llu %llu %llu %llu %llu", which, &delay, &jitter, &rate, &loss, &queue) == 6) {
    direction_t *d = strcmp(which, "up") == 0 ? &up : strcmp(which, "down") == 0 ? &down : NULL;
    if (!d) return 0;
    d->delay_ns = delay;
    d->jitter_ns = jitter;
    d->rate_bps = rate;
    d->loss_ppb = loss;
    d->queue_bytes = queue;
    d->tx_free_at = 0;
    d->jitter_t0 = 0;
    printf("ok\n");
  } else if (sscanf(line, "seed %llu", &seed) == 1) {
    rng_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
    printf("ok\n");
  } else if (strncmp(line, "stats", 5) == 0) {
    printf("{");
    print_direction("up", &up);
    printf(",");
    print_direction("down", &down);
    printf(",\"realtime\":%s,\"lowLatencyIdle\":%s}\n", realtime ? "true" : "false", low_latency_idle ? "true" : "false");
  } else if (strncmp(line, "reset", 5) == 0) {
    reset_counters(&up);
    reset_counters(&down);
    printf("ok\n");
  } else {
    return 0;
  }
  fflush(stdout);
  return 1;
}

static unsigned char buffer[MAX_PACKET];

/* Reads what is waiting on a device (a batch at most, so the other direction is not starved). */
static void drain(direction_t *d) {
  for (int i = 0; i < READ_BATCH; i++) {
    ssize_t n = read(d->in_fd, buffer, sizeof buffer);
    if (n <= 0) return;
    accept_packet(d, buffer, (uint32_t)n, now_ns());
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: forwarder TUN_UP TUN_DOWN\n");
    return 2;
  }
  /* Wake-ups as close to their due time as the kernel allows (the default slack is 50 us). */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  /*
   * The link is not one of the contenders for the CPU: real-time priority lets
   * it run the moment a packet is due, ahead of the bench and the servers (it
   * only ever waits in ppoll, and the kernel's RT throttling bounds it anyway).
   * Without the privilege it runs as a normal process; "realtime" in the stats says which.
   */
  struct sched_param param = {.sched_priority = 10};
  realtime = sched_setscheduler(0, SCHED_FIFO, &param) == 0;
  /*
   * A halted vCPU takes ~1 ms to wake on a VM: a ping-pong through rtt=20ms
   * measured 22.4 ms with idle CPUs halting and 20.7 ms with them polling. While
   * the link exists, a PM QoS request of 0 us (held by keeping the fd open,
   * dropped when this process exits) keeps idle CPUs polling, as latency-tuned
   * hosts do; "lowLatencyIdle" in the stats says whether it was granted.
   */
  int qos = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  int32_t zero = 0;
  low_latency_idle = qos >= 0 && write(qos, &zero, sizeof zero) == sizeof zero;
  int a = open_tun(argv[1]);
  int b = open_tun(argv[2]);
  if (a < 0 || b < 0) return 1;
  up.in_fd = a;
  up.out_fd = b;
  down.in_fd = b;
  down.out_fd = a;
  printf("ready\n");
  fflush(stdout);

  char line[256];
  size_t line_len = 0;
  struct pollfd fds[3] = {{a, POLLIN, 0}, {b, POLLIN, 0}, {0, POLLIN, 0}};
  for (;;) {
    uint64_t now = now_ns();
    uint64_t next = UINT64_MAX;
    if (up.count > 0) next = up.ring[up.head].due;
    if (down.count > 0 && down.ring[down.head].due < next) next = down.ring[down.head].due;
    struct timespec timeout, *t = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next > now + EARLY_WAKE_NS ? next - now - EARLY_WAKE_NS : 0;
      timeout.tv_sec = (time_t)(wait / 1000000000ULL);
      timeout.tv_nsec = (long)(wait % 1000000000ULL);
      t = &timeout;
    }
    int ready = ppoll(fds, 3, t, NULL);
    if (ready < 0 && errno != EINTR) return 1;
    if (fds[0].revents & POLLIN) drain(&up);
    if (fds[1].revents & POLLIN) drain(&down);
    if (fds[2].revents) {
      ssize_t n = read(0, line + line_len, sizeof line - 1 - line_len);
      if (n <= 0) return 0;
      line_len += (size_t)n;
      line[line_len] = '\0';
      char *start = line, *end;
      while ((end = strchr(start, '\n')) != NULL) {
        *end = '\0';
        if (!command(start)) {
          printf("error: bad command \"%s\"\n", start);
          fflush(stdout);
        }
        start = end + 1;
      }
      line_len = strlen(start);
      memmove(line, start, line_len + 1);
      if (line_len >= sizeof line - 1) line_len = 0;
    }
    flush(&up);
    flush(&down);
  }
}
