/*
 * bench_ops.c — times the core's neuron analyses in one process, as the TUI runs them: the study
 * is opened once and every operation works on its mappings, so later operations find what earlier
 * ones left in the page table (the order below is the TUI's: statistics, ranking, matrix,
 * correspondence).
 *
 * Usage: bench_ops STUDY [--model A] [--with B] [--layer L] [--reps R] [--cka-reps R]
 *                  [--dump FILE]
 *
 * Prints one line per operation, `op=NAME seconds=BEST first=FIRST ...` (best and first of R
 * runs, CLOCK_MONOTONIC), for:
 *   read       one sequential read(2) of A.L's file into a 1 MiB buffer aligned to 4096 (after
 *              one warm-up read): the memory-bandwidth floor
 *   mmap       mapping the file afresh, reading every byte through the mapping, unmapping
 *   stats      neurons_stats_compute(): the full layer statistics, without the cache
 *   rank_err   neurons_subset() + neurons_scores() + neurons_rank() by d for the filter 'A != gt'
 *              (the filter's evaluation, expr_select(), is timed apart as filter_seconds)
 *   rank_half  the same for 'conf(A) > median', about half of the instances (the worst case:
 *              neurons_subset() reads the smaller of S and its complement)
 *   matrix     matrices_means() over the classes (the subsets are built beforehand)
 *   corr       similarity_compute() of A.L against B.L without CKA
 *   corr_cka   the same with CKA (--cka-reps runs, default 1: it is the slowest)
 * --dump writes the numbers (JSON) for tools/bench_ref_neurons.py --check to compare with NumPy.
 * Exit status 0, or 1 when an operation fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nncmp/filter.h"
#include "nncmp/linalg.h"
#include "nncmp/matrices.h"
#include "nncmp/neurons.h"
#include "nncmp/similarity.h"
#include "nncmp/study.h"
#include "nncmp/util.h"

#define READ_BUF (1u << 20)

struct timing {
	double best, first;
	int runs;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void timing_add(struct timing *t, double seconds)
{
	if (t->runs == 0 || seconds < t->best)
		t->best = seconds;
	if (t->runs == 0)
		t->first = seconds;
	t->runs++;
}

/* Prints "bench_ops: " and the message, and exits with status 1. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench_ops: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* Reads the whole file with read(2) into a 1 MiB buffer; returns the bytes read. */
static size_t read_file(const char *path, unsigned char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s", path);
	size_t total = 0;
	for (;;) {
		ssize_t r = read(fd, buf, READ_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("cannot read %s", path);
		if (r == 0)
			break;
		total += (size_t)r;
	}
	close(fd);
	return total;
}

/* Maps the file afresh, reads every byte through the mapping, unmaps; returns a checksum. */
static uint64_t touch_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		die("cannot open %s", path);
	size_t len = (size_t)st.st_size;
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		die("cannot map %s", path);
	const uint64_t *w = map;
	uint64_t sum = 0;
	for (size_t i = 0; i < len / sizeof *w; i++)
		sum += w[i];
	munmap(map, len);
	return sum;
}

static const struct layer *find_layer(const struct study *s, const char *model, const char *layer)
{
	int m = study_model_index(s, model);
	if (m < 0)
		die("no model '%s' in the study", model);
	int l = study_layer_index(&s->models[m], layer);
	if (l < 0 || !s->models[m].layers[l].act_path)
		die("no activations for the layer '%s'", layer);
	return &s->models[m].layers[l];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Selects the instances of a filter; returns how many (the indices go into idx). */
static size_t select_expr(const struct study *s, const char *text, uint32_t *idx, double *seconds)
{
	struct nn_err err = {{0}};
	size_t col = 0;
	double t0 = now();
	struct expr *e = expr_compile(s, text, &err, &col);
	if (!e)
		die("filter: %s", err.msg);
	size_t n = expr_select(e, s, idx);
	*seconds = now() - t0;
	expr_free(e);
	return n;
}

/* One ranking for a filter: the sums over S and R, the d scores, the order. */
struct ranking {
	const char *op;
	char filter[96];
	size_t n_in;
	double filter_seconds;
	struct timing t;
	double *d;
	uint32_t *order;
};

static void rank_filter(const struct layer *ly, const struct neuron_stats *st, const uint32_t *idx,
                        struct ranking *rk, int reps)
{
	const struct neurons_opts opt = {.cache_dir = ""};
	for (int r = 0; r < reps; r++) {
		struct neuron_subset ss;
		struct nn_progress prog = {0};
		struct nn_err err = {{0}};
		double t0 = now();
		if (neurons_subset(&ly->act, st, idx, rk->n_in, false, &opt, &prog, &ss, &err) < 0)
			die("neurons_subset: %s", err.msg);
		neurons_scores(st, &ss, NEURON_BY_D, rk->d);
		neurons_rank(rk->d, st->h, true, rk->order);
		timing_add(&rk->t, now() - t0);
		neurons_subset_free(&ss);
	}
}

static void print_timing(const char *op, const struct timing *t, const char *extra)
{
	printf("op=%s seconds=%.6f first=%.6f runs=%d%s%s\n", op, t->best, t->first, t->runs,
	       extra[0] ? " " : "", extra);
	fflush(stdout);
}

/* ---- --dump: the numbers, as JSON ---- */

static void dump_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.17g", v);
	else
		fputs("null", f);
}

