/*
 * cmd-init.c: "peerkey init [--tpm [--tpm-pcrs LIST] [--tcti TCTI]]":
 * this machine's node key and boot identity (boot TLS key, boot OpenPGP
 * key pair), made once.
 *
 * With --tpm the boot TLS key is made inside the TPM (tpm.h): boot/tls.tpm
 * holds what the TPM gave back, boot/tls.tcti the TCTI that reaches it;
 * with --tpm-pcrs the TPM signs with it only while those PCRs keep their
 * present values. A machine whose boot key is a TPM key keeps it on every
 * later init, with or without --tpm. An existing software boot key
 * (boot/tls.key) is not replaced by --tpm: its key id is what the peers
 * know, and there is no boot key rotation yet (the command says what to
 * do instead).
 *
 * Idempotent: a key that exists is kept and its id printed again. Modes:
 * private keys 0600, the boot directory 0700, every file root's. It needs
 * no daemon: it is the step before peerkeyd can start. peerkeyd, which
 * runs as its own user, gets the node key from systemd (LoadCredential=
 * in peerkeyd.service), so the file stays readable by root alone.
 * Every file is written to a temporary name, fsync'ed and renamed, so a
 * crash leaves a key either whole or absent.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "tpm.h"

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
init_key(const char *rel, const char *what, char *keyid, int *made)
{
	struct pk_identity	*id = NULL;
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

/*
 * Loads or makes the boot TLS key inside the TPM (boot/tls.tpm) and
 * records the TCTI (boot/tls.tcti). *pcrs receives the PCRs the key is
 * bound to ("" for none).
 */
static int
init_tpm_key(const char *tcti, const char *pcr_list,
    char *keyid, char *pcrs, size_t pcrslen, int *made)
{
	unsigned long	 mask = 0, have = 0;
	char		*path = local_path(LOCAL_BOOT_TPM);
	char		*tpath = local_path(LOCAL_BOOT_TCTI);
	char		*soft = local_path(LOCAL_BOOT_TLS);
	char		*pem = NULL, *cause = NULL, *line = NULL;
	size_t		 len = 0, n = 0;
	int		 i, r, ret = -1;

	*made = 0;
	if (local_boot_tpm(NULL)) {
		if ((r = pk_tpm_keyfile_keyid(path, keyid, &have,
		    &cause)) != 0) {
			fprintf(stderr, "peerkey: boot TLS key: %s\n", cause);
			goto out;
		}
		if (pcr_list != NULL && (pk_tpm_pcrs_parse(pcr_list,
		    &mask, NULL) != 0 || mask != have))
			fprintf(stderr, "peerkey: warning: the TPM boot key %s "
			    "is kept as it is, with its own PCR policy\n",
			    path);
		ret = 0;
		goto out;
	}
	if (access(soft, F_OK) == 0) {
		fprintf(stderr, "peerkey: %s is a software boot key, which "
		    "the peers know by its key id; peerkey has no boot key "
		    "rotation yet. To move to a TPM key: \"peerkey remove\" "
		    "this machine on its peers, move %s away, then \"peerkey "
		    "init --tpm\", join and enroll again\n", soft, soft);
		goto out;
	}
	if (pcr_list != NULL && (r = pk_tpm_pcrs_parse(pcr_list, &mask,
	    &cause)) != 0) {
		fprintf(stderr, "peerkey: --tpm-pcrs: %s\n", cause);
		goto out;
	}
	if ((r = pk_tpm_keygen(tcti, mask, &pem, &len, keyid,
	    &cause)) != 0) {
		fprintf(stderr, "peerkey: cannot make the boot key in the "
		    "TPM: %s\n", cause != NULL ? cause : pk_strerror(r));
		goto out;
	}
	/* The TCTI first: a key without it would be looked for at the
	 * default. */
	if (asprintf(&line, "%s\n", tcti != NULL ? tcti :
	    PK_TPM_TCTI_DEFAULT) == -1) {
		line = NULL;
		goto out;
	}
	if (pk_file_write(tpath, line, strlen(line), 0644, 0) != 0 ||
	    pk_file_write(path, pem, len, 0600, PK_FILE_NOCLOBBER) != 0) {
		fprintf(stderr, "peerkey: cannot write %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	*made = 1;
	have = mask;
	ret = 0;
out:
	pcrs[0] = '\0';
	for (i = 0; ret == 0 && i <= PK_TPM_PCR_MAX; i++)
		if (have & (1UL << i))
			n += (size_t)snprintf(pcrs + n, pcrslen > n ?
			    pcrslen - n : 0, "%s%d", n > 0 ? "," : "", i);
	free(cause);
	free(pem);
	free(line);
	free(path);
	free(tpath);
	free(soft);
	return ret;
}

static const struct option init_opts[] = {
	{ "tpm", no_argument, NULL, 't' },
	{ "tpm-pcrs", required_argument, NULL, 'p' },
	{ "tcti", required_argument, NULL, 'T' },
	{ NULL, 0, NULL, 0 }
};

int
cmd_init(int argc, char **argv)
{
	char		 node[PK_KEYID_HEXLEN + 1], boot[PK_KEYID_HEXLEN + 1];
	char		 pcrs[80];
	char		*bootdir, *pub;
	const char	*tcti = NULL, *pcr_list = NULL;
	int		 ch, mn, mb, mp, tpm = 0, r;
	json_t		*j;

	while ((ch = getopt_long(argc, argv, "", init_opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tpm = 1;
			break;
		case 'p':
			pcr_list = optarg;
			break;
		case 'T':
			tcti = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (!tpm && (pcr_list != NULL || tcti != NULL)))
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
	if (init_key(LOCAL_NODE_KEY, "node key", node, &mn) != 0)
		return EXIT_LOCAL;
	/* A TPM key, once made, is the boot key, --tpm or not. */
	tpm = tpm || local_boot_tpm(NULL);
	if (tpm)
		r = init_tpm_key(tcti, pcr_list, boot, pcrs, sizeof(pcrs), &mb);
	else
		r = init_key(LOCAL_BOOT_TLS, "boot TLS key", boot, &mb);
	if (r != 0 || init_pgp(&mp) != 0)
		return EXIT_LOCAL;
	pub = local_path(LOCAL_BOOT_PGP_PUB);
	if (opt_json) {
		j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b}",
		    "dir", local_dir(), "node_keyid", node, "boot_keyid", boot,
		    "boot_pgp_public", pub, "node_key_created", mn,
		    "boot_key_created", mb, "boot_pgp_created", mp,
		    "boot_key_tpm", tpm);
		if (tpm)
			json_object_set_new(j, "boot_key_pcrs",
			    json_string(pcrs));
		out_result(j);
		json_decref(j);
	} else {
		printf("node key     %s  (%s)\n", node, mn ? "new" : "kept");
		printf("boot key     %s  (%s%s%s%s)\n", boot, mb ? "new" :
		    "kept", tpm ? ", in the TPM" : "", tpm && pcrs[0] != '\0' ?
		    ", bound to PCR " : "", tpm ? pcrs : "");
		printf("boot OpenPGP %s  (%s)\n", pub, mp ? "new" : "kept");
		if (mn || mb || mp)
			printf("\nNext: start peerkeyd (\"systemctl enable "
			    "--now peerkeyd\"), then \"peerkey invite\" on a "
			    "member and \"peerkey join CODE\" here, or "
			    "\"peerkey peer add\".\n");
	}
	free(pub);
	return EXIT_OK;
}
