/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Spawn option reader (spawn-args.c): the input is Spawn's options
 * a{sv} as marshalled on the wire. It goes into a real Spawn call,
 * (aay argv, a{ss} env, a{uh} fds, a{sv} options), after a fixed argv,
 * env and fd map; the message is written raw to an sd-bus server
 * connection, which unmarshals and checks it as the daemon's bus
 * connection would (an invalid message is dropped there); what arrives is
 * read by spawn_args_parse() with the default configuration. The corpus
 * seeds come from make-spawn-options-corpus.py. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-config.h"
#include "fuzz.h"
#include "log.h"
#include "spawn-args.h"

#define SPAWN_SIGNATURE "aaya{ss}a{uh}a{sv}"
#define SPAWN_OPTIONS_MAX_INPUT (64 * 1024)

static sd_bus *server;
static int client_fd = -1;
static uint32_t serial;
static sd_bus_message *received;

_noreturn_ static void die(const char *what, int r) {
        fprintf(stderr, "fuzz-spawn-options: %s: %s\n", what, strerror(r < 0 ? -r : r));
        abort();
}

static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        if (sd_bus_message_is_method_call(m, "org.pidbroker.Broker1", "Spawn"))
                received = sd_bus_message_ref(m);
        return 1;
}

static void write_all(const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(client_fd, p, n);
                if (k < 0 && errno == EAGAIN) {
                        /* The server reads while we write. */
                        if (sd_bus_process(server, NULL) < 0)
                                return;
                        continue;
                }
                if (k <= 0)
                        die("write", -errno);
                p += k;
                n -= (size_t) k;
        }
}

/* An authenticated peer-to-peer connection: sd-bus as the server, us as
 * a raw client that speaks SASL EXTERNAL and then writes messages. */
static void connect_server(void) {
        sd_id128_t id;
        char auth[64], hex[32];
        int s[2], r;

        server = sd_bus_flush_close_unref(server);
        if (client_fd >= 0)
                close(client_fd);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, s) < 0)
                die("socketpair", -errno);
        client_fd = s[1];
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_new(&server);
        if (r >= 0)
                r = sd_bus_set_fd(server, s[0], s[0]);
        if (r >= 0)
                r = sd_bus_set_server(server, 1, id);
        if (r >= 0)
                r = sd_bus_add_filter(server, NULL, on_message, NULL);
        if (r >= 0)
                r = sd_bus_start(server);
        if (r < 0)
                die("sd-bus server", r);

        snprintf(hex, sizeof hex, "%u", (unsigned) getuid());
        int n = snprintf(auth, sizeof auth, "%cAUTH EXTERNAL ", 0);
        for (const char *c = hex; *c; c++)
                n += snprintf(auth + n, sizeof auth - (size_t) n, "%02x", (unsigned) *c);
        n += snprintf(auth + n, sizeof auth - (size_t) n, "\r\nBEGIN\r\n");
        write_all((const uint8_t *) auth, (size_t) n);
        for (int i = 0; i < 1000 && sd_bus_is_ready(server) <= 0; i++) {
                char buf[256];
                r = sd_bus_process(server, NULL);
                if (r < 0)
                        die("authentication", r);
                (void) read(client_fd, buf, sizeof buf); /* "OK <guid>" */
                if (r == 0)
                        (void) sd_bus_wait(server, 10000);
        }
        if (sd_bus_is_ready(server) <= 0)
                die("authentication", -ETIMEDOUT);
}

static void put(uint8_t *b, size_t *n, const void *p, size_t len) {
        memcpy(b + *n, p, len);
        *n += len;
}

static void pad(uint8_t *b, size_t *n, size_t a) {
        while (*n % a)
                b[(*n)++] = 0;
}

static void put_u32(uint8_t *b, size_t *n, uint32_t v) {
        pad(b, n, 4);
        put(b, n, &v, 4);
}

/* Header field code, type, string value (o, s or g). */
static void put_field(uint8_t *b, size_t *n, uint8_t code, char type, const char *v) {
        size_t len = strlen(v);
        pad(b, n, 8);
        b[(*n)++] = code;
        b[(*n)++] = 1;
        b[(*n)++] = (uint8_t) type;
        b[(*n)++] = 0;
        if (type == 'g')
                b[(*n)++] = (uint8_t) len;
        else
                put_u32(b, n, (uint32_t) len);
        put(b, n, v, len + 1);
}

/* argv ["/bin/true"], env {}, fds {}: 32 bytes, so the options start at
 * an 8-aligned offset of the body, as in the seeds. */
static size_t put_prefix(uint8_t *b) {
        static const char arg0[] = "/bin/true";
        size_t n = 0;
        put_u32(b, &n, 4 + (uint32_t) strlen(arg0));
        put_u32(b, &n, (uint32_t) strlen(arg0));
        put(b, &n, arg0, strlen(arg0));
        put_u32(b, &n, 0); /* a{ss} */
        pad(b, &n, 8);
        put_u32(b, &n, 0); /* a{uh} */
        pad(b, &n, 8);
        return n;
}

static void send_spawn(const uint8_t *data, size_t size) {
        static uint8_t msg[SPAWN_OPTIONS_MAX_INPUT + 512];
        uint8_t body_prefix[64];
        size_t n = 0, fields_at, prefix_len = put_prefix(body_prefix);
        uint32_t body_len = (uint32_t) (prefix_len + size);

        msg[n++] = 'l';
        msg[n++] = 1; /* METHOD_CALL */
        msg[n++] = 0;
        msg[n++] = 1;
        put_u32(msg, &n, body_len);
        put_u32(msg, &n, ++serial ?: ++serial);
        put_u32(msg, &n, 0); /* header fields length, below */
        fields_at = n;
        put_field(msg, &n, 1, 'o', "/org/pidbroker/Broker1");
        put_field(msg, &n, 2, 's', "org.pidbroker.Broker1");
        put_field(msg, &n, 3, 's', "Spawn");
        put_field(msg, &n, 8, 'g', SPAWN_SIGNATURE);
        uint32_t fields_len = (uint32_t) (n - fields_at);
        memcpy(msg + 12, &fields_len, 4);
        pad(msg, &n, 8);
        put(msg, &n, body_prefix, prefix_len);
        put(msg, &n, data, size);
        write_all(msg, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Config config;
        SpawnArgs args;
        int r;

        if (size > SPAWN_OPTIONS_MAX_INPUT)
                return 0;
        log_setup(LOG_TARGET_STDERR, LOG_EMERG);
        if (!server || sd_bus_is_open(server) <= 0)
                connect_server();

        send_spawn(data, size);
        /* Until the message is read: handed to the filter, or dropped as
         * invalid (nothing left to do). */
        while (!received) {
                r = sd_bus_process(server, NULL);
                if (r < 0) {
                        connect_server(); /* a connection sd-bus gave up on */
                        return 0;
                }
                if (r == 0)
                        break;
        }
        if (!received)
                return 0;

        config_init(&config);
        r = spawn_args_parse(received, &config, &args, &error);
        /* A refusal says why: a named D-Bus error, or an errno from the
         * message reader (a fd index the message does not carry, ...). */
        if (r < 0 && sd_bus_error_is_set(&error) && strncmp(error.name, "org.pidbroker.Error.", 20) != 0)
                abort();
        if (r >= 0) {
                const char *reason = NULL;
                if (!args.req.argv || !args.req.argv[0] || strcmp(args.req.argv[0], "/bin/true") != 0)
                        abort();
                (void) spawn_request_validate(&args.req, &reason);
                spawn_args_done(&args);
        }
        config_done(&config);
        received = sd_bus_message_unref(received);
        return 0;
}
