/*
 * relay.c: the "C relay" baseline, i.e. what a minimal one-thread broker
 * costs. Three processes connected by SOCK_SEQPACKET socketpairs:
 *
 *   client <--a--> relay <--b--> server
 *
 * The client sends one SIZE-byte request and waits for the reply; the relay
 * is a single thread in a level-triggered epoll loop that, for each readable
 * socket, does one recv and one blocking send to the other side (no batching,
 * no io_uring); the server echoes. One request in flight at a time.
 *
 *   relay --size 32 --seconds 3 --pin same|cross|any [--inflight N]
 *
 * With --inflight N (2..256) the client keeps N requests outstanding (one
 * more sent for every reply) and the result, named c_relay_inflightN, reports
 * the calls per second that window sustains and each request's latency.
 *
 * Placement: same = all three on CPU 0; cross = client and server on CPU 0,
 * relay on CPU 1 (every hop crosses CPUs).
 */
#include "bench_common.h"

#include <sys/epoll.h>
#include <sys/wait.h>

struct ctx {
    int fd;
    size_t size;
    char *buf;
};

/* Server: echo every message until the relay closes its end. */
static void server_loop(int fd, char *buf)
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

/*
 * Relay: forward each message from one socket to the other. Returns when
 * either side hangs up (the client closing ends the run).
 */
static void relay_loop(int client_fd, int server_fd, char *buf)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    int fds[2] = {client_fd, server_fd};
    for (int i = 0; i < 2; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0)
            die("epoll_ctl");
    }
    for (;;) {
        struct epoll_event evs[2];
        int n = epoll_wait(ep, evs, 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int from = evs[i].data.fd;
            int to = from == client_fd ? server_fd : client_fd;
            ssize_t len = recv(from, buf, BENCH_MAX_SIZE, 0);
            if (len == 0)
                return; /* peer closed */
            if (len < 0) {
                if (errno == EINTR || errno == EAGAIN)
                    continue;
                die("relay recv");
            }
            if (send(to, buf, (size_t)len, 0) != len)
                die("relay send");
        }
    }
}

static int round_trip(void *p)
{
    struct ctx *c = p;
    if (send(c->fd, c->buf, c->size, 0) != (ssize_t)c->size)
        return -1;
    ssize_t n = recv(c->fd, c->buf, BENCH_MAX_SIZE, 0);
    if (n != (ssize_t)c->size) {
        if (n >= 0)
            errno = EPROTO;
        return -1;
    }
    return 0;
}

static int opt_inflight = 1;

static void inflight_option(int val, const char *arg)
{
    (void)val;
    opt_inflight = atoi(arg);
    if (opt_inflight < 1 || opt_inflight > 256) {
        fprintf(stderr, "--inflight must be between 1 and 256\n");
        exit(2);
    }
}

static int wait_ok(pid_t pid)
{
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    static const struct option extra[] = {{"inflight", required_argument, 0, 'I'}, {0, 0, 0, 0}};
    parse_opts(argc, argv, &o, extra, inflight_option, " [--inflight N]");

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
        server_loop(b[1], buf);
        _exit(0);
    }
    pid_t relay = fork();
    if (relay < 0)
        die("fork relay");
    if (relay == 0) {
        close(a[0]); close(b[1]);
        apply_pin(&o, 1);
        relay_loop(a[1], b[0], buf);
        _exit(0); /* closing b[0] lets the server exit */
    }
    close(a[1]); close(b[0]); close(b[1]);
    apply_pin(&o, 0);

    struct ctx c = {.fd = a[0], .size = o.size, .buf = buf};
    if (opt_inflight > 1) {
        char name[32];
        snprintf(name, sizeof name, "c_relay_inflight%d", opt_inflight);
        run_pipelined(name, &o, a[0], buf, opt_inflight);
    } else {
        run_bench("c_relay", &o, round_trip, &c);
    }

    close(a[0]); /* relay sees EOF, exits, server sees EOF, exits */
    int ok = wait_ok(relay);
    ok &= wait_ok(server);
    if (!ok) {
        fprintf(stderr, "relay or server child failed\n");
        return 1;
    }
    return 0;
}
