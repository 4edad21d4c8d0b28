/*
 * cache_evict.h — keeps nncmp's cache directory (neurons_cache_dir()) under a size cap.
 *
 * The caches (derived values *.ndv, neuron statistics *.nst, CSV float32 copies *.csvf) are keyed
 * by their source's path, size, mtime, inode and device, so a changed source leaves its old entry
 * behind. After every cache file written, cache_evict_after_store() deletes the least recently
 * used nncmp cache files of the directory until their total size is at most NNCMP_CACHE_MAX_MB
 * megabytes (MiB; default CACHE_MAX_MB_DEFAULT; 0 keeps only the file just written). "Used" is
 * the file's mtime: a store sets it and every hit sets it again (cache_touch()).
 *
 * Only nncmp cache files are ever deleted: a regular file (not a link) named 16 lowercase hex
 * digits and .ndv, .nst or .csvf whose first 8 bytes are that kind's magic (NNCMPDRV, NNCMPNST,
 * NNCMPCSV). Anything else in the directory is neither counted nor touched; nor are writers'
 * temporary files (HASH.csvf.XXXXXX and the outfile temporaries), which do not match the names.
 */
#ifndef NNCMP_CACHE_EVICT_H
#define NNCMP_CACHE_EVICT_H

#include <stdint.h>

#define CACHE_MAX_MB_DEFAULT 2048

/* The cap in bytes from NNCMP_CACHE_MAX_MB (a whole number of MiB), else the default. */
uint64_t cache_max_bytes(void);

/*
 * Deletes the oldest nncmp cache files in dir (by mtime, ties by name) until the total size of
 * those left is at most max_bytes; never keep (a file name in dir, or NULL). Returns the number
 * of files deleted, or -1 when dir cannot be read.
 */
int cache_evict(const char *dir, uint64_t max_bytes, const char *keep);

/* After writing the cache file path (DIR/NAME): cache_evict(DIR, cache_max_bytes(), NAME). */
void cache_evict_after_store(const char *path);

/* Marks a cache file as just used (its mtime to now); errors are ignored. */
void cache_touch(const char *path);
void cache_touch_fd(int fd);

#endif
