/*
 * test-conf.c: conf.c, the INI reader and its validators.
 *
 * Every type is tried with good and bad values, and each error message is
 * compared whole: it must name the file, the line and the bad value.
 * Also: defaults, bounds, unknown sections and keys, duplicates, libinih's
 * comments and indented lines, NUL bytes, long lines, text without a
 * final NUL, a big file, and files that are missing or not regular.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "pk_err.h"
#include "test_helper.h"

struct opts {
	char			*top;
	char			*name;
	char			*key;
	unsigned long long	 workers;
	int			 foreground;
	uint64_t		 interval;
	uint16_t		 port;
	int			 mode;
	int			 loglevel;
	char			*listen;
	uint64_t		 maxframe;
	int			 peer_on;
	char			*peer_note;
};

static const char *const modes[] = { "strict", "relaxed", NULL };

#define O(f)	offsetof(struct opts, f)
static const struct pk_conf_item items[] = {
	{ "", "top", PK_CONF_STRING, O(top), 0, 0, NULL, NULL },
	{ "daemon", "name", PK_CONF_STRING, O(name), 1, 20, "node", NULL },
	{ "daemon", "key", PK_CONF_PATH, O(key), 0, 0, NULL, NULL },
	{ "daemon", "workers", PK_CONF_UINT, O(workers), 1, 64, "4", NULL },
	{ "daemon", "foreground", PK_CONF_BOOL, O(foreground), 0, 0, "no",
	    NULL },
	{ "daemon", "interval", PK_CONF_DURATION, O(interval), 1000, 86400000,
	    "5m", NULL },
	{ "daemon", "port", PK_CONF_PORT, O(port), 0, 0, "4141", NULL },
	{ "daemon", "mode", PK_CONF_ENUM, O(mode), 0, 0, "relaxed", modes },
	{ "daemon", "loglevel", PK_CONF_LOGLEVEL, O(loglevel), 0, 0, "debug",
	    NULL },
	{ "daemon", "listen", PK_CONF_ADDRESS, O(listen), 0, 0, "[::]:4141",
	    NULL },
	{ "daemon", "maxframe", PK_CONF_SIZE, O(maxframe), 1024, 1024 * 1024,
	    "64k", NULL },
	{ "peer", "enabled", PK_CONF_BOOL, O(peer_on), 0, 0, NULL, NULL },
	{ "peer", "note", PK_CONF_STRING, O(peer_note), 0, 0, NULL, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL, NULL }
};

static struct opts	 o;
static char		*cause;

/* Loads text (without its NUL, from an exact-size copy) over o. */
static int
load(const char *text)
{
	size_t	 len = strlen(text);
	char	*copy;
	int	 r;

	free(cause);
	cause = NULL;
	if ((copy = malloc(len ? len : 1)) == NULL)
		return PK_ERR_ALLOC;
	memcpy(copy, text, len);
	r = pk_conf_load_string("test.conf", copy, len, items, &o, &cause);
	free(copy);
	return r;
}

/* Resets o to defaults. */
static void
reset(void)
{
	char	*c = NULL;

	pk_conf_free(items, &o);
	memset(&o, 0, sizeof(o));
	if (pk_conf_defaults(items, &o, &c) != 0) {
		printf("# defaults failed: %s\n", c ? c : "?");
		exit(99);
	}
}

/* reset(), then load(text). */
static int
reload(const char *text)
{
	reset();
	return load(text);
}

/* The parser tables: a word and the value it gives, or the error. */
struct word_value {
	const char	*s;
	uint64_t	 v;
};
struct word_error {
	const char	*s;
	int		 r;
};

/* What o should hold: struct opts with constant strings (NULL: none). */
struct want {
	const char		*top, *name, *key;
	unsigned long long	 workers;
	int			 foreground;
	uint64_t		 interval;
	uint16_t		 port;
	int			 mode, loglevel;
	const char		*listen;
	uint64_t		 maxframe;
	int			 peer_on;
	const char		*peer_note;
};

/* Asserts that o holds, field by field, what w says. */
static void
assert_opts(const struct want *w)
{
	const char	*got[] = { o.top, o.name, o.key, o.listen, o.peer_note };
	const char	*exp[] = { w->top, w->name, w->key, w->listen,
			    w->peer_note };
	size_t		 i;

	for (i = 0; i < sizeof(got) / sizeof(got[0]); i++) {
		if (exp[i] == NULL)
			ASSERT_PTR_EQ(got[i], NULL);
		else
			ASSERT_STR_EQ(got[i], exp[i]);
	}
	ASSERT_INT_EQ(o.workers, w->workers);
	ASSERT_INT_EQ(o.foreground, w->foreground);
	ASSERT_INT_EQ(o.interval, w->interval);
	ASSERT_INT_EQ(o.port, w->port);
	ASSERT_INT_EQ(o.mode, w->mode);
	ASSERT_INT_EQ(o.loglevel, w->loglevel);
	ASSERT_INT_EQ(o.maxframe, w->maxframe);
	ASSERT_INT_EQ(o.peer_on, w->peer_on);
}

