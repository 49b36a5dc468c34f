/*
 * dbus_pingpong.c: D-Bus method-call round trip through a bus broker
 * (dbus-broker in the side-by-side runner), using sd-bus.
 *
 * A forked server connects to the bus, owns org.binder.Bench and exports
 * Echo(ay) -> ay on /org/binder/Bench. The client (parent) calls Echo with a
 * SIZE-byte array and waits for the reply; one call in flight at a time.
 * Each round trip is client -> broker -> server -> broker -> client, plus
 * sd-bus marshalling on both ends.
 *
 *   dbus_pingpong [--address unix:path=…] --size 32 --seconds 3 --pin same|cross|any
 *
 * The bus address defaults to $DBUS_SESSION_BUS_ADDRESS. Placement: same =
 * client and server on CPU 0; cross = client CPU 0, server CPU 1. Where the
 * broker runs is up to whoever started it (the runner pins it).
 *
 * Build: cc -O2 dbus_pingpong.c $(pkg-config --cflags --libs libsystemd)
 */
#include "bench_common.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>

#define BUS_NAME "org.binder.Bench"
#define OBJ_PATH "/org/binder/Bench"
#define IFACE "org.binder.Bench"

static const char *address;

struct ctx {
    sd_bus *bus;
    size_t size;
    const char *buf;
};

static void die_r(const char *what, int r)
{
    fprintf(stderr, "%s: %s\n", what, strerror(-r));
    exit(1);
}

static sd_bus *connect_bus(void)
{
    sd_bus *bus = NULL;
    int r;
    if ((r = sd_bus_new(&bus)) < 0)
        die_r("sd_bus_new", r);
    if ((r = sd_bus_set_address(bus, address)) < 0)
        die_r("sd_bus_set_address", r);
    if ((r = sd_bus_set_bus_client(bus, 1)) < 0)
        die_r("sd_bus_set_bus_client", r);
    if ((r = sd_bus_start(bus)) < 0)
        die_r("sd_bus_start (is the bus address right?)", r);
    return bus;
}

/* Server side of Echo: reply with the same byte array. */
static int method_echo(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
    (void)userdata;
    (void)err;
    const void *data;
    size_t len;
    sd_bus_message *reply = NULL;
    int r = sd_bus_message_read_array(m, 'y', &data, &len);
    if (r < 0)
        return r;
    if ((r = sd_bus_message_new_method_return(m, &reply)) < 0)
        return r;
    if ((r = sd_bus_message_append_array(reply, 'y', data, len)) >= 0)
        r = sd_bus_send(NULL, reply, NULL);
    sd_bus_message_unref(reply);
    return r < 0 ? r : 1;
}

static const sd_bus_vtable echo_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Echo", "ay", "ay", method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

/* Child: serve Echo forever (the parent ends us with SIGTERM). */
static void server_main(int ready_fd)
{
    sd_bus *bus = connect_bus();
    int r;
    if ((r = sd_bus_add_object_vtable(bus, NULL, OBJ_PATH, IFACE, echo_vtable, NULL)) < 0)
        die_r("sd_bus_add_object_vtable", r);
    if ((r = sd_bus_request_name(bus, BUS_NAME, 0)) < 0)
        die_r("sd_bus_request_name", r);
    /* The name is owned: tell the parent it can start calling. */
    if (write(ready_fd, "r", 1) != 1)
        die("write ready");
    close(ready_fd);
    for (;;) {
        r = sd_bus_process(bus, NULL);
        if (r < 0)
            die_r("sd_bus_process", r);
        if (r > 0)
            continue;
        r = sd_bus_wait(bus, UINT64_MAX);
        if (r < 0 && r != -EINTR)
            die_r("sd_bus_wait", r);
    }
}

static int round_trip(void *p)
{
    struct ctx *c = p;
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    const void *data;
    size_t len = 0;
    int r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, OBJ_PATH, IFACE, "Echo");
    if (r >= 0)
        r = sd_bus_message_append_array(m, 'y', c->buf, c->size);
    if (r >= 0)
        r = sd_bus_call(c->bus, m, 0, &err, &reply);
    if (r >= 0)
        r = sd_bus_message_read_array(reply, 'y', &data, &len);
    if (r >= 0 && len != c->size)
        r = -EPROTO;
    if (r < 0)
        fprintf(stderr, "Echo failed: %s\n", err.message ? err.message : strerror(-r));
    sd_bus_error_free(&err);
    sd_bus_message_unref(m);
    sd_bus_message_unref(reply);
    errno = r < 0 ? -r : 0;
    return r < 0 ? -1 : 0;
}

static void on_extra(int c, const char *arg)
{
    if (c == 'a')
        address = arg;
}

int main(int argc, char **argv)
{
    static const struct option extra[] = {
        {"address", required_argument, NULL, 'a'},
        {0, 0, 0, 0},
    };
    struct bench_opts o;
    parse_opts(argc, argv, &o, extra, on_extra, " [--address DBUS_ADDRESS]");
    if (!address)
        address = getenv("DBUS_SESSION_BUS_ADDRESS");
    if (!address) {
        fprintf(stderr, "no bus: pass --address or set DBUS_SESSION_BUS_ADDRESS\n");
        return 2;
    }

    char *buf = malloc(o.size);
    if (!buf)
        die("malloc");
    memset(buf, 'x', o.size);

    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        die("pipe2");
    fflush(stdout);
    pid_t server = fork();
    if (server < 0)
        die("fork");
    if (server == 0) {
        close(ready[0]);
        apply_pin(&o, 1);
        server_main(ready[1]);
        _exit(1);
    }
    close(ready[1]);
    apply_pin(&o, 0);

    /* Block until the server owns its name (or died trying). */
    char byte;
    if (read(ready[0], &byte, 1) != 1) {
        fprintf(stderr, "dbus server failed to start\n");
        waitpid(server, NULL, 0);
        return 1;
    }
    close(ready[0]);

    struct ctx c = {.bus = connect_bus(), .size = o.size, .buf = buf};
    run_bench("dbus", &o, round_trip, &c);
    sd_bus_flush_close_unref(c.bus);

    int status;
    kill(server, SIGTERM);
    if (waitpid(server, &status, 0) != server ||
        !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)) {
        fprintf(stderr, "dbus server exited unexpectedly\n");
        return 1;
    }
    return 0;
}