static void dump_doubles(FILE *f, const char *key, const double *v, size_t n)
{
	fprintf(f, "\"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		dump_num(f, v[i]);
	}
	fputs("]", f);
}

static void dump_u64(FILE *f, const char *key, const uint64_t *v, size_t n)
{
	fprintf(f, "\"%s\": [", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
	fputs("]", f);
}

static void dump_u32(FILE *f, const char *key, const uint32_t *v, size_t n)
{
	fprintf(f, "\"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		if (v[i] == NEURONS_NO_INDEX)
			fputs("null", f);
		else
			fprintf(f, "%lu", (unsigned long)v[i]);
	}
	fputs("]", f);
}

static void dump(const char *path, const struct neuron_stats *st, const struct ranking *rk,
                 size_t n_rk, const struct matrices_means *mm, const struct similarity *sim,
                 double cka)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die("cannot write %s", path);
	size_t h = st->h;
	double *v = xcalloc(h * (st->k > st->bins ? st->k : st->bins), sizeof *v);
	fprintf(f, "{\"n\": %zu, \"h\": %zu, \"bins\": %u, \"k\": %u,\n\"stats\": {", st->n, h,
	        st->bins, st->k);
	fputs("\"lo\": ", f);
	dump_num(f, st->lo);
	fputs(", \"hi\": ", f);
	dump_num(f, st->hi);
	fputs(",\n", f);
	dump_u64(f, "count", st->count, h);
	fputs(",\n", f);
	dump_doubles(f, "mean", st->mean, h);
	fputs(",\n", f);
	for (size_t j = 0; j < h; j++)
		v[j] = neurons_std(st, j);
	dump_doubles(f, "std", v, h);
	fputs(",\n", f);
	dump_doubles(f, "min", st->min, h);
	fputs(",\n", f);
	dump_doubles(f, "max", st->max, h);
	fputs(",\n", f);
	dump_u64(f, "dead", st->dead, h);
	fputs(",\n", f);
	dump_u64(f, "hist", st->hist, h * st->bins);
	fputs(",\n", f);
	dump_u32(f, "top_idx", st->top_idx, h * st->k);
	fputs(",\n", f);
	for (size_t q = 0; q < h * st->k; q++)
		v[q] = st->top_val[q];
	dump_doubles(f, "top_val", v, h * st->k);
	fputs("},\n\"rank\": [", f);
	for (size_t r = 0; r < n_rk; r++) {
		fprintf(f, "%s{\"op\": \"%s\", \"filter\": \"%s\", \"n_in\": %zu,\n",
		        r ? ",\n" : "", rk[r].op, rk[r].filter, rk[r].n_in);
		dump_u32(f, "order", rk[r].order, h);
		fputs(",\n", f);
		dump_doubles(f, "d", rk[r].d, h);
		fputs("}", f);
	}
	fprintf(f, "],\n\"matrix\": {\"rows\": %zu, \"cols\": %zu,\n", mm->rows, mm->cols);
	dump_doubles(f, "mean", mm->mean, mm->rows * mm->cols);
	fprintf(f, "},\n\"similarity\": {\"h1\": %zu, \"h2\": %zu, \"cka\": ", sim->h1, sim->h2);
	dump_num(f, cka);
	fputs(",\n", f);
	dump_doubles(f, "r", sim->r, sim->h1 * sim->h2);
	fputs("}}\n", f);
	free(v);
	if (fclose(f) != 0)
		die("cannot write %s", path);
}

