/*
 * pgp-int.h: what pgp.c (the OpenPGP operations) and pgp-home.c (the
 * throw-away GnuPG homes they run in) share; not part of libpeerkey's
 * interface.
 */
#ifndef PK_PGP_INT_H
#define PK_PGP_INT_H

#include <limits.h>

#include <gpgme.h>

/* One throw-away GnuPG home and the context bound to it. */
struct pgp_home {
	char		 ph_dir[PATH_MAX];
	gpgme_ctx_t	 ph_ctx;
};

/* pgp.c */
/* Turns a GPGME error into a PK_ERR_* code and a cause naming what. */
int		 pgp_fail(char **cause, gpgme_error_t e, const char *what);
/* Initialises GPGME once and checks that gpg is there. */
int		 pgp_init(char **cause);
/* Refuses every passphrase request: our keys never have one. */
gpgme_error_t	 pgp_no_passphrase(void *hook, const char *uid_hint,
		    const char *info, int prev_bad, int fd);

/* pgp-home.c */
/*
 * Makes a private home under workdir (or, with envhome, takes $GNUPGHOME),
 * with agent starts its gpg-agent, and binds a new context to it; 0 or a
 * PK_ERR_* code with a cause. pgp_home_close() stops the agent and wipes
 * the files.
 */
int		 pgp_home_open(struct pgp_home *h, const char *workdir,
		    int envhome, int agent, char **cause);
void		 pgp_home_close(struct pgp_home *h);

#endif /* PK_PGP_INT_H */
