/*
 * mandos-conf.h: reading a Mandos server's clients.conf (as mandos-keygen
 * writes it) into plain structs, for "peerkey import-mandos".
 *
 * The parser works on a buffer and does no I/O, so that a fuzz target can
 * drive it; "secfile" is returned as a path for the caller to read.
 */
#ifndef MANDOS_CONF_H
#define MANDOS_CONF_H

#include <stddef.h>
#include <stdint.h>

#define MANDOS_CONF_MAX		(1024 * 1024)	/* bytes of one clients.conf */
#define MANDOS_SECTIONS_MAX	4096		/* [sections], DEFAULT too */
#define MANDOS_OPTIONS_MAX	256		/* options per section */
#define MANDOS_VALUE_MAX	(64 * 1024)	/* a value after interpolation */
#define MANDOS_DEPTH_MAX	10	/* ConfigParser's interpolation depth */
#define MANDOS_DURATION_MAX_MS	(999999999ULL * 86400 * 1000) /* timedelta */

/* One client: a [section] of clients.conf after interpolation. */
struct mandos_client {
	char		*name;		/* the section name */
	int		 line;		/* line of its [header] */
	char		 key_id[65];	/* lower-case hex; "" when absent */
	char		*fingerprint;	/* upper case, no spaces; "" absent */
	uint8_t		*secret;	/* "secret" decoded; NULL: secfile */
	size_t		 secret_len;
	char		*secfile;	/* the "secfile" path, or NULL */
	char		*host;		/* "" when absent */
	char		*checker;	/* a Mandos checker format string */
	uint64_t	 timeout;	/* all durations in milliseconds */
	uint64_t	 extended_timeout;
	uint64_t	 interval;
	uint64_t	 approval_delay;
	uint64_t	 approval_duration;
	int		 approved_by_default;
	int		 enabled;
};

struct mandos_conf {
	struct mandos_client	*clients;	/* in file order */
	size_t			 nclients;
};

/*
 * Parses len bytes of clients.conf into conf (which the caller frees with
 * mandos_conf_free, also on failure). Returns 0, or PK_ERR_CONF with
 * *cause (the caller frees it) naming the line, or the [section] and
 * option; PK_ERR_TOO_LARGE over a MANDOS_*_MAX limit; PK_ERR_ALLOC.
 */
int	mandos_conf_parse(const char *buf, size_t len, struct mandos_conf *conf,
	    char **cause);
void	mandos_conf_free(struct mandos_conf *conf);

/*
 * A Mandos duration: RFC 3339 ("PT5M", "P1DT3M20S"; M in the date part is
 * 4 weeks, Y is 52 weeks) or the old form ("5m 30s", units s m h d w; ""
 * is 0). Returns 0 and *ms, or PK_ERR_BAD_FORMAT, PK_ERR_TOO_LARGE.
 */
int	mandos_parse_duration(const char *s, uint64_t *ms);

/* A ConfigParser boolean (1/yes/true/on, 0/no/false/off, any case).
 * Returns 0 and *b, or PK_ERR_BAD_FORMAT. */
int	mandos_parse_bool(const char *s, int *b);

/* Padded base64 with white space anywhere (anything else is an error)
 * into *out (allocated) and *outlen. Returns 0, PK_ERR_BAD_FORMAT or
 * PK_ERR_ALLOC. */
int	mandos_parse_base64(const char *s, uint8_t **out, size_t *outlen);

#endif /* MANDOS_CONF_H */
