/*
 * neurons_gather.c — one column of a layer for a list of instances, read in blocks of rows with
 * the neuron passes' reader (neurons_read.c), but with pread() into a block buffer when the
 * layer's pages are not yet in the page table, so that a sort by act(M.L.J) holds the heap and
 * one block instead of faulting the whole layer into the process through the mapping.
 */
#include "nncmp/neurons_internal.h"

bool neurons_gather_column(const struct npy *act, size_t col, const uint32_t *rows, size_t n,
                           double *out)
{
	if (col >= act->cols)
		return false;
	struct job job;
	neurons_job_init(&job, act, PASS_SUBSET, NULL, NULL);
	if (!job.direct) { /* the reader converts other types to float32: not the values asked */
		neurons_job_done(&job);
		return false;
	}
	job.rows = rows;
	job.n_rows = n;
	job.fd = npy_file_fd(act);
	struct worker w;
	neurons_worker_init(&w, &job);
	w.p0 = 0;
	w.p1 = n;
	w.use_pread = job.fd >= 0 && n > 0 && !neurons_rows_mapped(&w);
	for (size_t pos = 0; pos < n; pos += job.block) {
		size_t nr = n - pos < job.block ? n - pos : job.block;
		neurons_rows_fetch(&w, pos, nr);
		for (size_t r = 0; r < nr; r++)
			out[rows ? rows[pos + r] : pos + r] = w.rowp[r][col];
	}
	neurons_worker_free(&w);
	neurons_job_done(&job);
	return true;
}
