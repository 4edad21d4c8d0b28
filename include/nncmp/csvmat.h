/*
 * csvmat.h — a matrix of numbers in a CSV or TSV file (probabilities or logits, one row per
 * instance), as a struct npy.
 *
 * The file is parsed once with libcsv (',' for .csv, tab for .tsv; RFC 4180 quoting) into a
 * float32 cache file that is then mapped (NPY_STORE_CACHED): under neurons_cache_dir() as
 * HASH.csvf, keyed like the neuron cache by the file's realpath, size, mtime in nanoseconds,
 * inode and device (and the class names the header is compared with), so a changed file is
 * parsed again and the next open of an unchanged one maps the cache. With no cache directory
 * (NNCMP_CACHE=0, no HOME) the float32 copy goes to an unlinked temporary file instead.
 *
 * Cache file (numbers little-endian): "NNCMPCSV" u32 version u32 key_len u64 npy_off
 * u64 names_off, the key, zeros up to npy_off (a multiple of 64), an npy image of '<f4'
 * (rows, cols), then at names_off u32 n_names and n_names × (u32 len, bytes): the header's
 * column names, none when the file had no header. A cache file that does not parse this way, or
 * holds another key, is a miss.
 *
 * The first row is a header when it is not all numbers, or when it equals the class names given
 * (so classes named "0".."9" can head their columns). A header must then name the given classes,
 * in order. Every data row must have the same number of fields; every field must be a finite
 * number as strtof() reads it, spaces around it allowed ("nan", "inf", empty fields refused).
 */
#ifndef NNCMP_CSVMAT_H
#define NNCMP_CSVMAT_H

#include <stddef.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/*
 * Opens path as a matrix. names (n_names, or NULL) are the study's class names, which a header
 * must match; names_from names where they come from in messages ("classes.txt"). a->colnames
 * holds the header's names. Returns 0, or -1 with err naming the file, row and field; on failure
 * *a needs no close.
 */
int csvmat_open(struct npy *a, const char *path, const char *const *names, size_t n_names,
                const char *names_from, struct nn_err *err);
/*
 * Checks a CSV header (a->colnames) against class names: as many, each equal to its class, none
 * empty or repeated (a header checked against itself checks the last two, for a study that takes
 * its class names from it). 0, or -1 with err naming path and the first differing column.
 */
int csvmat_header_check(const struct strvec *header, const char *path, const char *const *names,
                        size_t n_names, const char *names_from, struct nn_err *err);
/*
 * Parses CSV text in memory (len bytes; tab-separated when tsv) into a (through an unlinked
 * temporary file, no cache), for the fuzzer and unit tests; name stands for the file.
 */
int csvmat_parse(struct npy *a, const char *buf, size_t len, bool tsv, const char *name,
                 const char *const *names, size_t n_names, const char *names_from,
                 struct nn_err *err);

#endif
