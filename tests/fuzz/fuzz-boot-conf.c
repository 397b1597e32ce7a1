/*
 * fuzz-boot-conf.c: libFuzzer target for the boot agent's configuration
 * (src/boot-agent/candidates.c): boot.conf as "peerkey boot-config"
 * writes it and as anyone who can write the initramfs could.
 *
 * The input is written to a file (on /dev/shm) and read with
 * boot_conf_load(), then turned into candidates with
 * boot_conf_candidates(). Checks: a refusal always has a cause; a file
 * read has at most BOOT_PEERS_MAX peers, each with an address and, for a
 * [peer], a valid pinned key id; every candidate has a numeric host, a
 * port of digits, a name, and a pin that is empty or a key id.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "key.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fuzz_path[64];

static void
fuzz_cleanup(void)
{
	unlink(fuzz_path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct candidate	 cand[BOOT_CANDS_MAX];
	struct boot_conf	 c;
	char			*cause = NULL;
	FILE			*f;
	int			 i, n, fd;

	if (fuzz_path[0] == '\0') {
		snprintf(fuzz_path, sizeof(fuzz_path),
		    "/dev/shm/pk-fuzz-boot-conf.XXXXXX");
		if ((fd = mkstemp(fuzz_path)) == -1)
			abort();
		close(fd);
		atexit(fuzz_cleanup);
	}
	if ((f = fopen(fuzz_path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (boot_conf_load(fuzz_path, &c, &cause) != 0) {
		if (cause == NULL)
			abort();
		goto out;
	}
	if (cause != NULL || c.npeers < 0 || c.npeers > BOOT_PEERS_MAX)
		abort();
	for (i = 0; i < c.npeers; i++)
		if (c.peers[i].address == NULL || (!c.peer_mandos[i] &&
		    !pk_keyid_valid(c.peers[i].node_key)))
			abort();
	n = boot_conf_candidates(&c, cand, BOOT_CANDS_MAX, &cause);
	if (n < 0) {
		if (cause == NULL)
			abort();
		goto out;
	}
	for (i = 0; i < n; i++)
		if (cand[i].name[0] == '\0' ||
		    boot_numeric_ok(cand[i].host) != 0 ||
		    cand[i].port[0] == '\0' ||
		    strspn(cand[i].port, "0123456789") !=
		    strlen(cand[i].port) ||
		    (cand[i].pin[0] != '\0' && !pk_keyid_valid(cand[i].pin)))
			abort();
out:
	free(cause);
	boot_conf_free(&c);
	return 0;
}
