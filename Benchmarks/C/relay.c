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
#include "relay_common.h"

#include <sys/epoll.h>

/*
 * Relay: forward each message from one socket to the other. Returns when
 * either side hangs up (the client closing ends the run).
 */
static void relay_loop(int client_fd, int server_fd, char *buf, int inflight)
{
    (void)inflight; /* one recv and one send per readable socket, whatever the window */
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

int main(int argc, char **argv)
{
    return run_relay(argc, argv, "c_relay", relay_loop);
}
