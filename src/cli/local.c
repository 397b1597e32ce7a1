/*
 * local.c: this machine's own side of peerkey: the configuration
 * directory and the keys in it, secrets typed by the operator or read
 * from a key file, the peers the local daemon knows, and the test-only
 * crash points of the commands that change a disk.
 *
 * Layout of the configuration directory (default SYSCONFDIR/peerkey,
 * -d/--dir or PEERKEY_DIR to change it; doc/peerkey.8, FILES):
 *	node.key	the node key (peerkeyd's; on the encrypted root)
 *	boot/tls.key	the boot TLS key (copied into the initramfs), or
 *	boot/tls.tpm	a boot TLS key inside the TPM (peerkey init --tpm;
 *			copied into the initramfs, useless elsewhere) and
 *	boot/tls.tcti	the TCTI that reaches that TPM (one line)
 *	boot/pgp.key	the boot OpenPGP secret key (initramfs)
 *	boot/pgp.pub	its public half: what enroll encrypts to
 *	boot.conf	the boot agent's configuration (peerkey-boot(8))
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "file.h"
#include "ident.h"
#include "key.h"
#include "labels.h"
#include "peerkey.h"
#include "pgp.h"
#include "pk_err.h"
#include "secret.h"
#include "tpm.h"

#define SECRET_MAX	8192	/* bytes of a typed or key-file passphrase */

/* The configuration directory. */
const char *
local_dir(void)
{
	return opt_setting(opt_dir, "PEERKEY_DIR", SYSCONFDIR "/peerkey");
}

/* DIR/rel, malloc'ed; exits on OOM. */
char *
local_path(const char *rel)
{
	char	*p;

	if (asprintf(&p, "%s/%s", local_dir(), rel) == -1) {
		fprintf(stderr, "peerkey: out of memory\n");
		out_exit(EXIT_FAIL);
	}
	return p;
}

/* Loads the node key; on failure says what to do and returns -1. */
int
local_load_node(struct pk_identity **out)
{
	char	*path = local_path(LOCAL_NODE_KEY);
	int	 r;

	if ((r = pk_identity_load(path, out)) != 0) {
		fprintf(stderr, "peerkey: node key %s: %s\n  (run \"peerkey "
		    "init\" first%s)\n", path, pk_strerror(r),
		    r == PK_ERR_PERM ? ", or chmod 600 it" : "");
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/*
 * Is the boot TLS key a TPM's (boot/tls.tpm exists)? Returns 1 and, if
 * tcti is not NULL, the TCTI it was made through (boot/tls.tcti, else the
 * default; malloc'ed), or 0.
 */
int
local_boot_tpm(char **tcti)
{
	struct stat	 st;
	char		*path = local_path(LOCAL_BOOT_TPM), *buf = NULL;
	size_t		 len = 0;
	int		 tpm;

	tpm = lstat(path, &st) == 0;
	free(path);
	if (!tpm || tcti == NULL)
		return tpm;
	path = local_path(LOCAL_BOOT_TCTI);
	if (pk_file_read(path, 1024, 0, &buf, &len) == 0) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '\0') {
			free(buf);
			buf = NULL;
		}
	}
	free(path);
	if (buf == NULL && (buf = strdup(PK_TPM_TCTI_DEFAULT)) == NULL) {
		fprintf(stderr, "peerkey: out of memory\n");
		out_exit(EXIT_FAIL);
	}
	*tcti = buf;
	return 1;
}

/* The boot TLS key's id into out (65 bytes); -1 with a message. */
int
local_boot_keyid(char *out)
{
	struct pk_identity	*id;
	char			*path, *cause = NULL;
	int			 r;

	if (local_boot_tpm(NULL)) {
		path = local_path(LOCAL_BOOT_TPM);
		if ((r = pk_tpm_keyfile_keyid(path, out, NULL, &cause)) != 0)
			fprintf(stderr, "peerkey: boot key: %s\n",
			    cause != NULL ? cause : pk_strerror(r));
		free(cause);
		free(path);
		return r != 0 ? -1 : 0;
	}
	path = local_path(LOCAL_BOOT_TLS);
	if ((r = pk_identity_load(path, &id)) != 0)
		fprintf(stderr, "peerkey: boot key %s: %s\n  (run \"peerkey "
		    "init\" first)\n", path, pk_strerror(r));
	else {
		snprintf(out, PK_KEYID_HEXLEN + 1, "%s", id->keyid);
		pk_identity_free(id);
	}
	free(path);
	return r != 0 ? -1 : 0;
}

