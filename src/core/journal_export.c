/* journal_export.c — the corrected labels (npy, csv, jsonl) and the decisions table as files. */
#include "nncmp/journal_internal.h"
#include "nncmp/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nncmp/text.h"

/* ---- export ---- */

/* Writes a CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

static void jsonl_write(FILE *f, json_t *o)
{
	json_dumpf(o, f, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(o);
	putc('\n', f);
}

static void write_npy(FILE *f, const struct study *s, const struct journal *j)
{
	char dict[128];
	int n = snprintf(dict, sizeof dict,
	                 "{'descr': '<i8', 'fortran_order': False, 'shape': (%zu,), }", s->n);
	size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64, hlen = (size_t)n + pad + 1;
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	putc((int)(hlen & 0xff), f);
	putc((int)(hlen >> 8), f);
	fwrite(dict, 1, (size_t)n, f);
	for (size_t k = 0; k < pad; k++)
		putc(' ', f);
	putc('\n', f);
	for (size_t i = 0; i < s->n; i++) {
		int64_t v = j->status[i] == STATUS_REMOVED ? -1 : j->labels[i];
		uint64_t u = (uint64_t)v;
		unsigned char b[8];
		for (int k = 0; k < 8; k++)
			b[k] = (unsigned char)(u >> (8 * k));
		fwrite(b, 1, 8, f);
	}
}

static void write_labels_text(FILE *f, const struct study *s, const struct journal *j, bool csv)
{
	if (csv)
		fputs("index,id,label,class,status\n", f);
	for (size_t i = 0; i < s->n; i++) {
		char idbuf[32];
		const char *id = study_instance_id(s, i, idbuf, sizeof idbuf);
		bool removed = j->status[i] == STATUS_REMOVED;
		int32_t lab = removed ? -1 : j->labels[i];
		const char *st = journal_status_name((enum decision_status)j->status[i]);
		if (csv) {
			fprintf(f, "%zu,", i);
			csv_field(f, id);
			fprintf(f, ",%d,", lab);
			csv_field(f, removed ? "" : s->classes[lab]);
			fprintf(f, ",%s\n", st);
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer((json_int_t)i));
		json_object_set_new(o, "id", journal_jtext(id));
		json_object_set_new(o, "label", json_integer(lab));
		json_object_set_new(o, "class",
		                    removed ? json_null() : journal_jtext(s->classes[lab]));
		json_object_set_new(o, "status", json_string(st));
		json_object_set_new(o, "given", json_integer(study_given(s)[i]));
		jsonl_write(f, o);
	}
}

static void write_decisions(FILE *f, const struct study *s, const struct journal *j, bool csv)
{
	if (csv)
		fputs("index,id,old,new,action,time\n", f);
	for (size_t k = 0; k < j->n_dec; k++) {
		const struct decision *d = &j->dec[k];
		if (d->undone)
			continue;
		char idbuf[32];
		const char *id = study_instance_id(s, d->index, idbuf, sizeof idbuf);
		if (csv) {
			fprintf(f, "%u,", d->index);
			csv_field(f, id);
			fprintf(f, ",%d,%d,%s,%s\n", d->old_label, d->new_label,
			        journal_action_name(d->action), d->time);
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer(d->index));
		json_object_set_new(o, "id", journal_jtext(id));
		json_object_set_new(o, "old", json_integer(d->old_label));
		json_object_set_new(o, "new", json_integer(d->new_label));
		json_object_set_new(o, "action", json_string(journal_action_name(d->action)));
		json_object_set_new(o, "time", json_string(d->time));
		jsonl_write(f, o);
	}
}

/* The extension of path's last component (after its last dot), or "". */
static const char *path_ext(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : "";
}

char *journal_export_decisions_path(const char *path, const char *format)
{
	const char *ext = path_ext(path);
	if (!format)
		format = ext;
	size_t keep = strlen(path) - (*ext ? strlen(ext) + 1 : 0);
	return xasprintf("%.*s.decisions.%s", (int)keep, path,
	                 format && strcmp(format, "jsonl") == 0 ? "jsonl" : "csv");
}

int journal_export(const struct study *s, const struct journal *j, const char *path,
                   const char *format, struct nn_err *err)
{
	if (!format)
		format = path_ext(path);
	if (strcmp(format, "npy") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "jsonl") != 0)
		return nn_err_set(err, "%s: unknown export format '%s' (npy, csv or jsonl)", path,
		                  format);
	if (s != j->s || s->n == 0)
		return nn_err_set(err, "%s: the journal belongs to another study", path);
	struct outfile lab = {0}, dec = {0};
	char *dec_path = journal_export_decisions_path(path, format);
	int opened = outfile_open(&lab, path, 0666, err) == 0 &&
	             outfile_open(&dec, dec_path, 0666, err) == 0;
	free(dec_path);
	if (!opened) {
		outfile_discard(&lab);
		outfile_discard(&dec);
		return -1;
	}
	bool csv = strcmp(format, "jsonl") != 0;
	if (strcmp(format, "npy") == 0)
		write_npy(lab.f, s, j);
	else
		write_labels_text(lab.f, s, j, csv);
	write_decisions(dec.f, s, j, csv);
	int rc = 0;
	if (outfile_finish(&lab, err) < 0 || outfile_finish(&dec, err) < 0 ||
	    outfile_commit(&dec, true, NULL, err) < 0 || outfile_commit(&lab, true, NULL, err) < 0)
		rc = -1;
	outfile_discard(&lab);
	outfile_discard(&dec);
	return rc;
}