/* Expects text to fail with PK_ERR_CONF and exactly the message want. */
#define BAD(text, want) do {						\
	reset();							\
	ASSERT_INT_EQ(load(text), PK_ERR_CONF);				\
	ASSERT_STR_EQ(cause, want);					\
} while (0)

static void
test_defaults(void)
{
	static const struct pk_conf_item bad[] = {
		{ "x", "d", PK_CONF_DURATION, 0, 0, 0, "soon", NULL },
		{ NULL, NULL, 0, 0, 0, 0, NULL, NULL }
	};
	uint64_t	d = 7;

	TEST_START("defaults");
	reset();
	{
		static const struct want	defaults = {
			.name = "node", .workers = 4, .interval = 300000,
			.port = 4141, .mode = 1, .loglevel = PK_LOG_DEBUG,
			.listen = "[::]:4141", .maxframe = 65536,
		};

		assert_opts(&defaults);
	}
	/* An empty file changes nothing. */
	ASSERT_INT_EQ(load(""), 0);
	ASSERT_PTR_EQ(cause, NULL);
	ASSERT_STR_EQ(o.name, "node");
	ASSERT_INT_EQ(o.interval, 300000);
	TEST_DONE();

	TEST_START("defaults: a bad default is reported");
	ASSERT_INT_EQ(pk_conf_defaults(bad, &d, &cause), PK_ERR_CONF);
	ASSERT_STR_EQ(cause, "default of [x] d: \"soon\" is not a duration "
	    "(examples: 30s, 5m, 1h30m, PT5M)");
	ASSERT_INT_EQ(d, 7);
	free(cause);
	cause = NULL;
	TEST_DONE();
}

static void
test_valid(void)
{
	TEST_START("valid file: every type");
	ASSERT_INT_EQ(reload(
	    "top = hello world\n"
	    "[daemon]\n"
	    "name = alpha\n"
	    "key = /etc/peerkey/node.key\n"
	    "workers = 64\n"
	    "foreground = YES\n"
	    "interval = PT1H30M\n"
	    "port = 65535\n"
	    "mode = strict\n"
	    "loglevel = trace\n"
	    "listen = 192.0.2.1:99\n"
	    "maxframe: 1M\n"
	    "[peer]\n"
	    "enabled = on\n"
	    "note =\n"), 0);
	ASSERT_PTR_EQ(cause, NULL);
	{
		static const struct want	every = {
			.top = "hello world", .name = "alpha",
			.key = "/etc/peerkey/node.key", .workers = 64,
			.foreground = 1, .interval = 5400000, .port = 65535,
			.mode = 0, .loglevel = PK_LOG_TRACE,
			.listen = "192.0.2.1:99", .maxframe = 1024 * 1024,
			.peer_on = 1, .peer_note = "",
		};

		assert_opts(&every);
	}
	TEST_DONE();

	TEST_START("valid file: bounds are inclusive");
	ASSERT_INT_EQ(reload("[daemon]\nworkers=1\ninterval=1s\nmaxframe=1k\n"
	    "name=12345678901234567890\n"), 0);
	ASSERT_INT_EQ(o.workers, 1);
	ASSERT_INT_EQ(o.interval, 1000);
	ASSERT_INT_EQ(o.maxframe, 1024);
	ASSERT_INT_EQ(reload("[daemon]\ninterval=1d\n"), 0);
	ASSERT_INT_EQ(o.interval, 86400000);
	TEST_DONE();
}

