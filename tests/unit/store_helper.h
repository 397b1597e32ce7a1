/*
 * store_helper.h: shared helpers of the store's unit tests (see
 * store_helper.c). Test code may use sqlite directly: to forge and to
 * inspect databases.
 */
#ifndef STORE_HELPER_H
#define STORE_HELPER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct peer;
struct store;
struct store_event_row;

/*
 * Makes a fresh directory under the test's tmpdir. Returns its path in a
 * static buffer, one of four used in turn.
 */
const char	*newdir(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/* Opens dir's store or fails the test; returns NULL on failure. */
struct store	*xopen(const char *dir);

/* Fills p with peer number i; every field differs with i. */
void		 mkpeer(struct peer *p, int i);

/* Asserts that every persistent field of a and b is equal. */
void		 peer_assert_eq(const struct peer *a, const struct peer *b);

/* What store_peer_load_all() gave, in order. */
struct loaded {
	struct peer	*p[512];
	int		 n;
	int		 stop_at;	/* return 77 at this index; -1 never */
};

/* store_peer_load_all() callback: keeps the peers. */
int		 load_cb(struct peer *p, void *arg);
/* Loads every peer into l. */
int		 load(struct store *s, struct loaded *l);
/* Frees what load() kept. */
void		 load_free(struct loaded *l);

/* Events collected by a query. */
struct evlist {
	int64_t	 id[2048];
	int64_t	 at[2048];
	char	 text[2048][64];	/* "peer/kind/address/detail" */
	int	 n;
	int	 stop_at;
};

/* store_events_query() callback: keeps the rows (struct evlist). */
int		 ev_cb(const struct store_event_row *row, void *arg);
/* store_events_query() callback: counts the rows (a size_t). */
int		 count_cb(const struct store_event_row *row, void *arg);
/* Runs a query into l. */
int		 evq(struct store *s, const char *peer, const char *kind,
		    int64_t since, int64_t until, size_t limit,
		    struct evlist *l);

/* Fills buf with len bytes derived from seed. */
void		 fill(uint8_t *buf, size_t len, unsigned seed);

/* Runs one SQL statement on dir's database directly (forging). */
int		 raw_exec(const char *dir, const char *sql);
/* Returns PRAGMA user_version of dir's database, read directly. */
int		 raw_user_version(const char *dir);
/*
 * The whole content of dir's database as text (user_version and every
 * row of every table), to compare states. Caller frees.
 */
char		*digest(const char *dir);
/* Asserts that dir's database is exactly as digest() before says. */
void		 assert_unchanged(const char *dir, const char *before);
/* Copies file from/name to to/name (a missing file is fine). */
void		 copy_file(const char *from, const char *to, const char *name);
/* Reads a whole small file into buf; returns its length or -1. */
ssize_t		 slurp(const char *path, char *buf, size_t len);
/* Milliseconds of CLOCK_MONOTONIC, for the figures. */
double		 now_ms(void);

/*
 * The fault-injecting VFS "faulty", after SQLite's own I/O-error tests: a
 * shim over the default VFS that fails the Nth xWrite/xSync/xTruncate
 * (once with an I/O error, or from then on with "disk full").
 */
extern int	 fault_calls;	/* write/sync/truncate calls seen */
extern int	 fault_hits;	/* calls failed */
/* Registers "faulty" (once, before any store_open_vfs(.., "faulty")). */
void		 fault_register(void);
/* Arms the shim: fail call n (and, if full, every call after it); 0 off. */
void		 fault_arm(int n, int full);

#define NPEERS_FAULT	50

/* Prepares the "old" state for a fault case. */
typedef int (*setup_fn)(struct store *);
/* The operation under test; returns what the store said. */
typedef int (*op_fn)(struct store *);

/* Self row, peer-1 with blobs "first" and "second" and an event. */
int		 setup_one_peer(struct store *s);
/* Self row and NPEERS_FAULT peers. */
int		 setup_many_peers(struct store *s);

/*
 * Runs op on a copy of the state setup makes with the Nth write, sync or
 * truncate failing, for N = 1, 2, ... until op succeeds with no fault
 * left to inject. After each run: reopened without faults, the database
 * is sound and holds exactly the old or the new state; exactly the new
 * one if op returned 0. With op NULL, the operation is store_open() of a
 * fresh database (the migrations).
 */
void		 fault_case(const char *name, setup_fn setup, op_fn op,
		    int full);

/* A blob this long spills the 2 MiB page cache to the WAL as it is
 * written: its statement makes the writes a fault can hit. */
#define SPILL_LEN	(4 << 20)

/*
 * Makes directory name (newdir()) with setup_one_peer()'s state, sets
 * *old to its digest() (caller frees) and opens it through the faulty
 * VFS into *s (NULL, the test failed, if it cannot). Returns the
 * directory (newdir()'s buffer).
 */
const char	*faulty_one_peer(const char *name, char **old, struct store **s);

/*
 * What the "doomed" cases of both store tests start from:
 * faulty_one_peer(name, old, s) with its directory copied into dir
 * (dirlen bytes), and *big, a SPILL_LEN blob (fill() seed 4) for a
 * statement a fault can hit (caller frees). 0, or -1 (the test failed).
 */
int		 doomed_begin(const char *name, char *dir, size_t dirlen,
		    char **old, struct store **s, uint8_t **big);

/* One case of fault_cases(): its name, the old state, the operation. */
struct fault_op {
	const char	*name;
	setup_fn	 setup;
	op_fn		 op;
};

/* Runs fault_case() for each of n cases, I/O error and disk full: one
 * test each. */
void		 fault_cases(const struct fault_op *, size_t n);

#endif /* STORE_HELPER_H */
