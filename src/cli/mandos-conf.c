/*
 * mandos-conf.c: a Mandos clients.conf, read the way the Mandos server
 * (Python 3 configparser.ConfigParser, strict, BasicInterpolation) reads
 * it, into struct mandos_client.
 *
 * What ConfigParser does and we do the same way:
 * - "[name]" starts a section; "[DEFAULT]" (any number of times) holds
 *   values every section inherits; Mandos' own client defaults lie below.
 * - "option = value" or "option: value"; names are case-insensitive
 *   (lower-cased), values stripped. A line indented deeper than its
 *   option's line continues the value (RFC 822 style), joined with "\n";
 *   empty lines inside a value are kept, trailing ones dropped.
 * - Lines whose first non-blank is '#' or ';' are comments, even inside a
 *   continued value. No inline comments.
 * - A repeated section or a repeated option in one section is an error.
 * - On reading a section every option is interpolated: "%%" is "%",
 *   "%(name)s" the value of option name (itself interpolated), at most
 *   MANDOS_DEPTH_MAX levels deep; any other '%' is an error.
 * Differences, all toward refusing: only ASCII case folding and white
 * space, NUL bytes refused, limits on sizes and interpolation work, and
 * "secret" must be clean base64 (white space allowed).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mandos-conf.h"
#include "pk_err.h"

#define MC_WORK_MAX	(1024 * 1024)	/* interpolation steps per value */
#define MC_WS		" \t\r\n\v\f"

struct mc_opt {
	char	*name;
	char	*value;
	size_t	 len;
	int	 line;
};

struct mc_sect {
	char		*name;
	int		 line;
	struct mc_opt	*opts;
	size_t		 nopts;
};

struct mc_str {
	char	*p;
	size_t	 len, size;
};

struct mc_ctx {
	struct mc_sect	 defaults;	/* [DEFAULT] of the file */
	struct mc_sect	*sects;
	size_t		 nsects;
	char		**cause;
	size_t		 work;
};

/* Mandos' Client.client_defaults, the bottom of every lookup. */
static const struct {
	const char	*name;
	const char	*value;
} mc_builtin[] = {
	{ "timeout", "PT5M" },
	{ "extended_timeout", "PT15M" },
	{ "interval", "PT2M" },
	{ "checker", "fping -q -- %%(host)s" },
	{ "host", "" },
	{ "approval_delay", "PT0S" },
	{ "approval_duration", "PT1S" },
	{ "approved_by_default", "True" },
	{ "enabled", "True" },
};
#define MC_NBUILTIN	(sizeof(mc_builtin) / sizeof(mc_builtin[0]))

/* Sets the parse's cause (the first one stays); returns code. */
static int __attribute__((format(printf, 3, 4)))
mc_error(struct mc_ctx *c, int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	pk_cause_vset(c->cause, fmt, ap);
	va_end(ap);
	return code;
}

/* Appends len bytes to s; caps at MANDOS_VALUE_MAX. */
static int
mc_str_add(struct mc_str *s, const char *p, size_t len)
{
	char	*n;
	size_t	 size;

	if (len > MANDOS_VALUE_MAX || s->len + len > MANDOS_VALUE_MAX)
		return PK_ERR_TOO_LARGE;
	if (s->len + len + 1 > s->size) {
		size = s->size ? s->size : 64;
		while (size < s->len + len + 1)
			size *= 2;
		if ((n = realloc(s->p, size)) == NULL)
			return PK_ERR_ALLOC;
		s->p = n;
		s->size = size;
	}
	memcpy(s->p + s->len, p, len);
	s->len += len;
	s->p[s->len] = '\0';
	return 0;
}

/* Returns a NUL-terminated copy of len bytes. */
static char *
mc_strndup(const char *p, size_t len)
{
	char	*s;

	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static int
mc_isspace(int ch)
{
	return ch != '\0' && strchr(MC_WS, ch) != NULL;
}

/* Finds option name (lower case) in a section. */
static struct mc_opt *
mc_find(const struct mc_sect *s, const char *name)
{
	size_t	 i;

	for (i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i].name, name) == 0)
			return &s->opts[i];
	return NULL;
}