static void
test_invalid(void)
{
	TEST_START("invalid: duration");
	BAD("[daemon]\ninterval = 10q\n", "test.conf:2: interval: \"10q\" is "
	    "not a duration (examples: 30s, 5m, 1h30m, PT5M)");
	BAD("[daemon]\ninterval = 500ms\n", "test.conf:2: interval: \"500ms\" "
	    "is below the minimum 1s");
	BAD("[daemon]\ninterval = P1DT1S\n", "test.conf:2: interval: "
	    "\"P1DT1S\" is above the maximum 1d");
	BAD("[daemon]\ninterval = 99999999999999999999\n", "test.conf:2: "
	    "interval: \"99999999999999999999\" is above the maximum 1d");
	TEST_DONE();

	TEST_START("invalid: uint");
	BAD("[daemon]\nworkers = 0\n",
	    "test.conf:2: workers: \"0\" is below the minimum 1");
	BAD("[daemon]\nworkers = 65\n",
	    "test.conf:2: workers: \"65\" is above the maximum 64");
	BAD("[daemon]\nworkers = 123456789012345678901234567890\n",
	    "test.conf:2: workers: \"123456789012345678901234567890\" is "
	    "above the maximum 64");
	BAD("[daemon]\nworkers = -1\n",
	    "test.conf:2: workers: \"-1\" is not a number");
	BAD("[daemon]\nworkers = 4 4\n",
	    "test.conf:2: workers: \"4 4\" is not a number");
	BAD("[daemon]\nworkers =\n",
	    "test.conf:2: workers: \"\" is not a number");
	TEST_DONE();

	TEST_START("invalid: bool, port, enum, loglevel");
	BAD("[daemon]\nforeground = maybe\n", "test.conf:2: foreground: "
	    "\"maybe\" is not a boolean (yes, no, true, false, on, off, 1, 0)");
	BAD("[daemon]\nport = 0\n", "test.conf:2: port: \"0\" is not a port "
	    "number (1 to 65535)");
	BAD("[daemon]\nport = 65536\n", "test.conf:2: port: \"65536\" is not "
	    "a port number (1 to 65535)");
	BAD("[daemon]\nport = http\n", "test.conf:2: port: \"http\" is not "
	    "a port number (1 to 65535)");
	BAD("[daemon]\nmode = Strict\n", "test.conf:2: mode: \"Strict\" is "
	    "not one of: strict, relaxed");
	BAD("[daemon]\nloglevel = verbose\n", "test.conf:2: loglevel: "
	    "\"verbose\" is not a log level (info, debug, trace)");
	TEST_DONE();

	TEST_START("invalid: address, size, path, string");
	BAD("[daemon]\nlisten = host:99999\n", "test.conf:2: listen: "
	    "\"host:99999\" is not an address (examples: node1.example, "
	    "192.0.2.1:4141, [2001:db8::1]:4141)");
	BAD("[daemon]\nlisten = [::1\n", "test.conf:2: listen: \"[::1\" is "
	    "not an address (examples: node1.example, 192.0.2.1:4141, "
	    "[2001:db8::1]:4141)");
	BAD("[daemon]\nmaxframe = 2M\n",
	    "test.conf:2: maxframe: \"2M\" is above the maximum 1M");
	BAD("[daemon]\nmaxframe = 1023\n",
	    "test.conf:2: maxframe: \"1023\" is below the minimum 1k");
	BAD("[daemon]\nmaxframe = 10x\n", "test.conf:2: maxframe: \"10x\" is "
	    "not a size (examples: 512, 64k, 16M)");
	BAD("[daemon]\nkey = etc/node.key\n", "test.conf:2: key: "
	    "\"etc/node.key\" is not an absolute path");
	BAD("[daemon]\nname =\n",
	    "test.conf:2: name: \"\" is shorter than 1 bytes");
	BAD("[daemon]\nname = 123456789012345678901\n", "test.conf:2: name: "
	    "\"123456789012345678901\" is longer than 20 bytes");
	BAD("[daemon]\nname = a\x1b[31mb\"\\\n", "test.conf:2: name: "
	    "\"a\\x1b[31mb\\\"\\\\\" contains a control character");
	TEST_DONE();

	TEST_START("invalid: long bad values are cut in messages");
	{
		char	text[512], want[200];

		memset(want, 0, sizeof(want));
		memset(want, '1', 79);
		snprintf(text, sizeof(text), "[daemon]\nworkers = x%s%s\n",
		    want, want);
		memset(want, 0, sizeof(want));
		strcpy(want, "test.conf:2: workers: \"x");
		memset(want + strlen(want), '1', 79);
		strcat(want, "...\" is not a number");
		BAD(text, want);
	}
	TEST_DONE();
}

