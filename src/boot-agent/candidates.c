/*
 * candidates.c: the boot configuration file, and the static candidates it
 * lists.
 *
 * The file is INI, read through libpeerkey's conf.c so that every bad
 * value is reported as "file:line: ...". One [boot] section holds the
 * keys, timeouts and switches; each [peer NAME] section is a peerkeyd
 * node (addresses, and the node key id it must show), each [mandos NAME]
 * section a Mandos server. conf.c wants a fixed table, and refuses unknown
 * sections, so the file is read once, its [peer ...] and [mandos ...]
 * headers are collected, and the table is built from the fixed items plus
 * two items per such section. doc/peerkey-boot.8 describes the format.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "boot.h"
#include "conf.h"
#include "file.h"
#include "key.h"
#include "pk_err.h"
#include "sblob.h"
#include "tpm.h"

static const char *const trust_choices[] = { "any", "pinned", NULL };

#define B(name)	offsetof(struct boot_conf, name)

/* The fixed part of the table: the [boot] section. */
static const struct pk_conf_item boot_items[] = {
	{ "boot", "tls-key", PK_CONF_PATH, B(tls_key), 0, 4095,
	    SYSCONFDIR "/peerkey/boot/tls.key", NULL },
	{ "boot", "tpm-key", PK_CONF_PATH, B(tpm_key), 0, 4095,
	    NULL, NULL },
	{ "boot", "tpm-tcti", PK_CONF_STRING, B(tpm_tcti), 1, 255,
	    PK_TPM_TCTI_DEFAULT, NULL },
	{ "boot", "tpm-timeout", PK_CONF_DURATION, B(tpm_timeout_ms),
	    100, 600000, "10s", NULL },
	{ "boot", "pgp-key", PK_CONF_PATH, B(pgp_key), 0, 4095,
	    SYSCONFDIR "/peerkey/boot/pgp.key", NULL },
	{ "boot", "node-public-key", PK_CONF_STRING, B(node_pub), 64, 64,
	    NULL, NULL },
	{ "boot", "accept-unsigned", PK_CONF_BOOL, B(accept_unsigned), 0, 0,
	    "no", NULL },
	{ "boot", "work-directory", PK_CONF_PATH, B(workdir), 0, 4000,
	    "/run", NULL },
	{ "boot", "connect-timeout", PK_CONF_DURATION, B(connect_ms),
	    100, 3600000, "3s", NULL },
	{ "boot", "exchange-timeout", PK_CONF_DURATION, B(exchange_ms),
	    100, 3600000, "10s", NULL },
	{ "boot", "retry-min", PK_CONF_DURATION, B(retry_min_ms),
	    100, 3600000, "1s", NULL },
	{ "boot", "retry-max", PK_CONF_DURATION, B(retry_max_ms),
	    100, 3600000, "30s", NULL },
	{ "boot", "give-up", PK_CONF_DURATION, B(give_up_ms),
	    0, 0, "0", NULL },
	{ "boot", "mdns", PK_CONF_BOOL, B(mdns), 0, 0, "yes", NULL },
	{ "boot", "mdns-mandos", PK_CONF_BOOL, B(mdns_mandos), 0, 0,
	    "yes", NULL },
	{ "boot", "mdns-trust", PK_CONF_ENUM, B(mdns_trust), 0, 0, "any",
	    trust_choices },
	{ "boot", "mdns-interfaces", PK_CONF_STRING, B(mdns_interfaces),
	    0, 1024, NULL, NULL },
	{ "boot", "prompt", PK_CONF_BOOL, B(prompt), 0, 0, "yes", NULL },
	{ "boot", "prompt-device", PK_CONF_PATH, B(prompt_device), 0, 4095,
	    "/dev/console", NULL },
	{ NULL }
};
#define NBOOT_ITEMS	(sizeof(boot_items) / sizeof(boot_items[0]) - 1)

/* Returns 1 if s is a usable peer name: 1..63 of [A-Za-z0-9._:-]. */
static int
valid_name(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n >= BOOT_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._:-", s[i]) == NULL)
			return 0;
	return 1;
}

/*
 * Finds the "[peer NAME]" and "[mandos NAME]" headers of text and records
 * their names in c. Other headers are left for conf.c to refuse.
 */
