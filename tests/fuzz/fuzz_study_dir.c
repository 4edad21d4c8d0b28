/*
 * fuzz_study_dir.c — opening a study directory: the convention walk (labels, classes, samples,
 * models/NAME/{probs,logits,pred}.npy, act/ and weights/ layers), a study.ini in it, and the
 * image paths of its samples, on a tiny tree built in a scratch directory from the input.
 *
 * The input is a list of entries: a kind byte (file, directory, symbolic link), a name (a byte
 * below 24 picks one of the names a study uses, else a length and that many bytes) and, for a
 * file, a 2-byte length and the content; for a link, a target name. Names and link targets stay
 * relative and without "..", and a study.ini that names a path outside the tree (absolute, or
 * with "..") is skipped, so that nothing outside the scratch directory is ever opened.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nncmp/image.h"
#include "nncmp/study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"labels.npy",
                                    "labels.csv",
                                    "classes.txt",
                                    "samples.jsonl",
                                    "study.ini",
                                    "models",
                                    "models/m",
                                    "models/m/probs.npy",
                                    "models/m/logits.npy",
                                    "models/m/pred.npy",
                                    "models/m/act",
                                    "models/m/act/fc.npy",
                                    "models/m/weights",
                                    "models/m/weights/fc.npy",
                                    "models/b",
                                    "models/b/probs.npy",
                                    "models/b/pred.npy",
                                    "models/b/act/fc.npy",
                                    "img",
                                    "img/a.png",
                                    "img/b.png",
                                    "models/not",
                                    "models/m/act/.npy",
                                    "models/9/pred.npy"};

struct cursor {
	const uint8_t *p, *end;
};

static int take(struct cursor *c)
{
	return c->p < c->end ? *c->p++ : -1;
}

/* Reads a name into buf (relative, no ".." component, no NUL); false when there is none. */
static bool take_name(struct cursor *c, char *buf, size_t cap)
{
	int b = take(c);
	if (b < 0)
		return false;
	if ((size_t)b < sizeof names / sizeof *names) {
		snprintf(buf, cap, "%s", names[b]);
		return true;
	}
	size_t n = (size_t)b % 32 + 1, k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		int ch = take(c);
		if (ch < 0)
			break;
		buf[k++] = ch ? (char)ch : '_';
	}
	buf[k] = '\0';
	if (k == 0 || buf[0] == '/' || strstr(buf, ".."))
		return false;
	return true;
}

/* Creates the directories on the way to path (inside the scratch directory). */
static void make_parents(const char *path)
{
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *s = strchr(tmp + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(tmp, 0700);
		*s = '/';
	}
}

/* True when a manifest's text could name a path outside the tree. */
static bool leaves_tree(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && p[i] == '.' && p[i + 1] == '.')
			return true;
		if (p[i] == '=' || p[i] == ',' || p[i] == '\n') {
			size_t j = i + 1;
			while (j < n && (p[j] == ' ' || p[j] == '\t'))
				j++;
			if (j < n && p[j] == '/')
				return true;
		}
	}
	return false;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char root[] = "/tmp/nncmp-fuzz-study-XXXXXX";
	if (!mkdtemp(root))
		return 0;
	struct cursor c = {data, data + size};
	bool skip = false;
	for (int e = 0; e < 24 && c.p < c.end && !skip; e++) {
		int kind = take(&c);
		char name[64], path[512];
		if (kind < 0 || !take_name(&c, name, sizeof name))
			break;
		snprintf(path, sizeof path, "%s/%s", root, name);
		make_parents(path);
		switch (kind % 3) {
		case 0: {
			int lo = take(&c), hi = take(&c);
			size_t n = lo < 0 ? 0 : (size_t)lo | (size_t)(hi < 0 ? 0 : hi) << 8;
			if (n > (size_t)(c.end - c.p))
				n = (size_t)(c.end - c.p);
			const char *base = strrchr(name, '/');
			base = base ? base + 1 : name;
			if (strcmp(base, "study.ini") == 0 && leaves_tree(c.p, n))
				skip = true;
			FILE *f = fopen(path, "wb");
			if (f) {
				fwrite(c.p, 1, n, f);
				fclose(f);
			}
			c.p += n;
			break;
		}
		case 1:
			mkdir(path, 0700);
			break;
		default: {
			char target[64];
			if (take_name(&c, target, sizeof target))
				symlink(target, path);
			break;
		}
		}
	}
	if (!skip) {
		struct nn_err err;
		struct study *s = study_open(root, &err);
		if (s) {
			for (size_t i = 0; i < s->n && i < 8; i++) {
				char *p = image_path(s, i, &err);
				free(p);
			}
			study_free(s);
		} else if (!err.msg[0]) {
			abort(); /* a refusal always says why */
		}
	}
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
