/*
 * conf.c: INI configuration files, read with libinih and checked against a
 * table of typed items (see conf.h).
 *
 * libinih (Debian 12: release 55) gives the syntax: "[section]" lines,
 * "name = value" or "name: value" pairs, whole-line comments starting with
 * ';' or '#', inline comments after " ;". libinih's continuation lines
 * (an indented line after a pair adds to that pair's value) are refused:
 * an indented key would silently become part of the value above, so
 * every indented line that is not a comment is an error. Its handler is
 * not told the line number, so we feed it through our own reader, which
 * counts lines, refuses NUL bytes and overlong lines (libinih would split
 * them silently into several lines), and mirrors libinih's reading of
 * each line closely enough to know section headers and continuation
 * lines.
 *
 * Reading has two phases. The first collects every pair, with its line,
 * into a list, and records
 * unknown sections and keys, duplicate keys and syntax errors. The second
 * runs each value through its validator in file order. The error reported
 * is the one on the lowest line, as "file:line: what is wrong".
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "conf.h"
#include "conf-int.h"
#include "file.h"
#include "log.h"
#include "pk_err.h"

/* One "name = value" of a file, kept until the second phase. */
struct conf_entry {
	int		 line;
	size_t		 item;		/* index into the table */
	char		*value;
	size_t		 len;
};

/* The state of one reading, shared by the reader and the handler. */
struct conf_parse {
	const char			*name;	/* file name for messages */
	const struct pk_conf_item	*table;
	size_t				 nitems;
	const char			*text;
	size_t				 len;
	size_t				 pos;
	int				 lineno;
	int				 cont;	/* an indented line: ignored */
	int				*seen;	/* per item: line, or 0 */
	struct conf_entry		*ent;
	size_t				 nent;
	size_t				 aent;
	int				 oom;
	int				 errline;
	char				*errmsg;
};

/* Records a printf-formatted error at line if it is the earliest so far. */
static void __attribute__((format(printf, 3, 4)))
conf_error(struct conf_parse *p, int line, const char *fmt, ...)
{
	va_list	ap;

	if (p->errline != 0 && p->errline <= line)
		return;
	free(p->errmsg);
	p->errmsg = NULL;
	va_start(ap, fmt);
	pk_cause_vset(&p->errmsg, fmt, ap);
	va_end(ap);
	if (p->errmsg == NULL)
		p->oom = 1;
	else
		p->errline = line;
}

