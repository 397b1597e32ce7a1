/*
 * cmd-import-mandos.c: "peerkey import-mandos": take over the clients of a
 * Mandos server from its clients.conf, so that unmodified mandos-clients
 * get their passphrase from peerkeyd.
 *
 *	peerkey import-mandos [--dry-run] [--checker-dir DIR] CLIENTS.CONF
 *
 * Every [section] becomes a peer without a node key: boot key id =
 * key_id, address = host, the Mandos timings and approval policy, and
 * its checker (peerkeyd runs checkers without a shell; a checker that
 * needs one is written to DIR/NAME.sh and run by /bin/sh). Its secret
 * (or secfile) becomes the peer's blob "mandos"; "enabled = False"
 * disables it. The whole file is read and checked before the daemon is
 * asked anything: an error names the [section] and option, and imports
 * nothing. A peer whose blob cannot be stored is removed again.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "conf.h"
#include "mandos-conf.h"
#include "peerkey.h"
#include "pk_err.h"
#include "proto.h"

#define IMPORT_BLOB_ID		"mandos"
#define IMPORT_NAME_MAX		64	/* peerkeyd's PEER_NAME_MAX */
#define IMPORT_CHECKER_MAX	1024	/* peerkeyd's PEER_CHECKER_MAX */
#define IMPORT_SHELL_CHARS	"|&;<>()$`\\\"'*?[]#~{}=!\n\t"

/* What one client becomes. */
struct import_plan {
	struct mandos_client	*m;
	char			 address[300];	/* "" none */
	char			 checker[IMPORT_CHECKER_MAX + 1];
	char			*script;	/* wrapper to write, or NULL */
	char			 script_path[PATH_MAX];
	uint8_t			*secret;	/* points into m or owned */
	size_t			 secret_len;
	int			 secret_owned;
	const char		*note;		/* a remark for the report */
};

enum { OPT_DRYRUN = 256, OPT_CHECKERDIR };

static const struct option import_opts[] = {
	{ "dry-run", no_argument, NULL, OPT_DRYRUN },
	{ "checker-dir", required_argument, NULL, OPT_CHECKERDIR },
	{ NULL, 0, NULL, 0 }
};

/* Expands ~ and $VAR / ${VAR} as os.path.expanduser/expandvars do; a
 * relative result is taken relative to the directory of clients.conf. */
static int
import_secfile_path(const char *in, const char *confpath, char *out,
    size_t outlen)
{
	char		 buf[PATH_MAX], name[256], *slash;
	const char	*s = in, *v, *home;
	size_t		 o = 0, n;

	if (s[0] == '~' && (s[1] == '/' || s[1] == '\0')) {
		if ((home = getenv("HOME")) == NULL)
			home = "/root";
		if (strlen(home) >= sizeof(buf))
			return -1;
		o = (size_t)snprintf(buf, sizeof(buf), "%s", home);
		s++;
	}
	while (*s != '\0') {
		if (*s == '$' && (s[1] == '{' || isalnum((unsigned char)s[1]) ||
		    s[1] == '_')) {
			const char *b = s + 1 + (s[1] == '{');

			for (n = 0; (isalnum((unsigned char)b[n]) ||
			    b[n] == '_') && n < sizeof(name) - 1; n++)
				name[n] = b[n];
			name[n] = '\0';
			if (n > 0 && (s[1] != '{' || b[n] == '}') &&
			    (v = getenv(name)) != NULL) {
				if (o + strlen(v) >= sizeof(buf))
					return -1;
				memcpy(buf + o, v, strlen(v));
				o += strlen(v);
				s = b + n + (s[1] == '{');
				continue;
			}
		}
		if (o + 1 >= sizeof(buf))
			return -1;
		buf[o++] = *s++;
	}
	buf[o] = '\0';
	if (buf[0] == '/' || (slash = strrchr(confpath, '/')) == NULL) {
		if (snprintf(out, outlen, "%s", buf) >= (int)outlen)
			return -1;
		return 0;
	}
	if (snprintf(out, outlen, "%.*s/%s", (int)(slash - confpath), confpath,
	    buf) >= (int)outlen)
		return -1;
	return 0;
}

