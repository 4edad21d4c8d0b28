/*
 * trace.h — NNCMP_TRACE=FILE: a log of how long the UI thread takes, to measure the TUI
 * honestly. One line per record, words and key=value pairs:
 *   first-frame wall_ms=W ui_cpu_ms=C ready=0|1   the first frame drawn, W since tui_run began
 *   derived wall_ms=W                             the study's derivation landed (tui.c)
 *   ready-frame wall_ms=W ui_cpu_ms=C             the first frame after the start state applied
 *   metrics wall_ms=W                             the selection's metrics landed from the worker
 *   key NAME ui_ms=U ui_cpu_ms=C                  a key: from its read to the frame drawn after
 *                                                 it, wall and the UI thread's CPU time
 *   job ui_ms=U ui_cpu_ms=C                       jobs that landed: from collecting them to the
 *                                                 frame that shows them
 * Without the variable every function returns at once. The file is written when tracing starts
 * (truncated) and flushed after each line, so a test can read it while nncmp runs.
 */
#ifndef NNCMP_TUI_TRACE_H
#define NNCMP_TUI_TRACE_H

#include <stdbool.h>

/* Opens $NNCMP_TRACE (when set) and starts the clock: call first in tui_run. */
void trace_start(void);
/* A key was read (its curses code; is_key for a KEY_ code). */
void trace_key(int key, bool is_key);
/* Around the UI thread's collection of finished jobs (worker_poll and what their done() does):
 * with landed, the time from trace_poll_start to the next frame is logged as "job". */
void trace_poll_start(void);
void trace_poll_end(bool landed);
/* A frame was drawn (after doupdate); ready: every pane has its data. */
void trace_frame(bool ready);
/* A named moment (e.g. "derived"), with the wall time since trace_start. */
void trace_event(const char *what);
void trace_end(void);

#endif