static void
test_structure(void)
{
	TEST_START("unknown section, key; key outside sections");
	BAD("[daemon]\nname = a\n\n[deamon]\nname = b\n",
	    "test.conf:4: unknown section \"[deamon]\"");
	BAD("[daemon]\n[empty-typo]\n",
	    "test.conf:2: unknown section \"[empty-typo]\"");
	BAD("[daemon]\nname = a\ncolour = blue\n",
	    "test.conf:3: unknown key \"colour\" in section [daemon]");
	BAD("name = a\n", "test.conf:1: unknown key \"name\" (outside any "
	    "section)");
	BAD("[peer]\nname = a\n",
	    "test.conf:2: unknown key \"name\" in section [peer]");
	/* Keys are case-sensitive. */
	BAD("[daemon]\nName = a\n",
	    "test.conf:2: unknown key \"Name\" in section [daemon]");
	BAD("[Daemon]\n", "test.conf:1: unknown section \"[Daemon]\"");
	TEST_DONE();

	TEST_START("duplicate keys, even across repeated sections");
	BAD("[daemon]\nport = 1\nname = x\n\nport = 2\n",
	    "test.conf:5: port: duplicate key (first set on line 2)");
	BAD("[daemon]\nport = 1\n[peer]\n[daemon]\nport = 1\n",
	    "test.conf:5: port: duplicate key (first set on line 2)");
	/* A second section of the same name is otherwise fine. */
	ASSERT_INT_EQ(reload("[daemon]\nport = 1\n[peer]\nenabled=1\n[daemon]\n"
	    "name = z\n"), 0);
	ASSERT_STR_EQ(o.name, "z");
	TEST_DONE();

	TEST_START("syntax errors");
	BAD("[daemon]\nname = a\n[daemon\n", "test.conf:3: syntax error in "
	    "\"[daemon\" (expected \"[section]\" or \"name = value\")");
	BAD("[daemon]\njust words\n", "test.conf:2: syntax error in \"just "
	    "words\" (expected \"[section]\" or \"name = value\")");
	BAD("[daemon ; x]\n", "test.conf:1: syntax error in \"[daemon ; x]\" "
	    "(expected \"[section]\" or \"name = value\")");
	TEST_DONE();

	TEST_START("the earliest error wins");
	BAD("[daemon]\nport = 0\nname = a\n[daemon\n",
	    "test.conf:2: port: \"0\" is not a port number (1 to 65535)");
	BAD("[daemon]\nfoo = 1\nport = 0\n",
	    "test.conf:2: unknown key \"foo\" in section [daemon]");
	BAD("[daemon]\nport = 0\nfoo = 1\n",
	    "test.conf:2: port: \"0\" is not a port number (1 to 65535)");
	BAD("[daemon]\nport = 1\nwhat\nport = 2\n",
	    "test.conf:3: syntax error in \"what\" (expected \"[section]\" or "
	    "\"name = value\")");
	TEST_DONE();
}

static void
test_inih(void)
{
	TEST_START("comments as libinih reads them");
	ASSERT_INT_EQ(reload(
	    "; a comment\n"
	    "# another\n"
	    "[daemon] ; after a section\n"
	    "   ; indented comment\n"
	    "name = abc ; inline comment\n"
	    "key = /a#b\n"
	    "mode=strict;not a comment without a blank before\n"), PK_ERR_CONF);
	ASSERT_STR_EQ(o.name, "abc");
	ASSERT_STR_EQ(o.key, "/a#b");
	ASSERT_STR_EQ(cause, "test.conf:7: mode: \"strict;not a comment "
	    "without a blank before\" is not one of: strict, relaxed");
	ASSERT_INT_EQ(reload("[peer]\nnote = a # b\n"), 0);
	ASSERT_STR_EQ(o.peer_note, "a # b");
	TEST_DONE();

	TEST_START("indented lines are refused, not joined to a value");
	/* libinih would read "  port = 4999" as more of name's value. */
	BAD("[daemon]\nname = x\n  port = 4999\n", "test.conf:3: an "
	    "indented line (\"port = 4999\"): start keys and section headers "
	    "at the beginning of the line; a value is written on one line");
	BAD("[daemon]\nname = x\ninterval = 1h\n    30m\n", "test.conf:4: "
	    "an indented line (\"30m\"): start keys and section headers at "
	    "the beginning of the line; a value is written on one line");
	/* An indented first key is refused too; so is an indented header. */
	BAD("[daemon]\n  name = y\n", "test.conf:2: an indented line "
	    "(\"name = y\"): start keys and section headers at the beginning "
	    "of the line; a value is written on one line");
	BAD("[peer]\nnote = a\n\t[daemon]\n", "test.conf:3: an indented "
	    "line (\"[daemon]\"): start keys and section headers at the "
	    "beginning of the line; a value is written on one line");
	/* Indented comments and blank lines are fine. */
	reset();
	ASSERT_INT_EQ(load("[peer]\nnote = one\n   \n  ; c\n\t# c\n"), 0);
	ASSERT_STR_EQ(o.peer_note, "one");
	TEST_DONE();

	TEST_START("CRLF line ends, a UTF-8 BOM, no final newline");
	ASSERT_INT_EQ(reload("\xef\xbb\xbf[daemon]\r\nname = crlf\r\n"
	    "port = 9"), 0);
	ASSERT_STR_EQ(o.name, "crlf");
	ASSERT_INT_EQ(o.port, 9);
	TEST_DONE();
}