/* Reads the secfile of a client. */
static int
import_secfile(struct import_plan *pl, const char *confpath)
{
	gnutls_datum_t	 raw = { NULL, 0 };
	char		 path[PATH_MAX];

	if (import_secfile_path(pl->m->secfile, confpath, path,
	    sizeof(path)) != 0) {
		fprintf(stderr, "peerkey: [%s] secfile: path too long\n",
		    pl->m->name);
		return -1;
	}
	if (gnutls_load_file(path, &raw) < 0) {
		fprintf(stderr, "peerkey: [%s] secfile: cannot read %s: %s\n",
		    pl->m->name, path, strerror(errno));
		return -1;
	}
	if ((pl->secret = malloc(raw.size ? raw.size : 1)) == NULL) {
		gnutls_free(raw.data);
		return -1;
	}
	memcpy(pl->secret, raw.data, raw.size);
	pl->secret_len = raw.size;
	pl->secret_owned = 1;
	explicit_bzero(raw.data, raw.size);
	gnutls_free(raw.data);
	return 0;
}

/* Appends s to the buffer at *o, within outlen. */
static int
import_put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (*o + n >= outlen)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

/*
 * Does checker need a shell? Only for shell syntax outside its %(name)s
 * and %% (Debian's "fping -q -- %%(host)s" is an argument list: its
 * parentheses are the substitution's).
 */
static int
import_needs_shell(const char *checker)
{
	const char	*s, *close;

	for (s = checker; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] == '%') {
			s++;
			continue;
		}
		if (s[0] == '%' && s[1] == '(' &&
		    (close = strchr(s, ')')) != NULL && close[1] == 's') {
			s = close + 1;
			continue;
		}
		if (strchr(IMPORT_SHELL_CHARS, *s) != NULL)
			return 1;
	}
	return 0;
}

/*
 * Translates a Mandos checker (a Python %-format over the client's
 * attributes, run by /bin/sh) into a command for peerkeyd (split on white
 * space, %(host)s and %% only, no shell). Static attributes are put in
 * as Mandos would (upper-case key id); the host stays %(host)s, or "$1"
 * in a shell wrapper. Returns 0, or -1 after printing why.
 */
static int
import_checker(struct import_plan *pl, const char *checkerdir)
{
	struct mandos_client	*m = pl->m;
	char			 cmd[IMPORT_CHECKER_MAX + 1], up[65];
	const char		*s, *close, *v;
	size_t			 o = 0, n, i;
	int			 shell, host = 0;

	shell = import_needs_shell(m->checker);
	cmd[0] = '\0';
	for (i = 0; i <= 64 && m->key_id[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)m->key_id[i]);
	up[i] = '\0';
	for (s = m->checker; *s != '\0'; ) {
		if (*s != '%') {
			n = strcspn(s, "%");
			if (import_put(cmd, sizeof(cmd), &o, s, n) != 0)
				goto toolong;
			s += n;
			continue;
		}
		if (s[1] == '%') {
			/* A literal %: peerkeyd wants %% too; sh wants %. */
			if (import_put(cmd, sizeof(cmd), &o, "%%",
			    shell ? 1 : 2) != 0)
				goto toolong;
			s += 2;
			continue;
		}
		if (s[1] != '(' || (close = strchr(s, ')')) == NULL ||
		    close[1] != 's') {
			fprintf(stderr, "peerkey: [%s] checker: only %%(name)s "
			    "and %%%% are understood in \"%s\"\n", m->name,
			    m->checker);
			return -1;
		}
		n = (size_t)(close - s - 2);
		v = NULL;
		if (n == 4 && strncmp(s + 2, "host", 4) == 0) {
			v = shell ? "\"$1\"" : "%(host)s";
			host = 1;
		} else if (n == 4 && strncmp(s + 2, "name", 4) == 0)
			v = m->name;
		else if (n == 6 && strncmp(s + 2, "key_id", 6) == 0)
			v = up;
		else if (n == 11 && strncmp(s + 2, "fingerprint", 11) == 0)
			v = m->fingerprint;
		if (v == NULL || (*v == '\0' && !host)) {
			fprintf(stderr, "peerkey: [%s] checker: %%(%.*s)s is "
			    "not something peerkeyd can fill in (host, name, "
			    "key_id, fingerprint)\n", m->name, (int)n, s + 2);
			return -1;
		}
		if (import_put(cmd, sizeof(cmd), &o, v, strlen(v)) != 0)
			goto toolong;
		s = close + 2;
	}
	if (strspn(cmd, " ") == strlen(cmd)) {
		/* sh -c "" succeeds: the client never fails its check. */
		snprintf(pl->checker, sizeof(pl->checker), "true");
		pl->note = "empty checker (always succeeds in Mandos): "
		    "imported as \"true\"";
		return 0;
	}
	if (!shell) {
		snprintf(pl->checker, sizeof(pl->checker), "%s", cmd);
		return 0;
	}
	if (checkerdir == NULL) {
		fprintf(stderr, "peerkey: [%s] checker: \"%s\" needs a shell, "
		    "and peerkeyd runs checkers without one; give "
		    "--checker-dir DIR to have it written to a script there\n",
		    m->name, m->checker);
		return -1;
	}
	if (snprintf(pl->script_path, sizeof(pl->script_path), "%s/%s.sh",
	    checkerdir, m->name) >= (int)sizeof(pl->script_path) ||
	    snprintf(pl->checker, sizeof(pl->checker), "/bin/sh %s%s",
	    pl->script_path, host ? " %(host)s" : "") >=
	    (int)sizeof(pl->checker))
		goto toolong;
	if (asprintf(&pl->script, "#!/bin/sh\n# The checker of Mandos "
	    "client [%s], written by peerkey import-mandos.\n# peerkeyd runs "
	    "it as \"%s\" ($1 is the host).\n%s\n", m->name, pl->checker,
	    cmd) == -1) {
		pl->script = NULL;
		return -1;
	}
	return 0;
toolong:
	fprintf(stderr, "peerkey: [%s] checker: longer than %d bytes\n",
	    m->name, IMPORT_CHECKER_MAX);
	return -1;
}

