// binder-init: PID 1 of a container (started by binderd, see cbinder_container_spawn).
//
// A PID namespace's first process must reap the orphans re-parented to it, or they stay zombies.
// This one does only that: it waits for SIGCHLD (reaping every exited child) and exits on SIGTERM
// or SIGINT, which ends the container (the kernel kills what is left in its PID namespace).
// Written in C: it is tiny, and a Swift runtime (~10 MB, threads) would be the bulk of every
// container for no benefit.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    prctl(PR_SET_NAME, "binder-init", 0, 0, 0);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGTERM || sig == SIGINT) return 0;
        while (waitpid(-1, NULL, WNOHANG) > 0) {}
    }
}
