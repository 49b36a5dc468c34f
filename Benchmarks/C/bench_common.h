/*
 * bench_common.h: shared helpers for the C baselines (header-only).
 *
 * Every baseline measures one round trip at a time, records each round trip
 * in a preallocated array of nanosecond samples, sorts it at the end and
 * prints exactly one JSON line:
 *
 *   {"name":"…","size":N,"p50_us":…,"p99_us":…,"p999_us":…,
 *    "ops_per_s":…,"placement":"same|cross|any"}
 *
 * Percentiles are exact (nearest rank over all recorded samples).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_SIZE (1 << 20)       /* largest message we accept */
#define BENCH_SOCKBUF (4 << 20)        /* SO_SNDBUF/SO_RCVBUF request */
#define BENCH_WARMUP_NS 300000000ull   /* 0.3 s of warm-up round trips */

struct bench_opts {
    size_t size;
    double seconds;
    const char *pin; /* "same", "cross" or "any" */
};

static inline void die(const char *what)
{
    perror(what);
    exit(1);
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void usage(const char *prog, const char *extra)
{
    fprintf(stderr,
            "usage: %s [--size BYTES] [--seconds S] [--pin same|cross|any]%s\n",
            prog, extra ? extra : "");
    exit(2);
}

/*
 * Parses the common options. `extra` (may be NULL) lists program-specific
 * long options; when one is seen, `extra_cb` gets its `val` and argument.
 */
static inline void parse_opts(int argc, char **argv, struct bench_opts *o,
                       const struct option *extra, void (*extra_cb)(int, const char *),
                       const char *extra_usage)
{
    struct option longopts[16] = {
        {"size", required_argument, NULL, 's'},
        {"seconds", required_argument, NULL, 't'},
        {"pin", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
    };
    int n = 4;
    for (int i = 0; extra && extra[i].name && n < 15; i++)
        longopts[n++] = extra[i];
    memset(&longopts[n], 0, sizeof longopts[n]);

    o->size = 32;
    o->seconds = 3.0;
    o->pin = "same";
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->size = strtoull(optarg, NULL, 10); break;
        case 't': o->seconds = strtod(optarg, NULL); break;
        case 'p': o->pin = optarg; break;
        case 'h': usage(argv[0], extra_usage); break;
        case '?': usage(argv[0], extra_usage); break;
        default:
            if (extra_cb)
                extra_cb(c, optarg);
            else
                usage(argv[0], extra_usage);
        }
    }
    if (o->size < 1 || o->size > BENCH_MAX_SIZE || !(o->seconds > 0))
        usage(argv[0], extra_usage);
    if (strcmp(o->pin, "same") && strcmp(o->pin, "cross") && strcmp(o->pin, "any"))
        usage(argv[0], extra_usage);
    if (!strcmp(o->pin, "cross") && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        fprintf(stderr, "--pin cross needs at least 2 CPUs\n");
        exit(2);
    }
}

/*
 * The message buffer every baseline uses: BENCH_MAX_SIZE bytes, page-aligned
 * and filled. Page alignment matters: a malloc'd buffer starts 16 bytes into
 * a page, and the kernel's copy into and out of a misaligned buffer cost the
 * epoll relay's 64 KiB round trip about a third more (perf: _copy_to_iter).
 */
static inline char *bench_buffer(void)
{
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, BENCH_MAX_SIZE) != 0)
        die("posix_memalign");
    memset(buf, 'x', BENCH_MAX_SIZE);
    return buf;
}

/*
 * Receives the echo of a SIZE-byte request on `fd` into `buf`: 0, or -1 with
 * errno set (EPROTO for an echo of another length).
 */
static inline int receive_echo(int fd, char *buf, size_t size)
{
    ssize_t n = recv(fd, buf, BENCH_MAX_SIZE, 0);
    if (n != (ssize_t)size) {
        if (n >= 0)
            errno = EPROTO;
        return -1;
    }
    return 0;
}

/* Pins the calling process to one CPU. */
static inline void pin_to_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        die("sched_setaffinity");
}

/*
 * Placement helper: `role_cpu` is the CPU this process should use under
 * --pin cross; under --pin same everything goes on CPU 0; under --pin any
 * nothing is pinned.
 */
static inline void apply_pin(const struct bench_opts *o, int role_cpu)
{
    if (!strcmp(o->pin, "same"))
        pin_to_cpu(0);
    else if (!strcmp(o->pin, "cross"))
        pin_to_cpu(role_cpu);
}

static inline void set_sockbufs(int fd)
{
    int v = BENCH_SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) != 0)
        die("SO_SNDBUF");
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) != 0)
        die("SO_RCVBUF");
}

/* A SOCK_SEQPACKET socketpair with large buffers on both ends. */
static inline void seqpacket_pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair");
    set_sockbufs(sv[0]);
    set_sockbufs(sv[1]);
}

/* ---- sample recording ---- */

struct samples {
    uint32_t *ns; /* one round trip each, in nanoseconds */
    size_t len, cap;
};