/* Checks one client and works out what it becomes. */
static int
import_prepare(struct import_plan *pl, const char *confpath,
    const char *checkerdir)
{
	struct mandos_client	*m = pl->m;
	char			 h[256];
	uint16_t		 port;
	size_t			 n = strlen(m->name);

	if (n == 0 || n > IMPORT_NAME_MAX || strspn(m->name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    ".-_") != n) {
		fprintf(stderr, "peerkey: [%s] (line %d): a peer name is 1-%d "
		    "letters, digits, '.', '-' or '_'\n", m->name, m->line,
		    IMPORT_NAME_MAX);
		return -1;
	}
	if (m->key_id[0] == '\0') {
		fprintf(stderr, "peerkey: [%s] key_id: missing; peerkeyd "
		    "knows Mandos clients by their TLS key id only\n",
		    m->name);
		return -1;
	}
	if (m->timeout == 0 || m->interval == 0) {
		fprintf(stderr, "peerkey: [%s] %s: must be above 0\n", m->name,
		    m->timeout == 0 ? "timeout" : "interval");
		return -1;
	}
	if (m->host[0] != '\0') {
		snprintf(pl->address, sizeof(pl->address),
		    strchr(m->host, ':') != NULL ? "[%s]" : "%s", m->host);
		if (strlen(m->host) > 253 ||
		    pk_parse_address(pl->address, h, sizeof(h), 0, &port) != 0 ||
		    port != 0) {
			fprintf(stderr, "peerkey: [%s] host: \"%s\" is not a "
			    "host name or address\n", m->name, m->host);
			return -1;
		}
	}
	if (import_checker(pl, checkerdir) != 0)
		return -1;
	if (m->secret != NULL) {
		pl->secret = m->secret;
		pl->secret_len = m->secret_len;
	} else if (import_secfile(pl, confpath) != 0)
		return -1;
	if (pl->secret_len == 0 || pl->secret_len > PK_BLOB_MAX) {
		fprintf(stderr, "peerkey: [%s] %s: a secret is 1 to %d bytes, "
		    "this one %zu\n", m->name, m->secret ? "secret" :
		    "secfile", PK_BLOB_MAX, pl->secret_len);
		return -1;
	}
	return 0;
}