static int
scan_sections(const char *name, const char *text, struct boot_conf *c,
    char **cause)
{
	const char	*p = text, *e, *s, *end;
	size_t		 n;
	int		 lineno = 0, mandos, i;

	for (; *p != '\0'; p = *e == '\0' ? e : e + 1) {
		lineno++;
		for (e = p; *e != '\0' && *e != '\n'; e++)
			;
		for (s = p; s < e && (*s == ' ' || *s == '\t'); s++)
			;
		if (s == e || *s != '[')
			continue;
		end = memchr(s, ']', (size_t)(e - s));
		if (end == NULL)
			continue;
		s++;
		if ((size_t)(end - s) > 5 && strncmp(s, "peer ", 5) == 0) {
			mandos = 0;
			s += 5;
		} else if ((size_t)(end - s) > 7 &&
		    strncmp(s, "mandos ", 7) == 0) {
			mandos = 1;
			s += 7;
		} else
			continue;
		n = (size_t)(end - s);
		if (!valid_name(s, n)) {
			pk_cause_set(cause, "%s:%d: \"%.*s\" is "
			    "not a peer name (1 to 63 letters, digits, "
			    "\".\", \"_\", \":\", \"-\")", name, lineno,
			    (int)(n > 80 ? 80 : n), s);
			return PK_ERR_CONF;
		}
		for (i = 0; i < c->npeers; i++) {
			if (strlen(c->peer_name[i]) == n &&
			    strncmp(c->peer_name[i], s, n) == 0) {
				pk_cause_set(cause, "%s:%d: peer \"%.*s\" is "
				    "defined twice", name, lineno, (int)n, s);
				return PK_ERR_CONF;
			}
		}
		if (c->npeers == BOOT_PEERS_MAX) {
			pk_cause_set(cause, "%s:%d: more than "
			    "%d peers", name, lineno, BOOT_PEERS_MAX);
			return PK_ERR_CONF;
		}
		memcpy(c->peer_name[c->npeers], s, n);
		c->peer_name[c->npeers][n] = '\0';
		c->peer_mandos[c->npeers] = mandos;
		c->npeers++;
	}
	return 0;
}

/* Section names for the dynamic table ("peer h2", "mandos m1"). */
static char	sect_names[BOOT_PEERS_MAX][BOOT_NAME_MAX + 8];

/* Builds the whole table for c (fixed items, then two per peer). */
static struct pk_conf_item *
build_table(const struct boot_conf *c)
{
	struct pk_conf_item	*t;
	size_t			 n = 0;
	int			 i;

	t = calloc(NBOOT_ITEMS + 2 * (size_t)c->npeers + 1, sizeof(*t));
	if (t == NULL)
		return NULL;
	memcpy(t, boot_items, NBOOT_ITEMS * sizeof(*t));
	n = NBOOT_ITEMS;
	for (i = 0; i < c->npeers; i++) {
		snprintf(sect_names[i], sizeof(sect_names[i]), "%s %s",
		    c->peer_mandos[i] ? "mandos" : "peer", c->peer_name[i]);
		t[n].section = sect_names[i];
		t[n].name = "address";
		t[n].type = PK_CONF_STRING;
		t[n].offset = B(peers[i].address);
		t[n].min = 1;
		t[n].max = 1024;
		n++;
		if (!c->peer_mandos[i]) {
			t[n].section = sect_names[i];
			t[n].name = "node-key";
			t[n].type = PK_CONF_STRING;
			t[n].offset = B(peers[i].node_key);
			t[n].min = PK_KEYID_HEXLEN;
			t[n].max = PK_KEYID_HEXLEN;
			n++;
		}
	}
	return t;
}

/* Checks what the table cannot: required keys, address lists, key ids. */
static int
check_peers(const char *name, struct boot_conf *c, char **cause)
{
	const char	*list;
	char		 host[BOOT_HOST_MAX], port[BOOT_PORT_MAX], defport[8];
	char		 w[PK_ADDR_LEN];
	int		 i, naddr, r;

	for (i = 0; i < c->npeers; i++) {
		if (c->peers[i].address == NULL) {
			pk_cause_set(cause, "%s: [%s %s]: "
			    "address is missing", name, c->peer_mandos[i] ?
			    "mandos" : "peer", c->peer_name[i]);
			return PK_ERR_CONF;
		}
		if (!c->peer_mandos[i] && (c->peers[i].node_key == NULL ||
		    !pk_keyid_valid(c->peers[i].node_key))) {
			pk_cause_set(cause, "%s: [peer %s]: "
			    "node-key %s", name, c->peer_name[i],
			    c->peers[i].node_key == NULL ? "is missing" :
			    "is not a key id (64 hex digits)");
			return PK_ERR_CONF;
		}
		if (c->peers[i].node_key != NULL)
			pk_keyid_normalize(c->peers[i].node_key);
		list = c->peers[i].address;
		snprintf(defport, sizeof(defport), "%d", PK_DEFAULT_PORT);
		naddr = 0;
		while ((r = pk_list_next(&list, w, sizeof(w))) != 0) {
			if (r < 0 || ++naddr > BOOT_ADDRS_MAX ||
			    pk_addr_split(w, host, sizeof(host), port,
			    sizeof(port), defport) != 0 ||
			    boot_numeric_ok(host) != 0) {
				pk_cause_set(cause, "%s: [%s "
				    "%s]: address \"%.80s\" is not a numeric "
				    "address (or more than %d)", name,
				    c->peer_mandos[i] ? "mandos" : "peer",
				    c->peer_name[i], w, BOOT_ADDRS_MAX);
				return PK_ERR_CONF;
			}
		}
	}
	return 0;
}

