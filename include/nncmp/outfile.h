/*
 * outfile.h — a file written whole or not at all: under a temporary name beside its target, then
 * flushed, fsync'd and renamed (or linked) over it, and its directory fsync'd, so that a reader or
 * a crash sees the old file or the new one, never a part of it.
 *
 * The temporary is ".NAME.PID.K.tmp" in the target's directory, created with O_EXCL, O_NOFOLLOW
 * and the caller's mode (0666 for an export, so that the umask applies as to any new file;
 * mkstemp's 0600, and umask() to undo it, would not do: umask is process-wide and the TUI has
 * other threads; 0600 for a private file such as the command history).
 *
 * Ownership: struct outfile owns its strings and stream; outfile_discard() releases them (and
 * removes a temporary not committed) and may be called at any point, also after a failure.
 */
#ifndef NNCMP_OUTFILE_H
#define NNCMP_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "nncmp/util.h"

struct outfile {
	char *target, *tmp;
	FILE *f; /* write here between outfile_open and outfile_finish */
	/*
	 * Set after outfile_open for a cache entry that its reader checks in full (a checksum over
	 * every byte): neither the file nor its directory is fsync'd, so a crash may leave it
	 * empty or torn under its name, which the reader refuses and the writer recomputes; the
	 * rename still keeps a reader from seeing a part of it while it is written.
	 */
	bool no_sync;
};

/*
 * Opens the temporary for target (copied). A target that exists and is not a regular file (a
 * link, a directory, a device, a FIFO) is refused: it is never replaced. Returns 0 or -1 with err
 * set.
 */
int outfile_open(struct outfile *a, const char *target, unsigned mode, struct nn_err *err);
/* Flushes, fsyncs (unless no_sync) and closes the temporary; returns 0 or -1 with err set (a
 * write error too). */
int outfile_finish(struct outfile *a, struct nn_err *err);
/*
 * Puts the finished temporary in place: with replace, over whatever regular file is there;
 * without, only where nothing is (link(), so a file that appeared since is not lost; where the
 * file system has no hard links, a rename after a fresh check): then err says "exists" and *exists
 * (may be NULL) is set. Then fsyncs the directory (unless no_sync). Returns 0 or -1 with err
 * set.
 */
int outfile_commit(struct outfile *a, bool replace, bool *exists, struct nn_err *err);
void outfile_discard(struct outfile *a);

#endif