/* Writes a checker wrapper script, mode 0700. */
static int
import_write_script(struct import_plan *pl)
{
	FILE	*f;
	int	 fd;

	if ((fd = open(pl->script_path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0700)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "peerkey: [%s] checker: cannot write %s: %s\n",
		    pl->m->name, pl->script_path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fputs(pl->script, f);
	if (fchmod(fd, 0700) != 0 || fclose(f) != 0) {
		fprintf(stderr, "peerkey: [%s] checker: cannot write %s: %s\n",
		    pl->m->name, pl->script_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Sends one request; returns 0, or -1 with *cause the daemon's error. */
static int
import_request(json_t *req, char **cause)
{
	json_t		*resp;
	const char	*e;
	int		 r = 0;

	resp = ctl_request(req);
	if (!json_is_true(json_object_get(resp, "ok"))) {
		e = json_string_value(json_object_get(resp, "error"));
		pk_cause_set(cause, "%s", e != NULL ? e : "failed");
		r = -1;
	}
	json_decref(resp);
	return r;
}

/* Adds one planned client to the daemon. Returns 0, or -1 with *cause. */
static int
import_one(struct import_plan *pl, char **cause)
{
	struct mandos_client	*m = pl->m;
	gnutls_datum_t		 raw, b64 = { NULL, 0 };
	json_t			*req;
	char			*err = NULL;

	if (pl->script != NULL && import_write_script(pl) != 0) {
		pk_cause_set(cause, "cannot write the checker script");
		return -1;
	}
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
	    "s:b}", "cmd", "add", "name", m->name, "boot_keyid", m->key_id,
	    "addresses", pl->address, "checker", pl->checker,
	    "timeout", (json_int_t)m->timeout,
	    "interval", (json_int_t)m->interval,
	    "extended_timeout", (json_int_t)m->extended_timeout,
	    "approval_delay", (json_int_t)m->approval_delay,
	    "approval_duration", (json_int_t)m->approval_duration,
	    "approved_by_default", m->approved_by_default);
	if (import_request(req, cause) != 0)
		return -1;
	raw.data = pl->secret;
	raw.size = (unsigned int)pl->secret_len;
	if (gnutls_base64_encode2(&raw, &b64) != 0) {
		pk_cause_set(cause, "out of memory");
		goto undo;
	}
	req = json_pack("{s:s, s:s, s:s, s:s%}", "cmd", "blob-put", "peer",
	    m->name, "blob_id", IMPORT_BLOB_ID, "data", (const char *)b64.data,
	    (size_t)b64.size);
	gnutls_free(b64.data);
	if (import_request(req, &err) != 0) {
		pk_cause_set(cause, "secret not stored: %s",
		    err != NULL ? err : "out of memory");
		goto undo;
	}
	if (!m->enabled) {
		req = json_pack("{s:s, s:s}", "cmd", "disable", "peer", m->name);
		if (import_request(req, &err) != 0) {
			pk_cause_set(cause, "cannot disable it: %s",
			    err != NULL ? err : "out of memory");
			goto undo;
		}
	}
	return 0;
undo:
	/* No half-imported client: take the peer away again. */
	free(err);
	req = json_pack("{s:s, s:s}", "cmd", "remove", "peer", m->name);
	(void)import_request(req, NULL);
	return -1;
}

int
cmd_import_mandos(int argc, char **argv)
{
	struct mandos_conf	 conf;
	struct import_plan	*plan = NULL;
	gnutls_datum_t		 raw = { NULL, 0 };
	const char		*path, *checkerdir = NULL;
	char			*cause = NULL, *why = NULL, dur[4][32];
	json_t			*report = NULL, *o;
	size_t			 i, nok = 0;
	int			 ch, dryrun = 0, ok, rc = EXIT_FAIL;

	memset(&conf, 0, sizeof(conf));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "n", import_opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
		case OPT_DRYRUN:
			dryrun = 1;
			break;
		case OPT_CHECKERDIR:
			checkerdir = optarg;
			if (*checkerdir != '/' ||
			    strpbrk(checkerdir, " \t\n%") != NULL) {
				fprintf(stderr, "peerkey: --checker-dir must be "
				    "an absolute path without blanks or '%%'\n");
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return EXIT_USAGE;
	path = argv[optind];
	if (gnutls_load_file(path, &raw) < 0) {
		fprintf(stderr, "peerkey: cannot read %s: %s\n", path,
		    strerror(errno));
		return EXIT_FAIL;
	}
	if (mandos_conf_parse((const char *)raw.data, raw.size, &conf,
	    &cause) != 0) {
		fprintf(stderr, "peerkey: %s: %s\npeerkey: %s: nothing "
		    "imported\n", path, cause != NULL ? cause :
		    "out of memory", path);
		goto out;
	}
	if (conf.nclients == 0) {
		fprintf(stderr, "peerkey: %s: no clients ([sections])\n", path);
		goto out;
	}
	if ((plan = calloc(conf.nclients, sizeof(*plan))) == NULL)
		goto out;
	for (i = 0; i < conf.nclients; i++) {
		plan[i].m = &conf.clients[i];
		if (import_prepare(&plan[i], path, checkerdir) != 0) {
			fprintf(stderr, "peerkey: %s: nothing imported\n", path);
			goto out;
		}
	}
	report = json_array();
	for (i = 0; i < conf.nclients; i++) {
		struct mandos_client *m = plan[i].m;

		free(why);
		why = NULL;
		ok = dryrun || import_one(&plan[i], &why) == 0;
		if (ok)
			nok++;
		else if (why == NULL && (why = strdup("out of memory")) == NULL)
			goto out;
		o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I}",
		    "name", m->name, "key_id", m->key_id, "address",
		    plan[i].address, "checker", plan[i].checker, "enabled",
		    m->enabled, "imported", ok && !dryrun,
		    "timeout", (json_int_t)m->timeout, "interval",
		    (json_int_t)m->interval, "secret_bytes",
		    (json_int_t)plan[i].secret_len);
		if (why != NULL)
			json_object_set_new(o, "error", json_string(why));
		if (plan[i].note != NULL)
			json_object_set_new(o, "note", json_string(plan[i].note));
		if (plan[i].script != NULL)
			json_object_set_new(o, "checker_script",
			    json_string(plan[i].script_path));
		json_array_append_new(report, o);
		if (opt_json)
			continue;
		if (why != NULL) {
			printf("%-16s NOT imported: %s\n", m->name, why);
			continue;
		}
		printf("%-16s %s key id %.16s... %s, timeout %s, interval %s, "
		    "extended %s, secret %zu bytes%s\n", m->name,
		    dryrun ? "would import:" : "imported:", m->key_id,
		    m->enabled ? "enabled" : "DISABLED",
		    fmt_ms((long long)m->timeout, dur[0], sizeof(dur[0])),
		    fmt_ms((long long)m->interval, dur[1], sizeof(dur[1])),
		    fmt_ms((long long)m->extended_timeout, dur[2],
		    sizeof(dur[2])), plan[i].secret_len,
		    m->approval_delay ? ", approval needed" : "");
		printf("%-16s   checked by: %s%s%s\n", "", plan[i].checker,
		    plan[i].address[0] ? " on " : "", plan[i].address);
		if (plan[i].note != NULL)
			printf("%-16s   note: %s\n", "", plan[i].note);
	}
	if (opt_json) {
		o = json_pack("{s:O, s:I, s:b}", "clients", report,
		    "imported", (json_int_t)(dryrun ? 0 : nok), "dry_run",
		    dryrun);
		out_result(o);
		json_decref(o);
	} else
		printf("%zu of %zu Mandos clients %s\n", nok, conf.nclients,
		    dryrun ? "can be imported" : "imported");
	rc = nok == conf.nclients ? EXIT_OK : EXIT_FAIL;
out:
	free(cause);
	free(why);
	json_decref(report);
	if (plan != NULL)
		for (i = 0; i < conf.nclients; i++) {
			if (plan[i].secret_owned) {
				explicit_bzero(plan[i].secret,
				    plan[i].secret_len);
				free(plan[i].secret);
			}
			free(plan[i].script);
		}
	free(plan);
	mandos_conf_free(&conf);
	explicit_bzero(raw.data, raw.size);
	gnutls_free(raw.data);
	return rc;
}
