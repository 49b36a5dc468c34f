/*
 * relay_common.h: what the two C relay baselines (relay.c, epoll; relay_uring.c,
 * io_uring) share: three processes connected by SOCK_SEQPACKET socketpairs,
 *
 *   client <--a--> relay <--b--> server
 *
 * the echoing server, the client (one request at a time, or a window of
 * --inflight N), the options and the clean-up. Each relay supplies only its
 * loop. Placement: same = all three on CPU 0; cross = client and server on
 * CPU 0, relay on CPU 1 (every hop crosses CPUs).
 */
#ifndef RELAY_COMMON_H
#define RELAY_COMMON_H

#include "bench_common.h"

#include <sys/wait.h>

/* The relay's loop: forwards between the two sockets until a side hangs up. */
typedef void (*relay_fn)(int client_fd, int server_fd, char *buf, int inflight);

struct relay_ctx {
    int fd;
    size_t size;
    char *buf;
};

/* Server: echo every message until the relay closes its end. */
static void relay_server_loop(int fd, char *buf)
{
    for (;;) {
        ssize_t n = recv(fd, buf, BENCH_MAX_SIZE, 0);
        if (n == 0)
            return;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("server recv");
        }
        if (send(fd, buf, (size_t)n, 0) != n)
            die("server send");
    }
}

static int relay_round_trip(void *p)
{
    struct relay_ctx *c = p;
    if (send(c->fd, c->buf, c->size, 0) != (ssize_t)c->size)
        return -1;
    return receive_echo(c->fd, c->buf, c->size);
}

static int relay_inflight = 1;

static void relay_inflight_option(int val, const char *arg)
{
    (void)val;
    relay_inflight = atoi(arg);
    if (relay_inflight < 1 || relay_inflight > 256) {
        fprintf(stderr, "--inflight must be between 1 and 256\n");
        exit(2);
    }
}

static int relay_wait_ok(pid_t pid)
{
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * The whole benchmark: parses the options, forks the server and the relay
 * (which runs `relay`), measures from the client and reports as `name` (or
 * `name`_inflightN with a window). Returns the process's exit status.
 */
static int run_relay(int argc, char **argv, const char *name, relay_fn relay)
{
    struct bench_opts o;
    static const struct option extra[] = {{"inflight", required_argument, 0, 'I'}, {0, 0, 0, 0}};
    parse_opts(argc, argv, &o, extra, relay_inflight_option, " [--inflight N]");

    int a[2], b[2]; /* a: client<->relay, b: relay<->server */
    seqpacket_pair(a);
    seqpacket_pair(b);
    char *buf = bench_buffer();

    fflush(stdout);
    pid_t server = fork();
    if (server < 0)
        die("fork server");
    if (server == 0) {
        close(a[0]); close(a[1]); close(b[0]);
        apply_pin(&o, 0);
        relay_server_loop(b[1], buf);
        _exit(0);
    }
    pid_t child = fork();
    if (child < 0)
        die("fork relay");
    if (child == 0) {
        close(a[0]); close(b[1]);
        apply_pin(&o, 1);
        relay(a[1], b[0], buf, relay_inflight);
        _exit(0); /* closing b[0] lets the server exit */
    }
    close(a[1]); close(b[0]); close(b[1]);
    apply_pin(&o, 0);

    if (relay_inflight > 1) {
        char result[48];
        snprintf(result, sizeof result, "%s_inflight%d", name, relay_inflight);
        run_pipelined(result, &o, a[0], buf, relay_inflight);
    } else {
        struct relay_ctx c = {.fd = a[0], .size = o.size, .buf = buf};
        run_bench(name, &o, relay_round_trip, &c);
    }

    close(a[0]); /* the relay sees EOF and exits; then the server does */
    int ok = relay_wait_ok(child);
    ok &= relay_wait_ok(server);
    if (!ok) {
        fprintf(stderr, "relay or server child failed\n");
        return 1;
    }
    return 0;
}

#endif