/* Reads the boot OpenPGP public key (malloc'ed, NUL-terminated). */
int
local_boot_pgp_pub(char **armor, size_t *len)
{
	char	*path = local_path(LOCAL_BOOT_PGP_PUB);
	int	 r;

	r = pk_file_read(path, PK_PGP_MAX_DATA, 0, armor, len);
	if (r == 0 && *len == 0) {
		free(*armor);
		*armor = NULL;
		r = PK_ERR_KEY;
	}
	if (r != 0)
		fprintf(stderr, "peerkey: boot OpenPGP key %s: %s\n  (run "
		    "\"peerkey init\" first)\n", path,
		    r == PK_ERR_NOT_FOUND || r == PK_ERR_SYSTEM ?
		    strerror(errno) : "empty or unreadable");
	free(path);
	return r != 0 ? -1 : 0;
}

/*
 * This machine's identity under name with addresses, signed by its node
 * key id (doc/protocol.md, "Signed identity"): its boot key id and boot
 * OpenPGP public key from the configuration directory, and as sequence
 * number the wall clock in milliseconds, so that each document is newer
 * than the last. Returns the document's base64 (malloc'ed), or NULL
 * after a message on stderr.
 */
char *
local_identity(const struct pk_identity *id, const char *name,
    const char *addresses)
{
	struct pk_ident	 doc;
	struct timespec	 now;
	uint8_t		*raw = NULL;
	size_t		 rawlen, publen;
	char		*pub = NULL, *b64 = NULL, *cause = NULL;

	memset(&doc, 0, sizeof(doc));
	if (local_boot_keyid(doc.boot_keyid) != 0 ||
	    local_boot_pgp_pub(&pub, &publen) != 0)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	doc.seq = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec /
	    1000000;
	snprintf(doc.name, sizeof(doc.name), "%s", name);
	if (strlen(addresses) >= sizeof(doc.addresses)) {
		fprintf(stderr, "peerkey: identity: more than %d bytes of "
		    "addresses\n", PK_IDENT_ADDRS_MAX);
		goto out;
	}
	snprintf(doc.addresses, sizeof(doc.addresses), "%s", addresses);
	doc.boot_pgp = pub;
	if (pk_ident_sign(id, &doc, &raw, &rawlen, &cause) != 0) {
		fprintf(stderr, "peerkey: %s\n", cause != NULL ? cause :
		    "identity: out of memory");
		goto out;
	}
	if ((b64 = pk_ident_b64(raw, rawlen)) == NULL)
		fprintf(stderr, "peerkey: identity: out of memory\n");
out:
	free(raw);
	free(pub);
	free(cause);
	return b64;
}

/*
 * Test hook: PEERKEY_TEST_CRASH_AT=step makes the command die at that
 * step, as kill -9 would (tests/node/cli-enroll.sh); "step:N" at the N-th
 * time the step is reached (the second peer's deposit, say). Never set
 * otherwise (pk_test_crash, pk_err.h).
 */
int
local_test_crash(const char *step)
{
	return pk_test_crash("peerkey", step);
}

/* Reads up to SECRET_MAX bytes of fd into a secret buffer. */
static int
read_all_secret(int fd, char *buf, size_t *len)
{
	ssize_t	 n;
	size_t	 got = 0;

	for (;;) {
		if (got == SECRET_MAX)
			return -1;
		n = read(fd, buf + got, SECRET_MAX - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

/*
 * An existing passphrase of a disk: the whole of keyfile ("-": standard
 * input), as cryptsetup reads a key file; or typed at the terminal without
 * echo (one line). *pass is pk_secret memory. Returns 0 or -1 (said).
 */
int
local_read_secret(const char *keyfile, const char *prompt, char **pass,
    size_t *len)
{
	struct termios	 old, noecho;
	char		*buf;
	int		 fd, r = -1, restore = 0;

	if ((buf = pk_secret_alloc(SECRET_MAX + 1)) == NULL) {
		fprintf(stderr, "peerkey: out of memory\n");
		return -1;
	}
	if (keyfile != NULL) {
		fd = strcmp(keyfile, "-") == 0 ? STDIN_FILENO :
		    open(keyfile, O_RDONLY | O_CLOEXEC);
		if (fd == -1 || read_all_secret(fd, buf, len) != 0) {
			fprintf(stderr, "peerkey: key file %s: %s\n", keyfile,
			    fd == -1 ? strerror(errno) :
			    "unreadable or over 8 KiB");
			goto out;
		}
		if (fd != STDIN_FILENO)
			close(fd);
	} else {
		if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1) {
			fprintf(stderr, "peerkey: no terminal to ask for the "
			    "passphrase: give --key-file FILE\n");
			goto out;
		}
		if (tcgetattr(fd, &old) == 0) {
			noecho = old;
			noecho.c_lflag &= ~(tcflag_t)ECHO;
			restore = tcsetattr(fd, TCSAFLUSH, &noecho) == 0;
		}
		(void)dprintf(fd, "%s", prompt);
		*len = 0;
		while (*len < SECRET_MAX) {
			ssize_t n = read(fd, buf + *len, 1);

			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0 || buf[*len] == '\n')
				break;
			(*len)++;
		}
		buf[*len] = '\0';
		if (restore)
			(void)tcsetattr(fd, TCSAFLUSH, &old);
		(void)dprintf(fd, "\n");
		close(fd);
		if (*len == 0) {
			fprintf(stderr, "peerkey: empty passphrase\n");
			goto out;
		}
	}
	*pass = buf;
	buf = NULL;
	r = 0;
out:
	pk_secret_free(buf);
	return r;
}

/* Frees a peer list. */
void
local_peers_free(struct cli_peer *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].node_keyid);
		free(p[i].addresses);
		free(p[i].labels);
	}
	free(p);
}

