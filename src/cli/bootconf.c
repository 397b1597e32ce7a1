/*
 * bootconf.c: the boot agent's configuration file, written from this
 * machine's boot keys and the peers the local daemon knows.
 *
 * The format is peerkey-boot's (doc/peerkey-boot.8, src/boot-agent/
 * candidates.c): INI, one [boot] section (tls-key, pgp-key, timeouts,
 * switches), one [peer NAME] section per peerkeyd node with "address"
 * (space-separated numeric addresses) and "node-key" (the key id it must
 * show). An existing [boot] section is kept as the operator left it, apart
 * from the keys (tls-key, or tpm-key and tpm-tcti for a TPM boot key,
 * pgp-key, and node-public-key: the node key's public half, which the
 * agent checks every blob's signature against, sblob.h), which follow
 * this machine's files; the [peer] sections are
 * always regenerated.
 * The file is written to a temporary name, fsync'ed and renamed.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "addr.h"
#include "conf.h"
#include "file.h"
#include "peerkey.h"
#include "sblob.h"

#define BOOT_PEERS_MAX		32	/* peerkey-boot reads no more */
#define BOOT_ADDRS_MAX		8
#define BOOT_NAME_MAX		63

/*
 * Appends the [boot] section: the keys (a TPM boot key as tpm-key and
 * tpm-tcti instead of tls-key), then the old section's other lines, or
 * defaults.
 */
static void
bootconf_boot_section(FILE *f, const char *old, const char *nodepub)
{
	const char	*s, *e;
	char		*tls, *tcti = NULL;
	char		*pgp = local_path(LOCAL_BOOT_PGP);
	int		 in = 0, kept = 0;

	if (local_boot_tpm(&tcti)) {
		tls = local_path(LOCAL_BOOT_TPM);
		fprintf(f, "[boot]\ntpm-key = %s\ntpm-tcti = %s\n", tls,
		    tcti);
	} else {
		tls = local_path(LOCAL_BOOT_TLS);
		fprintf(f, "[boot]\ntls-key = %s\n", tls);
	}
	fprintf(f, "pgp-key = %s\nnode-public-key = %s\n", pgp, nodepub);
	for (s = old; s != NULL && *s; s = *e ? e + 1 : e) {
		e = s + strcspn(s, "\n");
		if (*s == '[') {
			in = strncmp(s, "[boot]", 6) == 0;
			continue;
		}
		if (!in || e == s || *s == '#' || *s == ';' ||
		    strncmp(s, "tls-key", 7) == 0 ||
		    strncmp(s, "tpm-key", 7) == 0 ||
		    strncmp(s, "tpm-tcti", 8) == 0 ||
		    strncmp(s, "pgp-key", 7) == 0 ||
		    strncmp(s, "node-public-key", 15) == 0)
			continue;
		fprintf(f, "%.*s\n", (int)(e - s), s);
		kept++;
	}
	if (!kept)
		fprintf(f, "connect-timeout = 3s\nexchange-timeout = 10s\n"
		    "retry-max = 30s\n");
	free(tls);
	free(tcti);
	free(pgp);
}

/* Is the host part of addr numeric (what peerkey-boot accepts)? */
static int
bootconf_numeric(const char *addr)
{
	char		 host[256], port[16], *pct;
	unsigned char	 b[16];

	if (pk_addr_split(addr, host, sizeof(host), port, sizeof(port),
	    PK_DEFAULT_PORT_STR) != 0)
		return 0;
	if ((pct = strchr(host, '%')) != NULL)
		*pct = '\0';
	return inet_pton(AF_INET, host, b) == 1 ||
	    inet_pton(AF_INET6, host, b) == 1;
}

/*
 * Writes the boot configuration to path. Returns 1 if the file changed,
 * 0 if it was already so, -1 on failure (said).
 */