/* Adds option "name" with a first value line to s. */
static int
mc_add_opt(struct mc_ctx *c, struct mc_sect *s, const char *name,
    size_t namelen, const char *val, size_t vallen, int line)
{
	struct mc_opt	*o, *prev;
	char		*n;
	size_t		 i;

	if ((n = mc_strndup(name, namelen)) == NULL)
		return PK_ERR_ALLOC;
	for (i = 0; n[i] != '\0'; i++)
		n[i] = (char)tolower((unsigned char)n[i]);
	if ((prev = mc_find(s, n)) != NULL) {
		free(n);
		return mc_error(c, PK_ERR_CONF, "line %d: [%s] option \"%s\" "
		    "is repeated (first on line %d)", line, s->name,
		    prev->name, prev->line);
	}
	if (s->nopts >= MANDOS_OPTIONS_MAX) {
		free(n);
		return mc_error(c, PK_ERR_TOO_LARGE, "line %d: [%s] has more "
		    "than %d options", line, s->name, MANDOS_OPTIONS_MAX);
	}
	if ((o = reallocarray(s->opts, s->nopts + 1, sizeof(*o))) == NULL) {
		free(n);
		return PK_ERR_ALLOC;
	}
	s->opts = o;
	o = &s->opts[s->nopts];
	o->name = n;
	o->line = line;
	o->len = vallen;
	if ((o->value = mc_strndup(val, vallen)) == NULL) {
		free(n);
		return PK_ERR_ALLOC;
	}
	s->nopts++;
	return 0;
}

/* Appends "\n" and a continuation line to an option's value. */
static int
mc_continue(struct mc_opt *o, const char *val, size_t vallen)
{
	char	*n;

	if ((n = realloc(o->value, o->len + 1 + vallen + 1)) == NULL)
		return PK_ERR_ALLOC;
	o->value = n;
	o->value[o->len++] = '\n';
	memcpy(o->value + o->len, val, vallen);
	o->len += vallen;
	o->value[o->len] = '\0';
	return 0;
}

/* Starts section "name" (or returns to [DEFAULT]). */
static int
mc_section(struct mc_ctx *c, const char *name, size_t len, int line,
    struct mc_sect **cur)
{
	struct mc_sect	*s;
	size_t		 i;

	if (len == 7 && memcmp(name, "DEFAULT", 7) == 0) {
		*cur = &c->defaults;
		return 0;
	}
	for (i = 0; i < c->nsects; i++)
		if (strlen(c->sects[i].name) == len &&
		    memcmp(c->sects[i].name, name, len) == 0)
			return mc_error(c, PK_ERR_CONF, "line %d: section [%s] "
			    "is repeated (first on line %d)", line,
			    c->sects[i].name, c->sects[i].line);
	if (c->nsects >= MANDOS_SECTIONS_MAX)
		return mc_error(c, PK_ERR_TOO_LARGE, "line %d: more than %d "
		    "sections", line, MANDOS_SECTIONS_MAX);
	if ((s = reallocarray(c->sects, c->nsects + 1, sizeof(*s))) == NULL)
		return PK_ERR_ALLOC;
	c->sects = s;
	s = &c->sects[c->nsects];
	memset(s, 0, sizeof(*s));
	if ((s->name = mc_strndup(name, len)) == NULL)
		return PK_ERR_ALLOC;
	s->line = line;
	c->nsects++;
	*cur = s;
	return 0;
}

/* Reads the file's structure: sections, options, raw values. */
static int
mc_read(struct mc_ctx *c, const char *buf, size_t len)
{
	struct mc_sect	*cur = NULL;
	struct mc_opt	*opt = NULL;
	const char	*p = buf, *end = buf + len, *start, *eol, *v, *ve, *d;
	size_t		 indent, level = 0;
	int		 line = 0, comment, r;

	while (p < end) {
		line++;
		start = p;
		for (eol = p; eol < end && *eol != '\n' && *eol != '\r'; eol++)
			if (*eol == '\0')
				return mc_error(c, PK_ERR_CONF, "line %d: NUL "
				    "byte", line);
		/* Universal newlines: \n, \r\n and \r end a line. */
		p = eol;
		if (p < end && *p == '\r')
			p++;
		else if (p < end && *p == '\n')
			p++;
		if (p < end && *eol == '\r' && *p == '\n')
			p++;
		v = start;
		ve = eol;
		while (v < ve && mc_isspace((unsigned char)*v))
			v++;
		while (ve > v && mc_isspace((unsigned char)ve[-1]))
			ve--;
		indent = (size_t)(v - start);
		comment = v < ve && (*v == '#' || *v == ';');
		if (comment || v == ve) {
			/* Empty lines belong to a value; comments vanish. */
			if (!comment && cur != NULL && opt != NULL &&
			    (r = mc_continue(opt, "", 0)) != 0)
				return r;
			continue;
		}
		if (cur != NULL && opt != NULL && indent > level) {
			if ((r = mc_continue(opt, v, (size_t)(ve - v))) != 0)
				return r;
			continue;
		}
		level = indent;
		if (*v == '[') {
			/* "\[(.+)\]" matched at the start: the last ']'. */
			for (d = ve - 1; d > v + 1 && *d != ']'; d--)
				;
			if (d > v + 1 && *d == ']') {
				if ((r = mc_section(c, v + 1, (size_t)(d - v - 1),
				    line, &cur)) != 0)
					return r;
				opt = NULL;
				continue;
			}
		}
		if (cur == NULL)
			return mc_error(c, PK_ERR_CONF, "line %d: no [section] "
			    "header before this line", line);
		for (d = v; d < ve && *d != '=' && *d != ':'; d++)
			;
		if (d == ve)
			return mc_error(c, PK_ERR_CONF, "line %d: [%s] neither "
			    "\"option = value\" nor \"[section]\"", line,
			    cur->name);
		{
			const char	*ne = d, *vs = d + 1;

			while (ne > v && mc_isspace((unsigned char)ne[-1]))
				ne--;
			if (ne == v)
				return mc_error(c, PK_ERR_CONF, "line %d: [%s] "
				    "an option without a name", line,
				    cur->name);
			while (vs < ve && mc_isspace((unsigned char)*vs))
				vs++;
			if ((r = mc_add_opt(c, cur, v, (size_t)(ne - v), vs,
			    (size_t)(ve - vs), line)) != 0)
				return r;
			opt = &cur->opts[cur->nopts - 1];
		}
	}
	return 0;
}