/*
 * Preallocates (and touches) room for `seconds` at up to 500 k round trips/s,
 * well above the fastest socket round trip here (~190 k/s), so the measured
 * loop never allocates; 2 MB per second of measurement.
 */
static inline void samples_init(struct samples *s, double seconds)
{
    s->cap = (size_t)(seconds * 5e5) + 4096;
    s->len = 0;
    s->ns = malloc(s->cap * sizeof *s->ns);
    if (!s->ns)
        die("malloc samples");
    memset(s->ns, 0, s->cap * sizeof *s->ns); /* fault pages in now */
}

static inline void samples_add(struct samples *s, uint64_t ns)
{
    if (s->len == s->cap) { /* unexpected: grow rather than drop */
        s->cap *= 2;
        s->ns = realloc(s->ns, s->cap * sizeof *s->ns);
        if (!s->ns)
            die("realloc samples");
    }
    s->ns[s->len++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static inline int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (p in 0..1) of sorted samples, in microseconds. */
static inline double pct_us(const struct samples *s, double p)
{
    size_t rank = (size_t)(p * (double)s->len + 0.999999999); /* ceil */
    if (rank < 1)
        rank = 1;
    if (rank > s->len)
        rank = s->len;
    return s->ns[rank - 1] / 1000.0;
}

/* Sorts the samples and prints the one-line JSON result. */
static inline void report_json(const char *name, const struct bench_opts *o,
                        struct samples *s, uint64_t elapsed_ns)
{
    if (s->len == 0) {
        fprintf(stderr, "%s: no samples recorded\n", name);
        exit(1);
    }
    qsort(s->ns, s->len, sizeof *s->ns, cmp_u32);
    printf("{\"name\":\"%s\",\"size\":%zu,\"p50_us\":%.2f,\"p99_us\":%.2f,"
           "\"p999_us\":%.2f,\"ops_per_s\":%.0f,\"placement\":\"%s\"}\n",
           name, o->size, pct_us(s, 0.50), pct_us(s, 0.99), pct_us(s, 0.999),
           (double)s->len * 1e9 / (double)elapsed_ns, o->pin);
    fflush(stdout);
}

/*
 * Drives `round_trip` (one request + its reply; returns 0 on success) for a
 * warm-up period and then for o->seconds, recording each round trip, and
 * prints the result.
 */
static inline void run_bench(const char *name, const struct bench_opts *o,
                      int (*round_trip)(void *), void *ctx)
{
    struct samples s;
    samples_init(&s, o->seconds);

    uint64_t warm_end = now_ns() + BENCH_WARMUP_NS;
    while (now_ns() < warm_end)
        if (round_trip(ctx) != 0)
            die("warm-up round trip");

    uint64_t start = now_ns();
    uint64_t end = start + (uint64_t)(o->seconds * 1e9);
    uint64_t t0 = start, t1;
    do {
        if (round_trip(ctx) != 0)
            die("round trip");
        t1 = now_ns();
        samples_add(&s, t1 - t0);
        t0 = t1;
    } while (t1 < end);

    report_json(name, o, &s, t1 - start);
    free(s.ns);
}

/*
 * Pipelined: keeps `inflight` requests of o->size bytes outstanding on `fd`
 * (send `inflight`, then one more for every reply) for a warm-up period and
 * then for o->seconds, recording each request's send-to-reply time (replies
 * come back in order on one path), and prints the result as `name`. Sizes
 * whose window does not fit the sockets' buffers would block both ways: use
 * small messages.
 */
static inline void run_pipelined(const char *name, const struct bench_opts *o, int fd, char *buf, int inflight)
{
    struct samples s;
    samples_init(&s, o->seconds);
    uint64_t sent_at[256];
    unsigned head = 0, tail = 0; /* sent_at[tail % 256 .. head % 256): outstanding */
    uint64_t warm_end = now_ns() + BENCH_WARMUP_NS;
    uint64_t start = 0, end = 0, last = 0;
    for (int i = 0; i < inflight; i++) {
        sent_at[head++ % 256] = now_ns();
        if (send(fd, buf, o->size, 0) != (ssize_t)o->size)
            die("pipelined send");
    }
    for (;;) {
        ssize_t n = recv(fd, buf, BENCH_MAX_SIZE, 0);
        if (n != (ssize_t)o->size) {
            if (n < 0 && errno == EINTR)
                continue;
            die("pipelined recv");
        }
        uint64_t t = now_ns();
        uint64_t t0 = sent_at[tail++ % 256];
        if (start == 0 && t >= warm_end) {
            start = t;
            end = start + (uint64_t)(o->seconds * 1e9);
        } else if (start != 0) {
            samples_add(&s, t - t0);
            last = t;
        }
        if (start != 0 && t >= end) {
            if (tail == head)
                break; /* every reply is in */
            continue;  /* drain the window */
        }
        sent_at[head++ % 256] = now_ns();
        if (send(fd, buf, o->size, 0) != (ssize_t)o->size)
            die("pipelined send");
    }
    report_json(name, o, &s, last - start);
    free(s.ns);
}

#endif
