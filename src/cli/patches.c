/* patches.c — `nncmp patches` (placeholder while it is written). */
#include "cli.h"
int cmd_patches(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return EXIT_INTERNAL;
}
