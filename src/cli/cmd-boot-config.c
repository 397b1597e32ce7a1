/*
 * cmd-boot-config.c: "peerkey boot-config [--out FILE] [--tcti TCTI]
 * [--update-initramfs]": writes what the initramfs needs (bootconf.c).
 *
 * --tcti records, for a TPM boot key, how the initramfs reaches the TPM
 * (boot/tls.tcti), when that differs from how "peerkey init --tpm" did
 * (a resource manager daemon on the running system, a software TPM in a
 * test): every later boot configuration, also those enroll and join
 * refresh, then names it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "file.h"
#include "peerkey.h"

static const struct option bc_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "tcti", required_argument, NULL, 't' },
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
	char		*path = NULL, *tpath, *line;
	const char	*tcti = NULL, *out = NULL;
	json_t		*j;
	int		 ch, r, update = 0;

	while ((ch = getopt_long(argc, argv, "o:t:u", bc_opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tcti = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'u':
			update = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return EXIT_USAGE;
	if (tcti != NULL) {
		if (!local_boot_tpm(NULL) || *tcti == '\0' ||
		    strchr(tcti, '\n') != NULL) {
			fprintf(stderr, "peerkey: boot-config --tcti: %s\n",
			    *tcti == '\0' || strchr(tcti, '\n') != NULL ?
			    "not a TCTI" : "the boot key is not a TPM key "
			    "(peerkey init --tpm)");
			return EXIT_USAGE;
		}
		tpath = local_path(LOCAL_BOOT_TCTI);
		if (asprintf(&line, "%s\n", tcti) == -1 ||
		    pk_file_write(tpath, line, strlen(line), 0644, 0) != 0) {
			fprintf(stderr, "peerkey: cannot write %s: %s\n", tpath,
			    strerror(errno));
			free(tpath);
			return EXIT_LOCAL;
		}
		free(line);
		free(tpath);
	}
	if (out != NULL)
		path = strdup(out);
	if (path == NULL)
		path = local_path(LOCAL_BOOT_CONF);
	if ((r = bootconf_write(path, 0)) < 0) {
		free(path);
		return EXIT_FAIL;
	}
	if (opt_json) {
		j = json_pack("{s:s, s:b}", "path", path, "changed", r);
		out_result(j);
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
