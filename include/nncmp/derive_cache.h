/*
 * derive_cache.h — the on-disk cache of what derive_models() computes for each model: the
 * prediction, the rank of the label, p(label), the confidence and the margin of every instance.
 *
 * A reopened study maps these few bytes per instance instead of reading every probability: the
 * model's arrays (study.h) point into the file's read-only private mapping, with no copy, no
 * conversion and no heap. One file per model in the neuron cache's directory
 * (neurons_cache_dir(): $XDG_CACHE_HOME/nncmp, off with NNCMP_CACHE=0), DIR/HASH.ndv. The key
 * names every source file of the probabilities (realpath, size, mtime in nanoseconds, inode,
 * device), the matrix's layout, whether it holds logits, and an XXH3 hash of the labels as read
 * from the files (before any journal), so that a changed file or a changed label is a miss; the
 * whole key is stored in the file and compared on load.
 *
 * The arrays are stored as the model holds them (study.h): pred and rank in id_size bytes, conf,
 * p_label and second in val_size bytes (float for float32 probabilities, second the runner-up;
 * double otherwise, second the margin).
 *
 * Format (little-endian; a big-endian host neither reads nor writes the cache), version 2:
 *   "NNCMPDRV"  u32 version  u32 key_len  u64 n  u32 classes  u8 id_size  u8 val_size  u16 0
 *   key bytes, zeros up to the next multiple of 4096
 *   pred[n]  rank[n]  conf[n]  p_label[n]  second[n], each starting at a multiple of 4096 (zeros
 *   between them)
 *   u64 XXH3_64bits of every byte before it
 * The file is outside input: its length must be exactly what n, the key and the sizes say, the
 * header equal to the one this model would write, every id below the class count, every value
 * in [0, 1] (a runner-up at most its conf) and the checksum right, all checked in full when it is
 * mapped, else it is a miss and the model is derived from its probabilities. A file of another
 * version has another length or header: it is a miss and is written anew. A rewrite goes to a new
 * file renamed over the old one (outfile.h), never into a file someone may have mapped.
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
 * model without probabilities). `labels_hash` is derive_cache_labels_hash(s).
 */
char *derive_cache_key(const struct study *s, const struct model *m, uint64_t labels_hash);
uint64_t derive_cache_labels_hash(const struct study *s);

/*
 * Points model m's derived arrays (study.h) into the mapped cache file of key in dir, checked in
 * full; m->id_size and m->val_size say the sizes it must hold (derive_models() sets them). Returns
 * 0 on a hit (m owns the mapping: model_derived_free() unmaps it), -1 on a miss (no file, another
 * key or version, a damaged file): then m's arrays are as they were.
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
