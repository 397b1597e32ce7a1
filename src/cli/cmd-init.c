/*
 * cmd-init.c: "peerkey init [--dir DIR]": this machine's node key and
 * boot identity (boot TLS key, boot OpenPGP key pair), made once.
 *
 * Idempotent: a key that exists is kept and its id printed again. Modes:
 * private keys 0600, the boot directory 0700; the node key belongs to
 * the user "peerkey" when that user exists (peerkeyd drops to it).
 * Every file is written to a temporary name, fsync'ed and renamed, so a
 * crash leaves a key either whole or absent.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "file.h"
#include "key.h"
#include "peerkey.h"
#include "pgp.h"
#include "pk_err.h"
#include "secret.h"

/* mkdir -p with mode for the last component. */
static int
init_mkdir(const char *path, mode_t mode)
{
	char	*p, *s;

	if ((p = strdup(path)) == NULL)
		return -1;
	for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return -1;
	return chmod(path, mode);
}

/* Loads or makes the Ed25519 key at rel; its id into keyid. */
static int
init_key(const char *rel, const char *what, int chown_peerkey, char *keyid,
    int *made)
{
	struct pk_identity	*id = NULL;
	struct passwd		*pw;
	char			*path = local_path(rel);
	int			 r;

	*made = 0;
	if ((r = pk_identity_load(path, &id)) == PK_ERR_NOT_FOUND) {
		if ((r = pk_identity_generate(&id)) == 0 &&
		    (r = pk_identity_save(id, path, 0)) == 0)
			*made = 1;
	}
	if (r != 0) {
		fprintf(stderr, "peerkey: %s %s: %s%s\n", what, path,
		    pk_strerror(r), r == PK_ERR_PERM ? " (chmod 600 it)" :
		    r == PK_ERR_KEY ? " (not an Ed25519 key: move it away "
		    "to make a new one)" : "");
		pk_identity_free(id);
		free(path);
		return -1;
	}
	if (*made && chown_peerkey && (pw = getpwnam("peerkey")) != NULL &&
	    chown(path, pw->pw_uid, pw->pw_gid) == -1)
		fprintf(stderr, "peerkey: warning: chown %s to peerkey: %s\n",
		    path, strerror(errno));
	snprintf(keyid, PK_KEYID_HEXLEN + 1, "%s", id->keyid);
	pk_identity_free(id);
	free(path);
	return 0;
}

/* Loads or makes the boot OpenPGP key pair. */
static int
init_pgp(int *made)
{
	struct stat	 st;
	char		*sec = local_path(LOCAL_BOOT_PGP);
	char		*pub = local_path(LOCAL_BOOT_PGP_PUB);
	char		*dir = local_path(LOCAL_BOOT_DIR);
	char		*pa = NULL, *sa = NULL, *cause = NULL;
	char		 uid[300], host[256];
	size_t		 pl, sl;
	int		 hs, hp, r, ret = -1;

	*made = 0;
	hs = stat(sec, &st) == 0;
	hp = stat(pub, &st) == 0;
	if (hs && hp) {
		ret = 0;
		goto out;
	}
	if (hs != hp) {
		fprintf(stderr, "peerkey: %s exists but %s does not: restore "
		    "it, or move both away to make a new pair\n",
		    hs ? sec : pub, hs ? pub : sec);
		goto out;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(uid, sizeof(uid), "peerkey boot key of %s", host);
	if ((r = pk_pgp_generate(dir, uid, &pa, &pl, &sa, &sl,
	    &cause)) != 0) {
		fprintf(stderr, "peerkey: cannot make the boot OpenPGP key: "
		    "%s (%s)\n", pk_strerror(r), cause ? cause : "");
		goto out;
	}
	/* The secret first: a public key alone would be used to encrypt. */
	if (pk_file_write(sec, sa, sl, 0600, 0) != 0 ||
	    pk_file_write(pub, pa, pl, 0644, 0) != 0) {
		fprintf(stderr, "peerkey: cannot write %s: %s\n", sec,
		    strerror(errno));
		(void)unlink(sec);
		goto out;
	}
	*made = 1;
	ret = 0;
out:
	free(cause);
	free(pa);
	pk_secret_free(sa);
	free(sec);
	free(pub);
	free(dir);
	return ret;
}

int
cmd_init(int argc, char **argv)
{
	char	 node[PK_KEYID_HEXLEN + 1], boot[PK_KEYID_HEXLEN + 1];
	char	*bootdir, *pub;
	int	 mn, mb, mp;
	json_t	*j;

	if (argc != 1)
		return EXIT_USAGE;
	umask(077);
	bootdir = local_path(LOCAL_BOOT_DIR);
	if (init_mkdir(local_dir(), 0755) != 0 ||
	    init_mkdir(bootdir, 0700) != 0) {
		fprintf(stderr, "peerkey: cannot make %s: %s\n", bootdir,
		    strerror(errno));
		free(bootdir);
		return EXIT_LOCAL;
	}
	free(bootdir);
	if (init_key(LOCAL_NODE_KEY, "node key", 1, node, &mn) != 0 ||
	    init_key(LOCAL_BOOT_TLS, "boot TLS key", 0, boot, &mb) != 0 ||
	    init_pgp(&mp) != 0)
		return EXIT_LOCAL;
	pub = local_path(LOCAL_BOOT_PGP_PUB);
	if (opt_json) {
		j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}",
		    "dir", local_dir(), "node_keyid", node, "boot_keyid", boot,
		    "boot_pgp_public", pub, "node_key_created", mn,
		    "boot_key_created", mb, "boot_pgp_created", mp);
		ctl_print_json(j);
		json_decref(j);
	} else {
		printf("node key     %s  (%s)\n", node, mn ? "new" : "kept");
		printf("boot key     %s  (%s)\n", boot, mb ? "new" : "kept");
		printf("boot OpenPGP %s  (%s)\n", pub, mp ? "new" : "kept");
		if (mn || mb || mp)
			printf("\nNext: start peerkeyd, then \"peerkey invite\""
			    " on a member and \"peerkey join CODE\" here, or "
			    "\"peerkey peer add\".\n");
	}
	free(pub);
	return EXIT_OK;
}