/* Drops trailing white space (empty continuation lines) of every value. */
static void
mc_rstrip(struct mc_sect *s)
{
	size_t	 i;

	for (i = 0; i < s->nopts; i++) {
		while (s->opts[i].len > 0 &&
		    mc_isspace((unsigned char)s->opts[i].value[s->opts[i].len
		    - 1]))
			s->opts[i].len--;
		s->opts[i].value[s->opts[i].len] = '\0';
	}
}

/* Looks name up as ConfigParser does for section s: the section, then
 * [DEFAULT], then Mandos' defaults. Returns the raw value or NULL. */
static const char *
mc_lookup(const struct mc_ctx *c, const struct mc_sect *s, const char *name)
{
	const struct mc_opt	*o;
	size_t			 i;

	if ((o = mc_find(s, name)) != NULL ||
	    (o = mc_find(&c->defaults, name)) != NULL)
		return o->value;
	for (i = 0; i < MC_NBUILTIN; i++)
		if (strcmp(mc_builtin[i].name, name) == 0)
			return mc_builtin[i].value;
	return NULL;
}

/* BasicInterpolation._interpolate_some, into out. */
static int
mc_interp(struct mc_ctx *c, const struct mc_sect *s, const char *option,
    const char *rest, struct mc_str *out, int depth)
{
	const char	*pc, *close, *v;
	char		 var[256];
	size_t		 i, n;
	int		 r;

	if (depth > MANDOS_DEPTH_MAX)
		return mc_error(c, PK_ERR_CONF, "[%s] %s: interpolation "
		    "deeper than %d levels", s->name, option,
		    MANDOS_DEPTH_MAX);
	while (*rest != '\0') {
		if (++c->work > MC_WORK_MAX)
			return mc_error(c, PK_ERR_TOO_LARGE, "[%s] %s: "
			    "interpolation takes too many steps", s->name,
			    option);
		if ((pc = strchr(rest, '%')) == NULL)
			return mc_str_add(out, rest, strlen(rest)) == 0 ? 0 :
			    mc_error(c, PK_ERR_TOO_LARGE, "[%s] %s: value "
			    "longer than %d bytes", s->name, option,
			    MANDOS_VALUE_MAX);
		if (mc_str_add(out, rest, (size_t)(pc - rest)) != 0)
			return mc_error(c, PK_ERR_TOO_LARGE, "[%s] %s: value "
			    "longer than %d bytes", s->name, option,
			    MANDOS_VALUE_MAX);
		rest = pc;
		if (rest[1] == '%') {
			if (mc_str_add(out, "%", 1) != 0)
				return mc_error(c, PK_ERR_TOO_LARGE, "[%s] %s: "
				    "value longer than %d bytes", s->name,
				    option, MANDOS_VALUE_MAX);
			rest += 2;
			continue;
		}
		/* "%\(([^)]+)\)s" */
		close = rest[1] == '(' ? strchr(rest + 2, ')') : NULL;
		if (rest[1] != '(')
			return mc_error(c, PK_ERR_CONF, "[%s] %s: '%%' must be "
			    "followed by '%%' or '(' (write %%%% for a "
			    "percent sign)", s->name, option);
		if (close == NULL || close == rest + 2 || close[1] != 's')
			return mc_error(c, PK_ERR_CONF, "[%s] %s: bad "
			    "interpolation reference (not %%(name)s)",
			    s->name, option);
		n = (size_t)(close - rest - 2);
		if (n >= sizeof(var))
			return mc_error(c, PK_ERR_CONF, "[%s] %s: interpolation "
			    "reference too long", s->name, option);
		for (i = 0; i < n; i++)
			var[i] = (char)tolower((unsigned char)rest[2 + i]);
		var[n] = '\0';
		rest = close + 2;
		if ((v = mc_lookup(c, s, var)) == NULL)
			return mc_error(c, PK_ERR_CONF, "[%s] %s: refers to "
			    "%%(%s)s, which is not set", s->name, option, var);
		if (strchr(v, '%') != NULL) {
			if ((r = mc_interp(c, s, option, v, out, depth + 1))
			    != 0)
				return r;
		} else if (mc_str_add(out, v, strlen(v)) != 0)
			return mc_error(c, PK_ERR_TOO_LARGE, "[%s] %s: value "
			    "longer than %d bytes", s->name, option,
			    MANDOS_VALUE_MAX);
	}
	return 0;
}