/* Returns non-zero if some item of the table is in section. */
static int
conf_known_section(const struct conf_parse *p, const char *section,
    size_t len)
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < p->nitems; i++) {
		s = conf_item_section(&p->table[i]);
		if (strlen(s) == len && memcmp(s, section, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Looks at a line as libinih will (ini.c, ini_parse_stream), to refuse
 * indented lines and to check section headers.
 */
static void
conf_classify(struct conf_parse *p, char *line)
{
	char	 q[QUOTE_BUF];
	char	*start = line, *end;
	int	 was_space = 0;

	p->cont = 0;
	if (p->lineno == 1 && memcmp(start, "\xef\xbb\xbf", 3) == 0)
		line = start += 3;
	while (*start != '\0' && isspace((unsigned char)*start))
		start++;
	if (*start == '\0' || strchr(";#", *start) != NULL)
		return;
	if (start > line) {
		/* libinih would join it to the value above (or read an
		 * indented key): silently, a value the operator did not
		 * write. Refused; the handler ignores the line. */
		p->cont = 1;
		conf_error(p, p->lineno, "an indented line (%s): start keys "
		    "and section headers at the beginning of the line; a "
		    "value is written on one line",
		    conf_quote_n(q, start, strcspn(start, "\r\n")));
		return;
	}
	if (*start != '[')
		return;
	/* A ']' before any inline comment (a ';' after a blank). */
	for (end = start + 1; *end != '\0' && *end != ']'; end++) {
		if (was_space && *end == ';')
			return;		/* libinih calls it a syntax error */
		was_space = isspace((unsigned char)*end);
	}
	if (*end != ']')
		return;
	if (!conf_known_section(p, start + 1, (size_t)(end - start - 1)))
		conf_error(p, p->lineno, "unknown section %s",
		    conf_quote_n(q, start, (size_t)(end - start + 1)));
}

/* libinih's reader: hands over one line of the text at a time. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse	*p = stream;
	const char		*line, *nl;
	size_t			 linelen;

	if (p->pos >= p->len)
		return NULL;
	line = p->text + p->pos;
	nl = memchr(line, '\n', p->len - p->pos);
	linelen = nl != NULL ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += linelen + (nl != NULL);
	p->lineno++;
	p->cont = 0;
	if (num < 3)
		return NULL;
	if (memchr(line, '\0', linelen) != NULL) {
		conf_error(p, p->lineno, "NUL byte in line");
		goto blank;
	}
	if (linelen > (size_t)num - 2) {
		conf_error(p, p->lineno, "line longer than %d "
		    "bytes", num - 2);
		goto blank;
	}
	memcpy(str, line, linelen);
	str[linelen] = '\n';
	str[linelen + 1] = '\0';
	conf_classify(p, str);
	return str;
 blank:
	/* An empty line: libinih neither errs nor ends a value on it. */
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/* Adds an entry for item at the current line; 0 or PK_ERR_ALLOC. */
static int
conf_add_entry(struct conf_parse *p, size_t item, const char *value)
{
	struct conf_entry	*n;
	size_t			 na;

	if (p->nent == p->aent) {
		na = p->aent ? p->aent * 2 : 16;
		if ((n = reallocarray(p->ent, na, sizeof(*n))) == NULL)
			return PK_ERR_ALLOC;
		p->ent = n;
		p->aent = na;
	}
	n = &p->ent[p->nent];
	n->line = p->lineno;
	n->item = item;
	n->len = strlen(value);
	if ((n->value = strdup(value)) == NULL)
		return PK_ERR_ALLOC;
	p->nent++;
	return 0;
}

/* libinih's handler: called for each pair (and each indented line). */
static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse	*p = user;
	char			 q[QUOTE_BUF];
	size_t			 i;

	if (p->oom || value == NULL)
		return 1;
	if (p->cont)
		return 1;	/* refused by conf_classify() */
	for (i = 0; i < p->nitems; i++)
		if (strcmp(p->table[i].name, name) == 0 &&
		    strcmp(conf_item_section(&p->table[i]), section) == 0)
			break;
	if (i == p->nitems) {
		if (*section == '\0')
			conf_error(p, p->lineno, "unknown key %s "
			    "(outside any section)", conf_quote(q, name));
		else if (conf_known_section(p, section, strlen(section)))
			conf_error(p, p->lineno, "unknown key %s "
			    "in section [%s]", conf_quote(q, name), section);
		/* else: the section header was reported already. */
		return 1;
	}
	if (p->seen[i] != 0) {
		conf_error(p, p->lineno, "%s: duplicate key (first "
		    "set on line %d)", p->table[i].name, p->seen[i]);
		return 1;
	}
	p->seen[i] = p->lineno;
	if (conf_add_entry(p, i, value) != 0) {
		p->oom = 1;
		return 1;
	}
	return 1;
}

/* Returns the text of line n (1-based) of p's text and its length. */
static const char *
conf_line(const struct conf_parse *p, int n, size_t *len)
{
	const char	*s = p->text, *end = p->text + p->len, *nl;

	while (--n > 0 && s < end) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			s = end;
		else
			s = nl + 1;
	}
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
	return s;
}

/* Reads text into obj; the work of pk_conf_load_string(). */
static int
conf_load(struct conf_parse *p, void *obj, char **cause)
{
	char		 q[QUOTE_BUF];
	const char	*l;
	char		*msg;
	size_t		 i, llen;
	int		 r, ret = PK_ERR_ALLOC;

	for (p->nitems = 0; p->table[p->nitems].name != NULL; p->nitems++)
		;
	if ((p->seen = calloc(p->nitems + 1, sizeof(*p->seen))) == NULL)
		goto out;
	r = ini_parse_stream(conf_reader, p, conf_handler, p);
	if (r == -2 || p->oom)
		goto out;
	if (r > 0) {
		l = conf_line(p, r, &llen);
		conf_error(p, r, "syntax error in %s (expected "
		    "\"[section]\" or \"name = value\")",
		    conf_quote_n(q, l, llen));
	} else if (r != 0) {
		ret = PK_ERR_INTERNAL;
		goto out;
	}
	/* Second phase: values in file order, up to the first error. */
	for (i = 0; i < p->nent; i++) {
		if (p->errline != 0 && p->ent[i].line >= p->errline)
			break;
		r = conf_set_value(&p->table[p->ent[i].item],
		    p->ent[i].value, obj, &msg);
		if (r == PK_ERR_CONF && msg == NULL)
			p->oom = 1;
		else if (r == PK_ERR_CONF) {
			conf_error(p, p->ent[i].line, "%s", msg);
			free(msg);
		} else if (r != 0) {
			ret = r;
			goto out;
		}
	}
	if (p->oom)
		goto out;
	if (p->errline != 0) {
		ret = PK_ERR_CONF;
		pk_cause_set(cause, "%s:%d: %s", p->name, p->errline,
		    p->errmsg);
		if (cause != NULL && *cause == NULL)
			ret = PK_ERR_ALLOC;
		goto out;
	}
	ret = 0;
 out:
	if (ret == PK_ERR_ALLOC)
		pk_cause_set(cause, "%s: out of memory", p->name);
	for (i = 0; i < p->nent; i++)
		free(p->ent[i].value);
	free(p->ent);
	free(p->seen);
	free(p->errmsg);
	return ret;
}

/* Reads len bytes of INI text named name into obj (see conf.h). */
int
pk_conf_load_string(const char *name, const char *text, size_t len,
    const struct pk_conf_item *table, void *obj, char **cause)
{
	struct conf_parse	p;

	if (cause != NULL)
		*cause = NULL;
	if (name == NULL || (text == NULL && len != 0) || table == NULL ||
	    obj == NULL)
		return PK_ERR_INVALID_ARG;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.table = table;
	p.text = text;
	p.len = len;
	return conf_load(&p, obj, cause);
}

/* Reads the INI file at path into obj (see conf.h). */
int
pk_conf_load_file(const char *path, const struct pk_conf_item *table,
    void *obj, char **cause)
{
	char	*buf;
	size_t	 len;
	int	 r, saved;

	if (cause != NULL)
		*cause = NULL;
	if (path == NULL || table == NULL || obj == NULL)
		return PK_ERR_INVALID_ARG;
	r = pk_file_read(path, PK_CONF_MAX_FILE, 0, &buf, &len);
	saved = errno;
	if (r == PK_ERR_SYSTEM && saved == EINVAL) {
		pk_cause_set(cause, "%s: not a regular file", path);
		r = PK_ERR_CONF;
	} else if (r == PK_ERR_TOO_LARGE)
		pk_cause_set(cause, "%s: larger than %d bytes", path,
		    PK_CONF_MAX_FILE);
	else if (r == PK_ERR_NOT_FOUND || r == PK_ERR_SYSTEM)
		pk_cause_set(cause, "%s: %s", path, strerror(saved));
	else if (r == 0) {
		r = pk_conf_load_string(path, buf, len, table, obj, cause);
		free(buf);
		return r;
	}
	errno = saved;
	return r;
}
