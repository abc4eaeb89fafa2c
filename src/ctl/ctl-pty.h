/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pseudo-terminal of run --pty (ctl-pty.c). */

#include <stdbool.h>
#include <systemd/sd-event.h>
#include <termios.h>

typedef struct Pty {
        int master, slave;
        bool raw;                 /* our terminal is in raw mode; saved restores it */
        struct termios saved;
        sd_event_source *master_source, *stdin_source;
} Pty;

/* A new pty with our window size; slave is for the workload's 0, 1, 2. */
int pty_open(Pty *p);
/* Once the workload has the slave: close ours, make our terminal raw, and
 * relay on event. */
int pty_attach(Pty *p, sd_event *event);
/* SIGWINCH: our window size to the workload's terminal. */
void pty_copy_window_size(Pty *p);
/* The output the workload left behind at its exit. */
void pty_drain(Pty *p);
/* Our terminal as it was; the fds closed. */
void pty_done(Pty *p);
