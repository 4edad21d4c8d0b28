/*
 * fuzz_config.c — the user configuration reader (config_load: inih plus key names and [ui]) on
 * arbitrary files. XDG_CONFIG_HOME points at a private directory; each input overwrites its
 * nncmp/config.ini. After each load no key may be bound to two actions of one mode (keys.h), the
 * theme name must fit its buffer, and the default bindings are restored for the next input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/tui/tui_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-config-XXXXXX", sub[64], path[80];
static bool ready;
static bool defaults_unique;

/*
 * True when no key is bound to two actions of one mode. (One action may list a key twice,
 * "down = j j": harmless, the key still runs that action.)
 */
static bool keys_unique(void)
{
	struct keymode *m;
	for (size_t k = 0; (m = keymode_at(k)); k++)
		for (size_t i = 0; i < m->n; i++)
			for (int a = 0; a < KEYS_MAX && m->acts[i].keys[a]; a++)
				for (size_t j = i + 1; j < m->n; j++)
					for (int b = 0; b < KEYS_MAX && m->acts[j].keys[b]; b++)
						if (m->acts[i].keys[a] == m->acts[j].keys[b])
							return false;
	return true;
}

/* Removes the private directory when the fuzzer exits. */
static void cleanup(void)
{
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

static void setup(void)
{
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	setenv("XDG_CONFIG_HOME", dir, 1);
	snprintf(sub, sizeof sub, "%s/nncmp", dir);
	mkdir(sub, 0700);
	snprintf(path, sizeof path, "%s/nncmp/config.ini", dir);
	keys_reset(); /* records the defaults */
	ready = true;
	defaults_unique = keys_unique();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	char theme[16];
	memset(theme, 'x', sizeof theme);
	theme[0] = '\0';
	struct nn_err err = {{0}};
	if (config_load(theme, sizeof theme, &err) != 0 &&
	    (!err.msg[0] || memchr(err.msg, '\n', strlen(err.msg))))
		abort(); /* a failure says what went wrong, on one line */
	if (!memchr(theme, '\0', sizeof theme))
		abort();
	if (defaults_unique && !keys_unique())
		abort();
	keys_reset();
	return 0;
}