static void usage(void)
{
	fputs(
	    "usage: bench_ops STUDY [--model A] [--with B] [--layer L] [--reps R] [--cka-reps R]\n"
	    "                 [--dump FILE]\n",
	    stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = NULL, *model = "a", *other = "b", *layer = "fc", *dump_path = NULL;
	int reps = 3, cka_reps = 1;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (opt[0] != '-') {
			if (path)
				usage();
			path = opt;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *val = argv[++i];
		if (strcmp(opt, "--model") == 0)
			model = val;
		else if (strcmp(opt, "--with") == 0)
			other = val;
		else if (strcmp(opt, "--layer") == 0)
			layer = val;
		else if (strcmp(opt, "--reps") == 0)
			reps = atoi(val);
		else if (strcmp(opt, "--cka-reps") == 0)
			cka_reps = atoi(val);
		else if (strcmp(opt, "--dump") == 0)
			dump_path = val;
		else
			usage();
	}
	if (!path || reps < 1 || cka_reps < 0)
		usage();

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	linalg_init(cpus > 0 ? (int)cpus : 1);
	struct nn_err err = {{0}};
	double t0 = now();
	struct study *s = study_open(path, &err);
	if (!s)
		die("%s", err.msg);
	const double t_open = now() - t0;
	const struct layer *la = find_layer(s, model, layer), *lb = find_layer(s, other, layer);
	const size_t n = s->n, h = la->act.cols;
	const size_t bytes = la->act.h.data_offset + la->act.h.data_bytes;
	printf("study=%s n=%zu classes=%zu layer=%s.%s h=%zu bytes=%zu cpus=%ld blas_threads=%d "
	       "open_seconds=%.6f\n",
	       path, n, s->n_classes, model, layer, h, bytes, cpus, linalg_threads(), t_open);
	fflush(stdout);

	/* the floor: read(2) and the mapping, warm page cache. The buffer is page-aligned: malloc's
	 * 1 MiB (its own mapping, 16 bytes past a page) made the kernel's copy from the page cache
	 * misaligned, 3-4 times slower here than any aligned buffer (1.3 s instead of 0.3 s for
	 * 2 GB), a floor below which nothing was really bound. */
	void *bufp = NULL;
	if (posix_memalign(&bufp, 4096, READ_BUF) != 0)
		die("out of memory");
	unsigned char *buf = bufp;
	read_file(la->act_path, buf);
	struct timing t_read = {0}, t_mmap = {0};
	for (int r = 0; r < reps; r++) {
		t0 = now();
		size_t got = read_file(la->act_path, buf);
		timing_add(&t_read, now() - t0);
		if (got != bytes)
			die("short read of %s", la->act_path);
	}
	free(buf);
	char extra[160];
	snprintf(extra, sizeof extra, "bytes=%zu", bytes);
	print_timing("read", &t_read, extra);
	uint64_t check = 0;
	for (int r = 0; r < reps; r++) {
		t0 = now();
		check += touch_file(la->act_path);
		timing_add(&t_mmap, now() - t0);
	}
	snprintf(extra, sizeof extra, "bytes=%zu checksum=%llu", bytes, (unsigned long long)check);
	print_timing("mmap", &t_mmap, extra);

	/* full layer statistics, no cache */
	const struct neurons_opts opt = {.cache_dir = ""};
	struct neuron_stats st = {0};
	struct timing t_stats = {0};
	for (int r = 0; r < reps; r++) {
		struct neuron_stats tmp;
		struct nn_progress prog = {0};
		t0 = now();
		if (neurons_stats_compute(&la->act, &opt, &prog, &tmp, &err) < 0)
			die("neurons_stats_compute: %s", err.msg);
		timing_add(&t_stats, now() - t0);
		if (r)
			neurons_stats_free(&st);
		st = tmp;
	}
	snprintf(extra, sizeof extra, "bins=%u k=%u", st.bins, st.k);
	print_timing("stats", &t_stats, extra);

	/* ranking for a new filter: the model's errors (~30%), and ~50% of the instances */
	int mi = study_model_index(s, model);
	double *conf = xcalloc(n, sizeof *conf);
	for (size_t i = 0; i < n; i++)
		conf[i] = model_conf(&s->models[mi], i);
	qsort(conf, n, sizeof *conf, cmp_double);
	double median = conf[n / 2];
	free(conf);
	struct ranking rk[2] = {{.op = "rank_err"}, {.op = "rank_half"}};
	snprintf(rk[0].filter, sizeof rk[0].filter, "%s != gt", model);
	snprintf(rk[1].filter, sizeof rk[1].filter, "conf(%s) > %.9g", model, median);
	uint32_t *idx = xcalloc(n, sizeof *idx);
	for (int q = 0; q < 2; q++) {
		rk[q].d = xcalloc(h, sizeof *rk[q].d);
		rk[q].order = xcalloc(h, sizeof *rk[q].order);
		rk[q].n_in = select_expr(s, rk[q].filter, idx, &rk[q].filter_seconds);
		if (rk[q].n_in == 0 || rk[q].n_in == n)
			die("the filter '%s' leaves nothing to compare", rk[q].filter);
		rank_filter(la, &st, idx, &rk[q], reps);
		snprintf(extra, sizeof extra, "n_in=%zu frac=%.4f filter_seconds=%.6f filter='%s'",
		         rk[q].n_in, (double)rk[q].n_in / (double)n, rk[q].filter_seconds,
		         rk[q].filter);
		print_timing(rk[q].op, &rk[q].t, extra);
	}
	free(idx);

	/* the subset × neuron matrix: class means */
	struct matrices_subsets subs = {0};
	matrices_subsets_by_group(&subs, s->labels, s->n_classes, (const char *const *)s->classes,
	                          NULL, n);
	struct matrices_means mm = {0};
	struct timing t_matrix = {0};
	for (int r = 0; r < reps; r++) {
		struct matrices_means tmp;
		struct nn_progress prog = {0};
		t0 = now();
		if (matrices_means(&la->act, &subs, &prog, &tmp, &err) < 0)
			die("matrices_means: %s", err.msg);
		timing_add(&t_matrix, now() - t0);
		if (r)
			matrices_means_free(&mm);
		mm = tmp;
	}
	snprintf(extra, sizeof extra, "rows=%zu cols=%zu", mm.rows, mm.cols);
	print_timing("matrix", &t_matrix, extra);
	matrices_subsets_free(&subs);

	/* the correspondence, without and with CKA */
	struct similarity sim = {0};
	struct timing t_corr = {0}, t_cka = {0};
	double cka = NAN;
	for (int with_cka = 0; with_cka < 2; with_cka++) {
		for (int r = 0; r < (with_cka ? cka_reps : reps); r++) {
			struct similarity tmp;
			struct nn_progress prog = {0};
			t0 = now();
			if (similarity_compute(&la->act, &lb->act, NULL, n, with_cka, &prog, &tmp,
			                       &err) < 0)
				die("similarity_compute: %s", err.msg);
			timing_add(with_cka ? &t_cka : &t_corr, now() - t0);
			if (with_cka) {
				cka = tmp.cka;
				similarity_free(&tmp);
			} else {
				if (r)
					similarity_free(&sim);
				sim = tmp;
			}
		}
	}
	size_t matched = 0;
	double r_sum = 0;
	for (size_t i = 0; i < sim.h1; i++) {
		struct similarity_match best;
		if (similarity_top(&sim, i, 1, false, SIZE_MAX, &best) == 1) {
			matched++;
			r_sum += best.r;
		}
	}
	snprintf(extra, sizeof extra, "with=%s.%s h2=%zu matched=%zu mean_best_r=%.4f", other,
	         layer, sim.h2, matched, matched ? r_sum / (double)matched : NAN);
	print_timing("corr", &t_corr, extra);
	if (cka_reps) {
		snprintf(extra, sizeof extra, "cka=%.6f", cka);
		print_timing("corr_cka", &t_cka, extra);
	}

	if (dump_path)
		dump(dump_path, &st, rk, 2, &mm, &sim, cka);

	for (int q = 0; q < 2; q++) {
		free(rk[q].d);
		free(rk[q].order);
	}
	similarity_free(&sim);
	matrices_means_free(&mm);
	neurons_stats_free(&st);
	study_free(s);
	return 0;
}
