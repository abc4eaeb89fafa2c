/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* run --pty: a pseudo-terminal whose slave the workload gets as 0, 1, 2 and
 * its controlling terminal, relayed to ours by the event loop of run --wait:
 * our input to the master, the master's output to our stdout, our window
 * size to the master on SIGWINCH. Our terminal is raw meanwhile, so ^C, ^Z
 * and ^\ are bytes that the pty's line discipline turns into signals for
 * the workload's foreground process group, as on a local terminal. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctl-pty.h"
#include "ctl.h"

int pty_open(Pty *p) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        const char *name;

        *p = (Pty) { .master = -EBADF, .slave = -EBADF };
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return -errno;
        if (grantpt(master) < 0 || unlockpt(master) < 0)
                return -errno;
        name = ptsname(master);
        if (!name)
                return -errno;
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        /* Reads of the master must never block the loop. */
        if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0)
                return -errno;
        p->master = TAKE_FD(master);
        p->slave = TAKE_FD(slave);
        pty_copy_window_size(p);
        return 0;
}

void pty_copy_window_size(Pty *p) {
        struct winsize ws;

        /* Whichever of ours is a terminal; none: the kernel's default. */
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        (void) ioctl(p->master, TIOCSWINSZ, &ws);
}

static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);

                if (k < 0) {
                        struct pollfd pfd = { .fd = fd, .events = POLLOUT };

                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        (void) poll(&pfd, 1, -1);
                        continue;
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Copy what the master has now to stdout; 0 at EAGAIN, -EIO once no slave
 * is open any more (the workload and its children are gone). */
static int copy_master_output(Pty *p) {
        char buf[4096];

        for (;;) {
                ssize_t n = read(p->master, buf, sizeof buf);

                if (n > 0) {
                        if (write_all(STDOUT_FILENO, buf, (size_t) n) < 0)
                                return -EPIPE;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                return -EIO;
        }
}

static int on_master(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Pty *p = userdata;

        if (copy_master_output(p) < 0)
                p->master_source = sd_event_source_disable_unref(p->master_source);
        return 0;
}

static int on_stdin(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Pty *p = userdata;
        char buf[4096];
        ssize_t n;

        n = read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n < 0) {
                /* E.g. EIO in the background of a shell (SIGTTIN is
                 * forwarded, not obeyed): stop reading, end nothing. */
                p->stdin_source = sd_event_source_disable_unref(p->stdin_source);
                return 0;
        }
        if (n == 0) {
                struct termios t;
                char eof = 4;

                /* Our input ended: the workload reads end-of-file too, as
                 * ^D at the start of a line. */
                if (tcgetattr(p->master, &t) >= 0)
                        eof = (char) t.c_cc[VEOF];
                (void) write_all(p->master, &eof, 1);
                p->stdin_source = sd_event_source_disable_unref(p->stdin_source);
                return 0;
        }
        if (write_all(p->master, buf, (size_t) n) < 0)
                p->stdin_source = sd_event_source_disable_unref(p->stdin_source);
        return 0;
}

int pty_attach(Pty *p, sd_event *event) {
        int r;

        /* The workload has its copies; ours would keep the master from
         * ever seeing the end. */
        p->slave = safe_close(p->slave);

        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &p->saved) >= 0) {
                struct termios raw = p->saved;

                cfmakeraw(&raw);
                if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) >= 0)
                        p->raw = true;
        }

        r = sd_event_add_io(event, &p->master_source, p->master, EPOLLIN, on_master, p);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, &p->stdin_source, STDIN_FILENO, EPOLLIN, on_stdin, p);
        if (r == -EPERM)
                r = 0; /* a regular file or /dev/null cannot be polled: no input */
        return r;
}

void pty_drain(Pty *p) {
        if (p->master >= 0)
                (void) copy_master_output(p);
}

void pty_done(Pty *p) {
        p->stdin_source = sd_event_source_disable_unref(p->stdin_source);
        p->master_source = sd_event_source_disable_unref(p->master_source);
        if (p->raw)
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &p->saved);
        p->raw = false;
        p->master = safe_close(p->master);
        p->slave = safe_close(p->slave);
}
