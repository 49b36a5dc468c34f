/*
 * seqpacket_pingpong.c: the floor for a message round trip between two
 * processes over AF_UNIX SOCK_SEQPACKET (no broker in between).
 *
 * The parent sends one SIZE-byte message, the child echoes it back, the
 * parent waits for the echo; one message in flight at a time.
 *
 *   seqpacket_pingpong --size 32 --seconds 3 --pin same|cross|any
 *
 * Placement: same = both on CPU 0; cross = parent CPU 0, child CPU 1.
 */
#include "bench_common.h"

#include <sys/wait.h>

struct ctx {
    int fd;
    size_t size;
    char *buf;
};

/* Child: echo every message until the parent closes its end. */
static void echo_loop(int fd, char *buf)
{
    for (;;) {
        ssize_t n = recv(fd, buf, BENCH_MAX_SIZE, 0);
        if (n == 0)
            return;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("child recv");
        }
        if (send(fd, buf, (size_t)n, 0) != n)
            die("child send");
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

int main(int argc, char **argv)
{
    struct bench_opts o;
    parse_opts(argc, argv, &o, NULL, NULL, NULL);

    int sv[2];
    seqpacket_pair(sv);
    char *buf = malloc(BENCH_MAX_SIZE);
    if (!buf)
        die("malloc");
    memset(buf, 'x', BENCH_MAX_SIZE);

    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        close(sv[0]);
        apply_pin(&o, 1);
        echo_loop(sv[1], buf);
        _exit(0);
    }
    close(sv[1]);
    apply_pin(&o, 0);

    struct ctx c = {.fd = sv[0], .size = o.size, .buf = buf};
    run_bench("seqpacket", &o, round_trip, &c);

    close(sv[0]); /* child sees EOF and exits */
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "echo child failed\n");
        return 1;
    }
    return 0;
}
