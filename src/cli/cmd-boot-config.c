/*
 * cmd-boot-config.c: "peerkey boot-config [--out FILE]
 * [--update-initramfs]": writes what the initramfs needs (bootconf.c).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "peerkey.h"

static const struct option bc_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "update-initramfs", no_argument, NULL, 'u' },
	{ NULL, 0, NULL, 0 }
};

/* Runs update-initramfs -u; returns its exit status. */
static int
bc_update_initramfs(void)
{
	pid_t	 pid;
	int	 st;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execlp("update-initramfs", "update-initramfs", "-u",
		    (char *)NULL);
		fprintf(stderr, "peerkey: update-initramfs not found (dracut: "
		    "run \"dracut -f\")\n");
		_exit(127);
	}
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int
cmd_boot_config(int argc, char **argv)
{
	char	*path = NULL;
	json_t	*j;
	int	 ch, r, update = 0;

	optind = 0;	/* re-initialise: main() scanned with "+" */
	while ((ch = getopt_long(argc, argv, "o:u", bc_opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			free(path);
			path = strdup(optarg);
			break;
		case 'u':
			update = 1;
			break;
		default:
			free(path);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		free(path);
		return EXIT_USAGE;
	}
	if (path == NULL)
		path = local_path(LOCAL_BOOT_CONF);
	if ((r = bootconf_write(path, 0)) < 0) {
		free(path);
		return EXIT_FAIL;
	}
	if (opt_json) {
		j = json_pack("{s:s, s:b}", "path", path, "changed", r);
		ctl_print_json(j);
		json_decref(j);
	} else
		printf("%s %s%s\n", path, r ? "written" : "unchanged",
		    r && !update ? ": rebuild the initramfs (update-initramfs"
		    " -u, or peerkey boot-config --update-initramfs)" : "");
	free(path);
	if (update && bc_update_initramfs() != 0) {
		fprintf(stderr, "peerkey: update-initramfs failed\n");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
