/*
 * seqpacket_pingpong.c: the floor for a message round trip between two
 * processes over AF_UNIX SOCK_SEQPACKET (no broker in between).
 *
 * The parent sends one SIZE-byte message, the child echoes it back, the
 * parent waits for the echo; one message in flight at a time.
 *
 *   seqpacket_pingpong --size 32 --seconds 3 --pin same|cross|any [--fds N]
 *
 * With --fds N (1..16) every request also carries N fds as SCM_RIGHTS (copies
 * of a pipe's read end); the child closes them and echoes without fds. The
 * result is named seqpacket_Nfd: the raw cost of passing fds, next to what a
 * routed call with fds costs (binder bench --fds N, named routed_Nfd).
 *
 * Placement: same = both on CPU 0; cross = parent CPU 0, child CPU 1.
 */
#include "bench_common.h"

#include <fcntl.h>
#include <sys/wait.h>

struct ctx {
    int fd;
    size_t size;
    char *buf;
    int nfds;        /* fds sent with each request */
    int fds[16];
};

static int opt_fds;

static void fds_option(int val, const char *arg)
{
    (void)val;
    opt_fds = atoi(arg);
    if (opt_fds < 1 || opt_fds > 16) {
        fprintf(stderr, "--fds must be between 1 and 16\n");
        exit(2);
    }
}

/* Control buffer big enough for 16 fds. */
union fd_control {
    char buf[CMSG_SPACE(sizeof(int) * 16)];
    struct cmsghdr align;
};

/* Child: echo every message until the parent closes its end; fds that came
 * with a message are closed before the echo goes back. */
static void echo_loop(int fd, char *buf)
{
    for (;;) {
        union fd_control control;
        struct iovec iov = {.iov_base = buf, .iov_len = BENCH_MAX_SIZE};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
        ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (n == 0)
            return;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("child recvmsg");
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            int received[16];
            memcpy(received, CMSG_DATA(c), sizeof(int) * (size_t)count);
            for (int i = 0; i < count; i++)
                close(received[i]);
        }
        if (send(fd, buf, (size_t)n, 0) != n)
            die("child send");
    }
}

/* Sends one request, with the context's fds as SCM_RIGHTS when it has any. */
static ssize_t send_request(struct ctx *c)
{
    if (c->nfds == 0)
        return send(c->fd, c->buf, c->size, 0);
    union fd_control control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = c->buf, .iov_len = c->size};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)c->nfds)};
    struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)c->nfds);
    memcpy(CMSG_DATA(h), c->fds, sizeof(int) * (size_t)c->nfds);
    return sendmsg(c->fd, &msg, 0);
}

static int round_trip(void *p)
{
    struct ctx *c = p;
    if (send_request(c) != (ssize_t)c->size)
        return -1;
    return receive_echo(c->fd, c->buf, c->size);
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    static const struct option extra[] = {{"fds", required_argument, 0, 'F'}, {0, 0, 0, 0}};
    parse_opts(argc, argv, &o, extra, fds_option, " [--fds N]");

    int sv[2];
    seqpacket_pair(sv);
    char *buf = bench_buffer();

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

    struct ctx c = {.fd = sv[0], .size = o.size, .buf = buf, .nfds = opt_fds};
    char name[32] = "seqpacket";
    if (opt_fds > 0) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) != 0)
            die("pipe2");
        for (int i = 0; i < opt_fds; i++)
            c.fds[i] = pipefd[0];
        snprintf(name, sizeof name, "seqpacket_%dfd", opt_fds);
    }
    run_bench(name, &o, round_trip, &c);

    close(sv[0]); /* child sees EOF and exits */
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "echo child failed\n");
        return 1;
    }
    return 0;
}
