/*
 * fuzz-mandos-conf.c: libFuzzer target for src/cli/mandos-conf.c, the
 * clients.conf reader of "peerkey import-mandos".
 *
 * The input is parsed as a whole clients.conf; then (up to its first NUL,
 * capped) as a duration and as a boolean. Checks that a failure always
 * has an error text and a success none; that every client has all its
 * strings, a key id of "" or 64 lower-case hex digits, a secret or a
 * secfile, and durations within Mandos' limit; and that parsing is
 * deterministic.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mandos-conf.h"
#include "pk_err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Checks one parsed client's invariants. */
static void
check_client(const struct mandos_client *m)
{
	size_t	 i, n;

	if (m->name == NULL || m->host == NULL || m->checker == NULL ||
	    m->fingerprint == NULL || m->line < 1)
		abort();
	n = strlen(m->key_id);
	if (n != 0 && n != 64)
		abort();
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdef", m->key_id[i]) == NULL)
			abort();
	if ((m->secret == NULL) == (m->secfile == NULL))
		abort();
	if (strchr(m->fingerprint, ' ') != NULL)
		abort();
	if (m->timeout > MANDOS_DURATION_MAX_MS ||
	    m->extended_timeout > MANDOS_DURATION_MAX_MS ||
	    m->interval > MANDOS_DURATION_MAX_MS ||
	    m->approval_delay > MANDOS_DURATION_MAX_MS ||
	    m->approval_duration > MANDOS_DURATION_MAX_MS)
		abort();
	if ((m->enabled != 0 && m->enabled != 1) ||
	    (m->approved_by_default != 0 && m->approved_by_default != 1))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mandos_conf	 a, b;
	char			*err = NULL, *err2 = NULL, s[256];
	uint64_t		 ms;
	size_t			 i, n;
	int			 r, r2, bv;

	r = mandos_conf_parse((const char *)data, size, &a, &err);
	if ((r == 0) != (err == NULL))
		abort();
	if (r != 0 && r != PK_ERR_CONF && r != PK_ERR_TOO_LARGE &&
	    r != PK_ERR_ALLOC)
		abort();
	if (r == 0)
		for (i = 0; i < a.nclients; i++)
			check_client(&a.clients[i]);
	r2 = mandos_conf_parse((const char *)data, size, &b, &err2);
	if (r2 != r || (err != NULL) != (err2 != NULL) ||
	    (err != NULL && strcmp(err, err2) != 0))
		abort();
	free(err);
	free(err2);
	if (r == 0) {
		if (a.nclients != b.nclients)
			abort();
		for (i = 0; i < a.nclients; i++)
			if (strcmp(a.clients[i].name, b.clients[i].name) != 0 ||
			    strcmp(a.clients[i].checker, b.clients[i].checker)
			    != 0 || a.clients[i].secret_len !=
			    b.clients[i].secret_len || (a.clients[i].secret &&
			    memcmp(a.clients[i].secret, b.clients[i].secret,
			    a.clients[i].secret_len) != 0))
				abort();
	}
	mandos_conf_free(&a);
	mandos_conf_free(&b);

	n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	r = mandos_parse_duration(s, &ms);
	if (r == 0 && ms > MANDOS_DURATION_MAX_MS)
		abort();
	if (r != 0 && r != PK_ERR_BAD_FORMAT && r != PK_ERR_TOO_LARGE)
		abort();
	r = mandos_parse_bool(s, &bv);
	if (r == 0 && bv != 0 && bv != 1)
		abort();
	return 0;
}
