/*
 * derive_cache.h — the on-disk cache of what derive_models() computes for each model: the
 * prediction, the rank of the label, p(label), the confidence and the margin of every instance.
 *
 * A reopened study reads these few bytes per instance instead of every probability. One file per
 * model in the neuron cache's directory (neurons_cache_dir(): $XDG_CACHE_HOME/nncmp, off with
 * NNCMP_CACHE=0), DIR/HASH.ndv. The key names every source file of the probabilities (realpath,
 * size, mtime in nanoseconds, inode, device), the matrix's layout, whether it holds logits, and a
 * CRC-32 of the labels as read from the files (before any journal), so that a changed file or a
 * changed label is a miss; the whole key is stored in the file and compared on load.
 *
 * Values are stored in the narrowest type that gives back exactly what derivation gives: for
 * float32 probabilities p(pred), p(label) and the runner-up as float32 (the margin is their
 * difference in double, as derive_row_f32 computes it), checked value by value before writing;
 * otherwise doubles.
 *
 * Format (little-endian; a big-endian host neither reads nor writes the cache):
 *   "NNCMPDRV"  u32 version  u32 key_len  key bytes
 *   u64 n  u32 kind (1: float32 values, 2: float64)  u32 classes
 *   i32 pred[n]  i32 rank[n]
 *   kind 1: f32 conf[n]  f32 p_label[n]  f32 second[n]
 *   kind 2: f64 conf[n]  f64 p_label[n]  f64 margin[n]
 *   u32 CRC-32 (zlib) of every byte before it
 * The file is outside input: its length must be exactly what n and kind say, every value in range
 * and the checksum right, else it is a miss and the model is derived from its probabilities.
 *
 * A source modified less than DERIVE_CACHE_SETTLE_S seconds before the cache would be written is
 * not cached: a file rewritten within one tick of the file system's clock could keep its mtime
 * (the "racy git" problem), and the cache must never answer for a file that changed.
 */
#ifndef NNCMP_DERIVE_CACHE_H
#define NNCMP_DERIVE_CACHE_H

#include "nncmp/study.h"

#define DERIVE_CACHE_SETTLE_S 2

/*
 * The key of model m's derivation, or NULL when it has none (a source that cannot be stat'ed, a
 * model without probabilities). `labels_crc` is derive_cache_labels_crc(s).
 */
char *derive_cache_key(const struct study *s, const struct model *m, uint32_t labels_crc);
uint32_t derive_cache_labels_crc(const struct study *s);

/*
 * Fills m->pred, conf, margin, p_label, rank (allocated by the caller, s->n each) from the cache
 * file of key in dir. Returns 0 on a hit, -1 on a miss (no file, another key, a damaged file):
 * then the arrays hold garbage and must be derived.
 */
int derive_cache_load(const char *dir, const char *key, const struct study *s, struct model *m);
/* Writes model m's derived arrays under key in dir (created if missing). Returns 0 or -1. */
int derive_cache_store(const char *dir, const char *key, const struct study *s,
                       const struct model *m);
/* The cache file of key in dir: DIR/HASH.ndv. */
char *derive_cache_path(const char *dir, const char *key);
/* True when every source of m was last modified at least DERIVE_CACHE_SETTLE_S seconds ago. */
bool derive_cache_settled(const struct model *m);

#endif