/*
 * Loads the boot configuration at path into c (which it initialises).
 * Returns 0, or a PK_ERR_* with *cause set for the operator.
 */
int
boot_conf_load(const char *path, struct boot_conf *c, char **cause)
{
	struct pk_conf_item	*table = NULL;
	char			*text = NULL;
	size_t			 len;
	int			 r;

	memset(c, 0, sizeof(*c));
	if ((r = pk_conf_defaults(boot_items, c, cause)) != 0)
		return r;
	if ((r = pk_file_read(path, PK_CONF_MAX_FILE, 0, &text, &len)) != 0) {
		pk_cause_set(cause, "%s: %s", path,
		    r == PK_ERR_SYSTEM ? strerror(errno) : pk_strerror(r));
		return r;
	}
	if ((r = scan_sections(path, text, c, cause)) != 0)
		goto out;
	if ((table = build_table(c)) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	if ((r = pk_conf_load_string(path, text, len, table, c, cause)) != 0)
		goto out;
	/* The node's public key, which every blob must be signed by. */
	if (c->node_pub != NULL) {
		if (pk_hex32(c->node_pub, c->node_key) != 0) {
			pk_cause_set(cause, "%s: [boot] node-public-key: not "
			    "64 hex digits", path);
			r = PK_ERR_CONF;
			goto out;
		}
		c->has_node_key = 1;
	}
	r = check_peers(path, c, cause);
out:
	free(table);
	free(text);
	return r;
}

/* Frees what boot_conf_load() allocated. */
void
boot_conf_free(struct boot_conf *c)
{
	int	i;

	pk_conf_free(boot_items, c);
	for (i = 0; i < BOOT_PEERS_MAX; i++) {
		free(c->peers[i].address);
		free(c->peers[i].node_key);
		c->peers[i].address = c->peers[i].node_key = NULL;
	}
}

/*
 * Fills cand[0 .. max) with one candidate per configured address, in file
 * order. Returns the count, or PK_ERR_TOO_LARGE.
 */
int
boot_conf_candidates(const struct boot_conf *c, struct candidate *cand,
    int max, char **cause)
{
	const char	*list;
	char		 defport[8], w[PK_ADDR_LEN];
	int		 i, n = 0;

	snprintf(defport, sizeof(defport), "%d", PK_DEFAULT_PORT);
	for (i = 0; i < c->npeers; i++) {
		list = c->peers[i].address;
		while (pk_list_next(&list, w, sizeof(w)) != 0) {
			if (n == max) {
				pk_cause_set(cause, "more than %d addresses",
				    max);
				return PK_ERR_TOO_LARGE;
			}
			memset(&cand[n], 0, sizeof(cand[n]));
			boot_strlcpy(cand[n].name, c->peer_name[i],
			    sizeof(cand[n].name));
			(void)pk_addr_split(w, cand[n].host,
			    sizeof(cand[n].host), cand[n].port,
			    sizeof(cand[n].port), defport);
			cand[n].proto = c->peer_mandos[i] ? CAND_MANDOS :
			    CAND_NATIVE;
			cand[n].source = CAND_STATIC;
			if (c->peers[i].node_key != NULL)
				boot_strlcpy(cand[n].pin, c->peers[i].node_key,
				    sizeof(cand[n].pin));
			n++;
		}
	}
	return n;
}

/* Returns 0 if host is a numeric IPv4 or IPv6 address (maybe %scope). */
int
boot_numeric_ok(const char *host)
{
	struct addrinfo	 hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return PK_ERR_BAD_FORMAT;
	freeaddrinfo(res);
	return 0;
}

/* Returns 1 if keyid is the node key of a configured peer. */
int
boot_pin_known(const struct boot_conf *c, const char *keyid)
{
	int	i;

	for (i = 0; i < c->npeers; i++)
		if (c->peers[i].node_key != NULL &&
		    strcasecmp(c->peers[i].node_key, keyid) == 0)
			return 1;
	return 0;
}
