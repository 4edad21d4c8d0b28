/*
 * neurons_read.c — getting a block of rows to a pass: pointers into the mapping, or (a column
 * gather) rows read with pread() into the worker's buffer; converted to float32 when the file
 * holds another type.
 */
#include "nncmp/neurons_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CALL_BYTES 16384 /* pread: one more call costs about as much as this many bytes */

/* The instance index of position pos of the job's row list. */
static size_t row_at(const struct job *job, size_t pos)
{
	return job->rows ? job->rows[pos] : pos;
}

/*
 * Reads the rows at positions pos..pos+nr-1 with pread() into w->raw: the whole span from the
 * first to the last when that costs less than a call per run of consecutive rows. Points
 * w->rowp at them, converted to float32 in w->buf unless they are native float32. Returns false
 * when a read fails (the caller then reads through the mapping).
 */
static bool fetch_pread(struct worker *w, size_t pos, size_t nr)
{
	const struct job *job = w->job;
	const size_t rb = job->row_bytes, first = row_at(job, pos);
	const size_t span = row_at(job, pos + nr - 1) - first + 1;
	size_t runs = 1;
	for (size_t r = 1; r < nr; r++)
		runs += row_at(job, pos + r) != row_at(job, pos + r - 1) + 1;
	const off_t base = (off_t)job->act->h.data_offset;
	size_t *at =
	    (size_t *)(void *)w->rowp; /* byte offsets into raw, before they are pointers */
	if (span <= READ_SPAN * nr && (span - nr) * rb <= runs * READ_CALL_BYTES) {
		if (!nn_pread_full(job->fd, w->raw, span * rb, base + (off_t)(first * rb)))
			return false;
		for (size_t r = 0; r < nr; r++)
			at[r] = (row_at(job, pos + r) - first) * rb;
	} else {
		for (size_t r = 0; r < nr;) {
			size_t row = row_at(job, pos + r), run = 1;
			while (r + run < nr && row_at(job, pos + r + run) == row + run)
				run++;
			if (!nn_pread_full(job->fd, w->raw + r * rb, run * rb,
			                   base + (off_t)(row * rb)))
				return false;
			for (size_t q = 0; q < run; q++)
				at[r + q] = (r + q) * rb;
			r += run;
		}
	}
	if (job->direct) {
		for (size_t r = 0; r < nr; r++)
			w->rowp[r] = (const float *)(const void *)(w->raw + at[r]);
		return true;
	}
	/* convert through a view of the buffer as a C-order matrix of the file's type */
	struct npy view = *job->act;
	view.data = w->raw;
	view.rows = READ_SPAN * job->block;
	for (size_t r = 0; r < nr; r++) {
		npy_rows_f32(&view, at[r] / rb, 1, w->buf + r * job->h);
		w->rowp[r] = w->buf + r * job->h;
	}
	return true;
}

/* Points w->rowp at rows pos..pos+nr-1 of the job's row list, converting when needed. */
void neurons_rows_fetch(struct worker *w, size_t pos, size_t nr)
{
	const struct job *job = w->job;
	const struct npy *a = job->act;
	if (w->use_pread) {
		if (fetch_pread(w, pos, nr))
			return;
		w->use_pread = false;
	}
	if (job->direct) {
		const float *base = (const float *)(const void *)a->data;
		for (size_t r = 0; r < nr; r++)
			w->rowp[r] = base + row_at(job, pos + r) * job->h;
		return;
	}
	for (size_t r = 0; r < nr;) {
		size_t first = row_at(job, pos + r), run = 1;
		while (r + run < nr && row_at(job, pos + r + run) == first + run)
			run++;
		npy_rows_f32(a, first, run, w->buf + r * job->h);
		for (size_t q = 0; q < run; q++)
			w->rowp[r + q] = w->buf + (r + q) * job->h;
		r += run;
	}
}

/*
 * The neuron passes read rows through the mapping. A column gather reads through the mapping
 * when the layer's pages are already in the page table, and otherwise with pread() (C order
 * only, npy_file_fd), so that one column of a big layer does not fault the whole layer into the
 * process.
 *
 * The passes once used pread() too, on a measurement that entering pages into the page table
 * (about 75 ms per GB, and 30 ms per GB at munmap) cost more than copying them (75 ms per GB).
 * On the 2-core test machine (Linux 6.18, whose page cache maps a file's large folios at a
 * fault) the mapping is the cheaper one: a scan of a 2 GB layer in the page cache takes 0.11 s
 * through the mapping on 2 threads (munmap 0.01 s) against 0.15 s with pread() into a page-aligned
 * 256 KiB buffer, and 0.18 s against 0.28 s on one thread; a first neuron ranking of the 1M
 * bench study went from 0.80 s (0.5 s of it in the kernel) to 0.63 s (0.05 s in the kernel).
 * Which one wins depends on the folios the page cache holds: the derivation of probabilities
 * (derive.c) reads them with pread(), where the mapping's faults and munmap were half its time.
 */

/*
 * Whether the pages at a few points of this worker's rows are already in the page table
 * (/proc/self/pagemap, bit 63); false when that cannot be read.
 */
bool neurons_rows_mapped(const struct worker *w)
{
#if defined(__linux__)
	const struct job *job = w->job;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	size_t first = row_at(job, w->p0), last = row_at(job, w->p1 - 1);
	bool all = true;
	for (size_t i = 0; all && i < 8; i++) {
		size_t row = first + (last - first) / 7 * i;
		uintptr_t at = (uintptr_t)(job->act->data + row * job->row_bytes);
		uint64_t entry = 0;
		all = pread(fd, &entry, sizeof entry, (off_t)(at / page * sizeof entry)) ==
		          (ssize_t)sizeof entry &&
		      entry >> 63;
	}
	close(fd);
	return all;
#else
	(void)w;
	return false;
#endif
}