/* Interpolates option name of section s into *val (allocated). */
static int
mc_get(struct mc_ctx *c, const struct mc_sect *s, const char *name,
    char **val)
{
	struct mc_str	 out = { NULL, 0, 0 };
	const char	*raw;
	int		 r;

	*val = NULL;
	if ((raw = mc_lookup(c, s, name)) == NULL)
		return 0;
	c->work = 0;
	if ((r = mc_interp(c, s, name, raw, &out, 1)) != 0 ||
	    (r = mc_str_add(&out, "", 0)) != 0) {
		free(out.p);
		return r;
	}
	*val = out.p;
	return 0;
}

/* Checks that every option of s interpolates (ConfigParser.items does). */
static int
mc_check_all(struct mc_ctx *c, const struct mc_sect *s)
{
	const struct mc_sect	*lists[2] = { s, &c->defaults };
	char			*v;
	size_t			 i, j;
	int			 r;

	for (j = 0; j < 2; j++)
		for (i = 0; i < lists[j]->nopts; i++) {
			if ((r = mc_get(c, s, lists[j]->opts[i].name, &v))
			    != 0)
				return r;
			free(v);
		}
	return 0;
}

/* The error for option name of s whose value v is not a what. */
static int
mc_not_a(struct mc_ctx *c, const struct mc_sect *s, const char *name,
    const char *v, const char *what)
{
	return mc_error(c, PK_ERR_CONF, "[%s] %s: \"%.40s\" is not a %s",
	    s->name, name, v, what);
}

/* Reads one duration option of s. */
static int
mc_duration(struct mc_ctx *c, const struct mc_sect *s, const char *name,
    uint64_t *ms)
{
	char	*v;
	int	 r;

	if ((r = mc_get(c, s, name, &v)) != 0)
		return r;
	r = mandos_parse_duration(v, ms);
	if (r == PK_ERR_TOO_LARGE)
		r = mc_error(c, PK_ERR_CONF, "[%s] %s: \"%.40s\" is too long a "
		    "duration", s->name, name, v);
	else if (r != 0)
		r = mc_not_a(c, s, name, v,
		    "duration (RFC 3339 like PT5M, or like 5m 30s)");
	free(v);
	return r;
}

/* Reads one boolean option of s. */
static int
mc_bool(struct mc_ctx *c, const struct mc_sect *s, const char *name, int *b)
{
	char	*v;
	int	 r;

	if ((r = mc_get(c, s, name, &v)) != 0)
		return r;
	if (mandos_parse_bool(v, b) != 0)
		r = mc_not_a(c, s, name, v,
		    "boolean (true/false, yes/no, on/off, 1/0)");
	free(v);
	return r;
}

/* Copies v without spaces, in upper (up=1) or lower case. */
static void
mc_despace(char *v, int up)
{
	char	*o = v;

	for (; *v != '\0'; v++)
		if (*v != ' ')
			*o++ = (char)(up ? toupper((unsigned char)*v) :
			    tolower((unsigned char)*v));
	*o = '\0';
}