static void
test_bytes(void)
{
	char	 line[400], *buf;
	size_t	 len;
	int	 r;

	TEST_START("NUL byte in the text");
	reset();
	{
		static const char	nul[] = "[daemon]\nname = a\0b\nport=1\n";

		r = pk_conf_load_string("n.conf", nul, sizeof(nul) - 1, items,
		    &o, &cause);
		ASSERT_INT_EQ(r, PK_ERR_CONF);
		ASSERT_STR_EQ(cause, "n.conf:2: NUL byte in line");
		free(cause);
		cause = NULL;
	}
	TEST_DONE();

	TEST_START("line length limit");
	reset();
	memset(line, 0, sizeof(line));
	strcpy(line, "[peer]\nnote = ");
	len = strlen(line);
	/* Exactly PK_CONF_MAX_LINE bytes on line 2 is fine. */
	memset(line + len, 'n', PK_CONF_MAX_LINE - strlen("note = "));
	ASSERT_INT_EQ(load(line), 0);
	ASSERT_INT_EQ(strlen(o.peer_note), PK_CONF_MAX_LINE - 7);
	strcat(line, "N\n");
	BAD(line, "test.conf:2: line longer than 198 bytes");
	TEST_DONE();

	TEST_START("text is read by length, not to a NUL");
	reset();
	free(cause);
	cause = NULL;
	/* "port=12" with length 6: only "port=1" is seen. */
	ASSERT_INT_EQ(pk_conf_load_string("t", "[daemon]\nport=12", 15, items,
	    &o, &cause), 0);
	ASSERT_INT_EQ(o.port, 1);
	ASSERT_INT_EQ(pk_conf_load_string("t", NULL, 0, items, &o, &cause), 0);
	ASSERT_INT_EQ(pk_conf_load_string("t", NULL, 1, items, &o, &cause),
	    PK_ERR_INVALID_ARG);
	TEST_DONE();

	TEST_START("big file: line numbers stay exact");
	if ((buf = malloc(900000)) == NULL)
		return;
	len = 0;
	len += (size_t)sprintf(buf + len, "[daemon]\n");
	for (r = 0; r < 30000; r++)
		len += (size_t)sprintf(buf + len,
		    "; comment %d\n\n[peer]\n", r);
	len += (size_t)sprintf(buf + len, "[daemon]\nport = 77\n"
	    "workers = 900\n");
	ASSERT_INT_EQ(reload(buf), PK_ERR_CONF);
	ASSERT_STR_EQ(cause,
	    "test.conf:90004: workers: \"900\" is above the maximum 64");
	ASSERT_INT_EQ(o.port, 77);
	free(buf);
	TEST_DONE();
}

/* Writes text to dir/name and returns the path (static buffer). */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char	 path[4096];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		printf("# cannot write %s\n", path);
		exit(99);
	}
	return path;
}

static void
test_files(void)
{
	char		 want[4200], path[4096], *big;
	const char	*p;

	TEST_START("file: read, and errors name the path");
	free(cause);
	cause = NULL;
	reset();
	p = write_file("ok.conf", "[daemon]\nname = file\n", 21);
	ASSERT_INT_EQ(pk_conf_load_file(p, items, &o, &cause), 0);
	ASSERT_STR_EQ(o.name, "file");
	p = write_file("bad.conf", "[daemon]\n\n\ninterval = 10q\n", 25);
	ASSERT_INT_EQ(pk_conf_load_file(p, items, &o, &cause), PK_ERR_CONF);
	snprintf(want, sizeof(want), "%s:4: interval: \"10q\" is not a "
	    "duration (examples: 30s, 5m, 1h30m, PT5M)", p);
	ASSERT_STR_EQ(cause, want);
	free(cause);
	cause = NULL;
	TEST_DONE();

	TEST_START("file: missing");
	snprintf(path, sizeof(path), "%s/none.conf", test_tmpdir());
	errno = 0;
	ASSERT_INT_EQ(pk_conf_load_file(path, items, &o, &cause),
	    PK_ERR_NOT_FOUND);
	ASSERT_INT_EQ(errno, ENOENT);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	ASSERT_STR_EQ(cause, want);
	free(cause);
	cause = NULL;
	/* Without cause, too. */
	ASSERT_INT_EQ(pk_conf_load_file(path, items, &o, NULL),
	    PK_ERR_NOT_FOUND);
	TEST_DONE();

	TEST_START("file: a directory, an oversized file");
	ASSERT_INT_EQ(pk_conf_load_file(test_tmpdir(), items, &o, &cause),
	    PK_ERR_CONF);
	snprintf(want, sizeof(want), "%s: not a regular file", test_tmpdir());
	ASSERT_STR_EQ(cause, want);
	free(cause);
	cause = NULL;
	if ((big = malloc(PK_CONF_MAX_FILE + 1)) == NULL)
		return;
	memset(big, '\n', PK_CONF_MAX_FILE + 1);
	p = write_file("big.conf", big, PK_CONF_MAX_FILE + 1);
	ASSERT_INT_EQ(pk_conf_load_file(p, items, &o, &cause),
	    PK_ERR_TOO_LARGE);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", p);
	ASSERT_STR_EQ(cause, want);
	free(cause);
	cause = NULL;
	/* Exactly the limit is fine. */
	p = write_file("limit.conf", big, PK_CONF_MAX_FILE);
	ASSERT_INT_EQ(pk_conf_load_file(p, items, &o, &cause), 0);
	free(big);
	TEST_DONE();
}