/* A status "labels" object (in canonical order) as canonical text. */
static char *
local_labels(json_t *o)
{
	char	 buf[PK_LABELS_MAX + 1];

	peer_labels_text(o, buf, sizeof(buf));
	return strdup(pk_labels_valid(buf) == 0 ? buf : "");
}

/* Is name in the comma-separated list? */
static int
in_list(const char *list, const char *name)
{
	size_t		 n = strlen(name);
	const char	*s = list;

	while (s != NULL && *s) {
		if (strncmp(s, name, n) == 0 && (s[n] == ',' || s[n] == '\0'))
			return 1;
		if ((s = strchr(s, ',')) != NULL)
			s++;
	}
	return 0;
}

/*
 * The peers the local daemon knows that have a node key and an address
 * (the ones this machine can deposit with), all of them or those named
 * in only ("a,b"). Returns 0, or an exit code after a message (also
 * when there is none, unless may_be_empty).
 */
int
local_peers(const char *only, int may_be_empty, struct cli_peer **out,
    size_t *n)
{
	json_t		*resp, *p;
	struct cli_peer	*v;
	const char	*name, *nk, *addr, *s, *e, *st;
	size_t		 i, k = 0;
	char		 one[128];

	resp = ctl_request(json_pack("{s:s}", "cmd", "status"));
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	v = calloc(json_array_size(json_object_get(resp, "peers")) + 1,
	    sizeof(*v));
	if (v == NULL) {
		json_decref(resp);
		return EXIT_FAIL;
	}
	json_array_foreach(json_object_get(resp, "peers"), i, p) {
		name = json_string_value(json_object_get(p, "name"));
		nk = json_string_value(json_object_get(p, "node_keyid"));
		addr = json_string_value(json_object_get(p, "addresses"));
		if (name == NULL || nk == NULL || addr == NULL)
			continue;
		if (only != NULL && !in_list(only, name))
			continue;
		if (*nk == '\0' || *addr == '\0') {
			if (only != NULL) {
				fprintf(stderr, "peerkey: peer %s has no %s: "
				    "it cannot hold a key (\"peerkey peer set "
				    "%s --address ...\")\n", name, *nk ? 
				    "address" : "node key", name);
				local_peers_free(v, k);
				json_decref(resp);
				return EXIT_NOPEER;
			}
			continue;
		}
		v[k].name = strdup(name);
		v[k].node_keyid = strdup(nk);
		v[k].addresses = strdup(addr);
		v[k].labels = local_labels(json_object_get(p, "labels"));
		st = json_string_value(json_object_get(p, "state"));
		v[k].usable = st != NULL && strcmp(st, "pending") != 0 &&
		    strcmp(st, "disabled-by-operator") != 0;
		k++;
	}
	json_decref(resp);
	/* Every name asked for must exist. */
	for (s = only; s != NULL && *s; s = *e ? e + 1 : e) {
		e = s + strcspn(s, ",");
		snprintf(one, sizeof(one), "%.*s", (int)(e - s), s);
		for (i = 0; i < k; i++)
			if (strcmp(v[i].name, one) == 0)
				break;
		if (i == k) {
			fprintf(stderr, "peerkey: no peer named \"%s\" (see "
			    "\"peerkey peer list\")\n", one);
			local_peers_free(v, k);
			return EXIT_NOPEER;
		}
	}
	if (k == 0 && !may_be_empty) {
		fprintf(stderr, "peerkey: no peer to deposit with: add one "
		    "with \"peerkey join\" or \"peerkey peer add\"\n");
		local_peers_free(v, k);
		return EXIT_NOPEER;
	}
	*out = v;
	*n = k;
	return 0;
}