/* Turns section s into client m. */
static int
mc_client(struct mc_ctx *c, const struct mc_sect *s, struct mandos_client *m)
{
	char	*v = NULL;
	size_t	 i;
	int	 r;

	if ((m->name = strdup(s->name)) == NULL)
		return PK_ERR_ALLOC;
	m->line = s->line;
	if ((r = mc_check_all(c, s)) != 0 ||
	    (r = mc_get(c, s, "host", &m->host)) != 0 ||
	    (r = mc_get(c, s, "checker", &m->checker)) != 0 ||
	    (r = mc_bool(c, s, "approved_by_default",
	    &m->approved_by_default)) != 0 ||
	    (r = mc_bool(c, s, "enabled", &m->enabled)) != 0 ||
	    (r = mc_duration(c, s, "timeout", &m->timeout)) != 0 ||
	    (r = mc_duration(c, s, "extended_timeout",
	    &m->extended_timeout)) != 0 ||
	    (r = mc_duration(c, s, "interval", &m->interval)) != 0 ||
	    (r = mc_duration(c, s, "approval_delay", &m->approval_delay)) != 0 ||
	    (r = mc_duration(c, s, "approval_duration",
	    &m->approval_duration)) != 0)
		return r;
	if ((r = mc_get(c, s, "key_id", &v)) != 0)
		return r;
	if (v != NULL) {
		mc_despace(v, 0);
		for (i = 0; v[i] != '\0' && isxdigit((unsigned char)v[i]); i++)
			;
		if (*v != '\0' && (i != 64 || v[i] != '\0')) {
			free(v);
			return mc_error(c, PK_ERR_CONF, "[%s] key_id: not a "
			    "TLS key id (64 hex digits)", s->name);
		}
		memcpy(m->key_id, v, strlen(v) + 1);
		free(v);
	}
	if ((r = mc_get(c, s, "fingerprint", &m->fingerprint)) != 0)
		return r;
	if (m->fingerprint == NULL && (m->fingerprint = strdup("")) == NULL)
		return PK_ERR_ALLOC;
	mc_despace(m->fingerprint, 1);
	if ((r = mc_get(c, s, "secret", &v)) != 0)
		return r;
	if (v != NULL) {
		r = mandos_parse_base64(v, &m->secret, &m->secret_len);
		free(v);
		if (r == PK_ERR_BAD_FORMAT)
			return mc_error(c, PK_ERR_CONF, "[%s] secret: not "
			    "base64", s->name);
		return r;
	}
	if ((r = mc_get(c, s, "secfile", &m->secfile)) != 0)
		return r;
	if (m->secfile == NULL)
		return mc_error(c, PK_ERR_CONF, "[%s] (line %d): neither "
		    "secret nor secfile", s->name, s->line);
	return 0;
}

/* Frees a section's options. */
static void
mc_sect_free(struct mc_sect *s)
{
	size_t	 i;

	for (i = 0; i < s->nopts; i++) {
		free(s->opts[i].name);
		free(s->opts[i].value);
	}
	free(s->opts);
	free(s->name);
}

int
mandos_conf_parse(const char *buf, size_t len, struct mandos_conf *conf,
    char **cause)
{
	struct mc_ctx	 c;
	size_t		 i;
	int		 r;

	memset(conf, 0, sizeof(*conf));
	memset(&c, 0, sizeof(c));
	c.cause = cause;
	if (cause != NULL)
		*cause = NULL;
	if ((c.defaults.name = strdup("DEFAULT")) == NULL)
		return PK_ERR_ALLOC;
	if (len > MANDOS_CONF_MAX) {
		r = mc_error(&c, PK_ERR_TOO_LARGE, "more than %d bytes",
		    MANDOS_CONF_MAX);
		goto out;
	}
	if ((r = mc_read(&c, buf, len)) != 0)
		goto out;
	mc_rstrip(&c.defaults);
	for (i = 0; i < c.nsects; i++)
		mc_rstrip(&c.sects[i]);
	if (c.nsects > 0 && (conf->clients = calloc(c.nsects,
	    sizeof(*conf->clients))) == NULL) {
		r = PK_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < c.nsects; i++) {
		conf->nclients++;
		if ((r = mc_client(&c, &c.sects[i], &conf->clients[i])) != 0)
			goto out;
	}
out:
	if (r == PK_ERR_ALLOC)
		(void)mc_error(&c, r, "out of memory");
	mc_sect_free(&c.defaults);
	for (i = 0; i < c.nsects; i++)
		mc_sect_free(&c.sects[i]);
	free(c.sects);
	return r;
}

void
mandos_conf_free(struct mandos_conf *conf)
{
	struct mandos_client	*m;
	size_t			 i;

	for (i = 0; i < conf->nclients; i++) {
		m = &conf->clients[i];
		free(m->name);
		free(m->fingerprint);
		if (m->secret != NULL)
			explicit_bzero(m->secret, m->secret_len);
		free(m->secret);
		free(m->secfile);
		free(m->host);
		free(m->checker);
	}
	free(conf->clients);
	memset(conf, 0, sizeof(*conf));
}