static void
test_set(void)
{
	TEST_START("pk_conf_set: for the command line");
	reset();
	ASSERT_INT_EQ(pk_conf_set(&items[5], "90s", &o, &cause), 0);
	ASSERT_INT_EQ(o.interval, 90000);
	ASSERT_PTR_EQ(cause, NULL);
	ASSERT_INT_EQ(pk_conf_set(&items[5], "x", &o, &cause), PK_ERR_CONF);
	ASSERT_STR_EQ(cause, "interval: \"x\" is not a duration (examples: "
	    "30s, 5m, 1h30m, PT5M)");
	ASSERT_INT_EQ(o.interval, 90000);
	free(cause);
	cause = NULL;
	ASSERT_INT_EQ(pk_conf_set(&items[1], "renamed", &o, NULL), 0);
	ASSERT_STR_EQ(o.name, "renamed");
	ASSERT_INT_EQ(pk_conf_set(&items[13], "x", &o, NULL),
	    PK_ERR_INVALID_ARG);
	TEST_DONE();
}

/* One duration case: text, expected result, expected value. */
struct dcase {
	const char	*s;
	int		 r;
	uint64_t	 ms;
};

static void
test_validators(void)
{
	static const struct dcase dur[] = {
		{ "30", 0, 30000 },
		{ "0", 0, 0 },
		{ "250ms", 0, 250 },
		{ "30s", 0, 30000 },
		{ "5m", 0, 300000 },
		{ "1h30m", 0, 5400000 },
		{ "1w2d3h4m5s6ms", 0, 788645006ULL },
		{ "2d", 0, 172800000 },
		{ "PT5M", 0, 300000 },
		{ "P1DT3M20S", 0, 86600000 },
		{ "P1W", 0, 604800000 },
		{ "P1Y", 0, 365ULL * 86400000 },
		{ "P1M", 0, 30ULL * 86400000 },
		{ "PT1M", 0, 60000 },
		{ "P1Y2M3DT4H5M6S", 0, 36993906000ULL },
		{ "18446744073709551", 0, 18446744073709551000ULL },
		{ "", PK_ERR_BAD_FORMAT, 0 },
		{ " 5s", PK_ERR_BAD_FORMAT, 0 },
		{ "5s ", PK_ERR_BAD_FORMAT, 0 },
		{ "-5s", PK_ERR_BAD_FORMAT, 0 },
		{ "+5", PK_ERR_BAD_FORMAT, 0 },
		{ "5x", PK_ERR_BAD_FORMAT, 0 },
		{ "1.5s", PK_ERR_BAD_FORMAT, 0 },
		{ "5m5m", PK_ERR_BAD_FORMAT, 0 },
		{ "5s5m", PK_ERR_BAD_FORMAT, 0 },
		{ "5ms5s", PK_ERR_BAD_FORMAT, 0 },
		{ "s", PK_ERR_BAD_FORMAT, 0 },
		{ "5mss", PK_ERR_BAD_FORMAT, 0 },
		{ "P", PK_ERR_BAD_FORMAT, 0 },
		{ "PT", PK_ERR_BAD_FORMAT, 0 },
		{ "P1DT", PK_ERR_BAD_FORMAT, 0 },
		{ "P5S", PK_ERR_BAD_FORMAT, 0 },
		{ "P1H", PK_ERR_BAD_FORMAT, 0 },
		{ "PT1D", PK_ERR_BAD_FORMAT, 0 },
		{ "P1D1Y", PK_ERR_BAD_FORMAT, 0 },
		{ "P1W1D", PK_ERR_BAD_FORMAT, 0 },
		{ "PT1S1M", PK_ERR_BAD_FORMAT, 0 },
		{ "PTT1S", PK_ERR_BAD_FORMAT, 0 },
		{ "p1d", PK_ERR_BAD_FORMAT, 0 },
		{ "P-1D", PK_ERR_BAD_FORMAT, 0 },
		{ "18446744073709552", PK_ERR_TOO_LARGE, 0 },
		{ "18446744073709551616", PK_ERR_TOO_LARGE, 0 },
		{ "99999999999999999999d", PK_ERR_TOO_LARGE, 0 },
		{ "213503982335d", PK_ERR_TOO_LARGE, 0 },
		{ "P99999999999Y", PK_ERR_TOO_LARGE, 0 },
		{ "P99999999999999999999W", PK_ERR_TOO_LARGE, 0 },
		{ "99999999999999999999x", PK_ERR_BAD_FORMAT, 0 },
		{ "P99999999999Y1X", PK_ERR_BAD_FORMAT, 0 },
	};
	unsigned long long	 u;
	uint64_t		 v;
	uint16_t		 port;
	size_t			 i;
	char			 host[64], buf[64];
	int			 b;

	TEST_START("pk_parse_duration_ms");
	for (i = 0; i < sizeof(dur) / sizeof(dur[0]); i++) {
		v = 12345;
		if (pk_parse_duration_ms(dur[i].s, &v) != dur[i].r ||
		    v != (dur[i].r == 0 ? dur[i].ms : 12345))
			test_fail(__FILE__, __LINE__, "\"%s\": r %d ms %llu",
			    dur[i].s, pk_parse_duration_ms(dur[i].s, &v),
			    (unsigned long long)v);
	}
	ASSERT_INT_EQ(pk_parse_duration_ms(NULL, &v), PK_ERR_BAD_FORMAT);
	TEST_DONE();

	TEST_START("pk_format_duration reads back");
	ASSERT_STR_EQ(pk_format_duration(0, buf, sizeof(buf)), "0s");
	ASSERT_STR_EQ(pk_format_duration(5400000, buf, sizeof(buf)), "1h30m");
	ASSERT_STR_EQ(pk_format_duration(250, buf, sizeof(buf)), "250ms");
	ASSERT_STR_EQ(pk_format_duration(90061001, buf, sizeof(buf)),
	    "1d1h1m1s1ms");
	for (v = 1; v < UINT64_MAX / 3; v = v * 3 + 7) {
		uint64_t	back = 0;

		pk_format_duration(v, buf, sizeof(buf));
		if (pk_parse_duration_ms(buf, &back) != 0 || back != v)
			test_fail(__FILE__, __LINE__, "%llu -> %s -> %llu",
			    (unsigned long long)v, buf,
			    (unsigned long long)back);
	}
	TEST_DONE();

	TEST_START("pk_parse_bool");
	{
		static const struct word_value good[] = {
			{ "yes", 1 }, { "No", 0 }, { "TRUE", 1 }, { "false", 0 },
			{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
		};
		static const char *const bad[] = {
			"", "y", "2", "yess", " yes",
		};

		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			b = -1;
			if (pk_parse_bool(good[i].s, &b) != 0 ||
			    (uint64_t)b != good[i].v)
				test_fail(__FILE__, __LINE__, "\"%s\": %d",
				    good[i].s, b);
		}
		b = 7;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (pk_parse_bool(bad[i], &b) != PK_ERR_BAD_FORMAT)
				test_fail(__FILE__, __LINE__, "\"%s\" "
				    "accepted", bad[i]);
		ASSERT_INT_EQ(b, 7);
	}
	TEST_DONE();

	TEST_START("pk_parse_uint");
	ASSERT_INT_EQ(pk_parse_uint("0", 0, 10, &u), 0);
	ASSERT_INT_EQ(u, 0);
	ASSERT_INT_EQ(pk_parse_uint("010", 0, 10, &u), 0);
	ASSERT_INT_EQ(u, 10);
	ASSERT_INT_EQ(pk_parse_uint("18446744073709551615", 0, ULLONG_MAX,
	    &u), 0);
	ASSERT_TRUE(u == ULLONG_MAX);
	u = 3;
	ASSERT_INT_EQ(pk_parse_uint("18446744073709551616", 0, ULLONG_MAX,
	    &u), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_parse_uint("18446744073709551616x", 0, ULLONG_MAX,
	    &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_uint("11", 0, 10, &u), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_parse_uint("4", 5, 10, &u), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_parse_uint("", 0, 10, &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_uint("+1", 0, 10, &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_uint("-1", 0, 10, &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_uint(" 1", 0, 10, &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_uint("1 ", 0, 10, &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_uint("0x1", 0, 10, &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_uint(NULL, 0, 10, &u), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(u, 3);
	TEST_DONE();

	TEST_START("pk_parse_port");
	ASSERT_INT_EQ(pk_parse_port("1", &port), 0);
	ASSERT_INT_EQ(port, 1);
	ASSERT_INT_EQ(pk_parse_port("65535", &port), 0);
	ASSERT_INT_EQ(port, 65535);
	ASSERT_INT_EQ(pk_parse_port("0", &port), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_parse_port("65536", &port), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_parse_port("4294967297", &port), PK_ERR_TOO_LARGE);
	ASSERT_INT_EQ(pk_parse_port("ssh", &port), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(port, 65535);
	TEST_DONE();

	TEST_START("pk_parse_size");
	{
		static const struct word_value good[] = {
			{ "512", 512 }, { "64k", 65536 }, { "64K", 65536 },
			{ "16M", 16 << 20 }, { "3G", 3ULL << 30 },
			{ "17179869183G", 17179869183ULL << 30 },
		};
		static const struct word_error bad[] = {
			{ "17179869184G", PK_ERR_TOO_LARGE },
			{ "99999999999999999999", PK_ERR_TOO_LARGE },
			{ "99999999999999999999x", PK_ERR_BAD_FORMAT },
			{ "1T", PK_ERR_BAD_FORMAT },
			{ "16MB", PK_ERR_BAD_FORMAT },
			{ "m", PK_ERR_BAD_FORMAT },
			{ "k", PK_ERR_BAD_FORMAT },
			{ "", PK_ERR_BAD_FORMAT },
			{ "1.5M", PK_ERR_BAD_FORMAT },
		};

		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			v = 0;
			if (pk_parse_size(good[i].s, &v) != 0 ||
			    v != good[i].v)
				test_fail(__FILE__, __LINE__, "\"%s\": %llu",
				    good[i].s, (unsigned long long)v);
		}
		v = 9;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (pk_parse_size(bad[i].s, &v) != bad[i].r)
				test_fail(__FILE__, __LINE__, "\"%s\": not "
				    "%d", bad[i].s, bad[i].r);
		ASSERT_INT_EQ(v, 9);
	}
	TEST_DONE();

	TEST_START("pk_parse_loglevel");
	ASSERT_INT_EQ(pk_parse_loglevel("info", &b), 0);
	ASSERT_INT_EQ(b, PK_LOG_INFO);
	ASSERT_INT_EQ(pk_parse_loglevel("debug", &b), 0);
	ASSERT_INT_EQ(b, PK_LOG_DEBUG);
	ASSERT_INT_EQ(pk_parse_loglevel("trace", &b), 0);
	ASSERT_INT_EQ(b, PK_LOG_TRACE);
	ASSERT_INT_EQ(pk_parse_loglevel("warn", &b), PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_loglevel("DEBUG", &b), PK_ERR_BAD_FORMAT);
	TEST_DONE();

	TEST_START("pk_parse_address: good");
	{
		static const struct {
			const char	*s, *host;
			uint16_t	 port;
		} good[] = {
			{ "node1.example", "node1.example", 4141 },
			{ "node1.example:80", "node1.example", 80 },
			{ "localhost", "localhost", 4141 },
			{ "a-b.c-d", "a-b.c-d", 4141 },
			{ "192.0.2.1", "192.0.2.1", 4141 },
			{ "192.0.2.1:1", "192.0.2.1", 1 },
			{ "[2001:db8::1]:65535", "2001:db8::1", 65535 },
			{ "[::]", "::", 4141 },
			{ "::1", "::1", 4141 },
			{ "fe80::1%eth0", "fe80::1%eth0", 4141 },
			{ "[fe80::1%eth0]:22", "fe80::1%eth0", 22 },
			{ "[::ffff:192.0.2.1]:5", "::ffff:192.0.2.1", 5 },
		};

		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			port = 0;
			host[0] = '\0';
			if (pk_parse_address(good[i].s, host, sizeof(host),
			    4141, &port) != 0 ||
			    strcmp(host, good[i].host) != 0 ||
			    port != good[i].port)
				test_fail(__FILE__, __LINE__, "\"%s\": \"%s\" "
				    "%u", good[i].s, host, port);
		}
	}
	TEST_DONE();

	TEST_START("pk_parse_address: bad");
	{
		static const char *const bad[] = {
			"", ":80", "host:", "host:0", "host:65536", "host:x",
			"[::1", "[::1]x", "[::1]:", "[]:80", "[host]:80",
			"192.0.2.256", "1.2.3", "999", "-a.b", "a-.b", "a..b",
			".a", "a b", "a_b", "1.2.3.4:80:90", "::g", "[::1]:80:",
			"fe80::1%", "fe80::1%eth 0",
			"fe80::1%abcdefghijklmnopq", "host\n",
			("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "aaaaaaaaaa.b"),	/* a 64-byte label */
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			port = 7;
			if (pk_parse_address(bad[i], host, sizeof(host), 1,
			    &port) != PK_ERR_BAD_FORMAT || port != 7)
				test_fail(__FILE__, __LINE__, "\"%s\" passed",
				    bad[i]);
		}
		ASSERT_INT_EQ(pk_parse_address("node1.example", host, 5, 1,
		    &port), PK_ERR_TOO_LARGE);
		ASSERT_INT_EQ(port, 7);
	}
	TEST_DONE();

	TEST_START("pk_parse_address_list: every word an address");
	ASSERT_INT_EQ(pk_parse_address_list(""), 0);
	ASSERT_INT_EQ(pk_parse_address_list("192.0.2.1:4141 "
	    "[2001:db8::1]:4141,\t[fe80::1%eth0]:1 node1.example"), 0);
	ASSERT_INT_EQ(pk_parse_address_list("192.0.2.1:1\n\033[2J"),
	    PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_address_list("192.0.2.1:1 x;reboot"),
	    PK_ERR_BAD_FORMAT);
	ASSERT_INT_EQ(pk_parse_address_list("192.0.2.1:1 :80"),
	    PK_ERR_BAD_FORMAT);
	TEST_DONE();
}

int
main(void)
{
	test_defaults();
	test_valid();
	test_invalid();
	test_structure();
	test_inih();
	test_bytes();
	test_files();
	test_set();
	test_validators();
	pk_conf_free(items, &o);
	free(cause);
	return test_exit();
}