int
bootconf_write(const char *path, int quiet)
{
	struct cli_peer	*v = NULL;
	FILE		*f = NULL;
	const char	*a;
	char		*old, *new = NULL;
	char		 list[1024], w[PK_ADDR_LEN], nodepub[65];
	struct pk_identity *node = NULL;
	uint8_t		 raw[PK_SBLOB_KEY_LEN];
	size_t		 n = 0, i, newlen = 0, oldlen;
	int		 r, naddr, npeers = 0, ret = -1;

	/* The node key's public half: the agent's check of every blob. */
	if (local_load_node(&node) != 0)
		return -1;
	r = pk_ed25519_raw(node, raw);
	pk_identity_free(node);
	if (r != 0) {
		fprintf(stderr, "peerkey: boot-config: the node key is not an "
		    "Ed25519 key\n");
		return -1;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(nodepub + 2 * i, 3, "%02x", raw[i]);
	if ((r = local_peers(NULL, 1, &v, &n)) != 0)
		return -1;
	if (pk_file_read(path, PK_CONF_MAX_FILE, 0, &old, &oldlen) != 0)
		old = NULL;	/* none yet (or unreadable): defaults */
	if ((f = open_memstream(&new, &newlen)) == NULL)
		goto out;
	fprintf(f, "# %s: written by \"peerkey boot-config\"; the [peer] "
	    "sections are\n# regenerated from peerkeyd's peers, [boot] is "
	    "kept. See peerkey-boot(8).\n# After a change, rebuild the "
	    "initramfs: update-initramfs -u\n", path);
	bootconf_boot_section(f, old, nodepub);
	for (i = 0; i < n; i++) {
		if (strlen(v[i].name) > BOOT_NAME_MAX ||
		    npeers == BOOT_PEERS_MAX) {
			if (!quiet)
				fprintf(stderr, "peerkey: boot-config: peer %s "
				    "left out (name over %d bytes, or over "
				    "%d peers)\n", v[i].name, BOOT_NAME_MAX,
				    BOOT_PEERS_MAX);
			continue;
		}
		a = v[i].addresses;
		naddr = 0;
		list[0] = '\0';
		while ((r = pk_list_next(&a, w, sizeof(w))) != 0) {
			if (r < 0 || !bootconf_numeric(w) ||
			    naddr == BOOT_ADDRS_MAX ||
			    pk_list_add(list, sizeof(list), w) != 0) {
				if (!quiet)
					fprintf(stderr, "peerkey: boot-config: "
					    "peer %s: address %s left out (the "
					    "initramfs needs numeric "
					    "addresses, at most %d)\n",
					    v[i].name, w, BOOT_ADDRS_MAX);
				continue;
			}
			naddr++;
		}
		if (naddr > 0) {
			fprintf(f, "\n[peer %s]\naddress = %s\nnode-key = %s\n",
			    v[i].name, list, v[i].node_keyid);
			npeers++;
		}
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (old != NULL && strcmp(old, new) == 0) {
		ret = 0;
		goto out;
	}
	if (pk_file_write(path, new, newlen, 0644, 0) != 0) {
		fprintf(stderr, "peerkey: cannot write %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	ret = 1;
out:
	if (f != NULL)
		fclose(f);
	free(old);
	free(new);
	local_peers_free(v, n);
	return ret;
}

/*
 * After enroll, join or remove: rewrite the default boot configuration
 * if this machine has been initialised, and say when the initramfs must
 * be rebuilt.
 */
void
bootconf_refresh(const char *why)
{
	struct stat	 st;
	char		*dir = local_path(LOCAL_BOOT_DIR);
	char		*path = local_path(LOCAL_BOOT_CONF);
	int		 r;

	if (stat(dir, &st) == 0 && (r = bootconf_write(path, 1)) == 1)
		fprintf(opt_json ? stderr : stdout, "%s updated: rebuild the "
		    "initramfs (update-initramfs -u) before the next boot\n",
		    path);
	(void)why;
	free(dir);
	free(path);
}
