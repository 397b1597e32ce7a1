/*
 * agent.c: peerkey-boot's main: options, the boot configuration, the
 * overall flow, and exit codes.
 *
 *	peerkey-boot [-nv] [-a] [-A dir] [-b blob] [-c file] [-d device]
 *	    [-g give-up] [-P device|none] [--plymouth=path|none]
 *
 * As a cryptsetup keyscript (the default mode) it writes the passphrase to
 * stdout and nothing else. With -a it is a systemd password agent: it
 * answers the requests in /run/systemd/ask-password instead (askpass.c).
 *
 * Which blob: the one named by -b; else the one of the disk being
 * unlocked (-d, or the device a request names), found by the UUID in its
 * LUKS header, and checked against that header before it is handed over
 * (disk.c); else the first one a peer sends.
 *
 * Where the prompt goes: when plymouthd runs ("plymouth --ping"), through
 * plymouth (plymouth.c says why the agent, not the keyscript, decides);
 * else, or with -P, on the console device.
 *
 * The process holds the passphrase only in locked memory, is made
 * undumpable first thing, and leaves nothing running when it exits: the
 * gpg-agent GnuPG starts is stopped by pgp.c, the mDNS thread by
 * browse_stop(), and every connection is closed by fetch.c; plymouth's
 * ask-for-password child is killed and reaped by prompt.c (which has the
 * plymouthd it found restarted, the one thing left behind on purpose).
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "boot.h"
#include "conf.h"
#include "io.h"
#include "key.h"
#include "log.h"
#include "pk_err.h"
#include "secret.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/etc"
#endif
#define BOOT_CONF_DEFAULT	SYSCONFDIR "/peerkey/boot.conf"
#define ASKPASS_DIR_DEFAULT	"/run/systemd/ask-password"
#define ASKS_MAX		16
#define DRY_RUN_GIVE_UP_MS	60000	/* --dry-run without a give-up */
#define OPT_DRY_RUN		256
#define OPT_PLYMOUTH		257

static const struct option longopts[] = {
	{ "dry-run",	no_argument,	NULL,	OPT_DRY_RUN },
	{ "plymouth",	required_argument, NULL, OPT_PLYMOUTH },
	{ NULL,		0,		NULL,	0 }
};

static volatile sig_atomic_t	stop_flag;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: peerkey-boot [-nv] [-a] [-A dir] [-b blob] "
	    "[-c file] [-d device]\n\t[-g give-up] [-P device|none] "
	    "[--plymouth=path|none]\n"
	    "       peerkey-boot --dry-run [-v] [-b blob] [-c file] "
	    "[-g give-up] -d device\n");
	exit(BOOT_EXIT_USAGE);
}

/* Signal handler: ask the loop to stop. */
static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Installs the signal handlers (no SA_RESTART: poll() must wake up). */
static void
signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* ask-password mode: cancel when no request is left. */
struct ask_watch {
	const char	*dir;
	int		 fd;
};

/* Drains inotify; returns 1 when no valid request is left. */
static int
ask_gone(void *arg)
{
	struct ask_watch	*w = arg;
	struct ask		 asks[ASKS_MAX];
	char			 ev[4096];

	while (read(w->fd, ev, sizeof(ev)) > 0)
		;
	return askpass_find(w->dir, asks, ASKS_MAX) == 0;
}

/* What one request is for: its disk (header read), or only a UUID. */
struct ask_target {
	struct disk	*disk;
	char		 uuid[BOOT_UUID_MAX];	/* "" if unknown */
};

/* Works out what request a is for. */
static void
ask_target_of(const struct ask *a, struct ask_target *t)
{
	char	 dev[BOOT_DEV_MAX], *cause = NULL;

	memset(t, 0, sizeof(*t));
	if (askpass_device(a, dev, sizeof(dev)) != NULL) {
		if (disk_open(dev, &t->disk, &cause) == 0)
			boot_strlcpy(t->uuid, disk_uuid(t->disk),
			    sizeof(t->uuid));
		else
			log_debug("%s: %s", a->path, cause != NULL ? cause :
			    dev);
		free(cause);
	}
	if (t->uuid[0] == '\0' && askpass_uuid(a, t->uuid,
	    sizeof(t->uuid)) == NULL)
		t->uuid[0] = '\0';
}

/*
 * Does the passphrase of request 0 (target t0) answer request a (target
 * t) too? Its disk takes it; or, no disk known, the same UUID; or
 * nothing known of either (one disk, as before disks were told apart).
 */
static int
ask_same(const struct ask_target *t0, struct ask_target *t,
    const char *pass, size_t len)
{
	if (t->disk != NULL)
		return disk_check(t->disk, pass, len) == 0;
	if (t->uuid[0] != '\0')
		return strcasecmp(t->uuid, t0->uuid) == 0;
	return t0->uuid[0] == '\0';
}

/*
 * Waits until a request appears (appear 1: returns how many) or until
 * none is left (appear 0: returns 0), or give-up, or a signal.
 */
static int
ask_wait(const char *dir, int fd, uint64_t give_up_ms, struct ask *asks,
    int appear)
{
	struct pollfd	 pfd;
	char		 ev[4096];
	uint64_t	 end = 0;
	int		 n, t;

	if (give_up_ms != 0)
		end = pk_now_ms() + give_up_ms;
	for (;;) {
		n = askpass_find(dir, asks, ASKS_MAX);
		if (appear ? n > 0 : n == 0)
			return n;
		if (stop_flag)
			return -BOOT_EXIT_CANCELLED;
		t = 1000;	/* also re-check asks that age out */
		if (end != 0) {
			if (pk_now_ms() >= end)
				return -BOOT_EXIT_GAVE_UP;
			if (end - pk_now_ms() < 1000ULL)
				t = (int)(end - pk_now_ms());
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, t) > 0)
			while (read(fd, ev, sizeof(ev)) > 0)
				;
	}
}

int
main(int argc, char *argv[])
{
	struct boot_conf	 conf;
	struct candidate	*cand = NULL;
	struct fetch_opts	 fo;
	struct boot_result	 res;
	struct pk_identity	*tls_id = NULL;
	struct browse		*browse = NULL;
	struct prompt		*prompt = NULL;
	struct ask		 asks[ASKS_MAX];
	struct ask_watch	 aw = { NULL, -1 };
	struct ask_target	 t0, ti;
	struct disk		*disk = NULL;
	const char		*conffile = BOOT_CONF_DEFAULT, *blob = NULL;
	const char		*askdir = ASKPASS_DIR_DEFAULT, *pdev = NULL;
	const char		*give_up = NULL, *device = NULL;
	const char		*plyopt = NULL, *ply = NULL, *pdev_opt;
	char			*cause = NULL, msg[300];
	char			 keyid[PK_KEYID_HEXLEN + 1];
	int			 ch, checkonly = 0, askmode = 0, verbose = 0;
	int			 ncand, r, ret = BOOT_EXIT_LOCAL, bfd = -1, nask;
	int			 i, done = 0, rounds, tpm_failed = 0;
	int			 dryrun = 0;

	memset(&res, 0, sizeof(res));
	log_procinit("peerkey-boot");
	if (pk_secret_harden_process() != 0) {
		fprintf(stderr, "peerkey-boot: cannot harden the process\n");
		return BOOT_EXIT_LOCAL;
	}
	memset(&t0, 0, sizeof(t0));
	while ((ch = getopt_long(argc, argv, "aA:b:c:d:g:nP:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_DRY_RUN:
			dryrun = 1;
			break;
		case OPT_PLYMOUTH:
			plyopt = optarg;
			break;
		case 'a':
			askmode = 1;
			break;
		case 'A':
			askdir = optarg;
			break;
		case 'b':
			blob = optarg;
			break;
		case 'c':
			conffile = optarg;
			break;
		case 'd':
			device = optarg;
			break;
		case 'g':
			give_up = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'P':
			pdev = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* A dry run checks one disk, prompts no one, hands nothing over. */
	if (dryrun && (device == NULL || askmode || checkonly))
		usage();
	if (dryrun)
		pdev = "none";
	pdev_opt = pdev;
	log_init(1, 0);
	log_setverbose(verbose);
	signals();

	if (boot_conf_load(conffile, &conf, &cause) != 0) {
		fprintf(stderr, "peerkey-boot: %s\n", cause != NULL ? cause :
		    conffile);
		free(cause);
		boot_conf_free(&conf);
		return BOOT_EXIT_USAGE;
	}
	if (give_up != NULL && pk_parse_duration_ms(give_up,
	    &conf.give_up_ms) != 0) {
		fprintf(stderr, "peerkey-boot: -g: \"%s\" is not a duration\n",
		    give_up);
		ret = BOOT_EXIT_USAGE;
		goto out;
	}
	if (dryrun && give_up == NULL && conf.give_up_ms == 0)
		conf.give_up_ms = DRY_RUN_GIVE_UP_MS;
	if (conf.retry_max_ms < conf.retry_min_ms)
		conf.retry_max_ms = conf.retry_min_ms;
	if ((cand = calloc(BOOT_CANDS_MAX, sizeof(*cand))) == NULL)
		goto out;
	if ((ncand = boot_conf_candidates(&conf, cand, BOOT_CANDS_MAX,
	    &cause)) < 0) {
		fprintf(stderr, "peerkey-boot: %s: %s\n", conffile,
		    cause != NULL ? cause : pk_strerror(ncand));
		ret = BOOT_EXIT_USAGE;
		goto out;
	}
	r = boot_identity(&conf, !checkonly, &tls_id, keyid, &cause);
	if (r == PK_ERR_TPM && !checkonly) {
		/* One line; the prompt still works. */
		progress("%s: no peer can be asked, type the passphrase",
		    cause != NULL ? cause : pk_strerror(r));
		tpm_failed = 1;
		ncand = 0;
		conf.mdns = 0;
	} else if (r != 0) {
		fprintf(stderr, "peerkey-boot: %s\n", cause != NULL ? cause :
		    pk_strerror(r));
		goto out;
	}
	free(cause);
	cause = NULL;
	if ((r = decrypt_init(conf.workdir, conf.pgp_key)) != 0) {
		fprintf(stderr, "peerkey-boot: OpenPGP key %s (work directory "
		    "%s): %s\n", conf.pgp_key, conf.workdir,
		    r == PK_ERR_SYSTEM ? strerror(errno) : pk_strerror(r));
		goto out;
	}
	if (checkonly) {
		fprintf(stderr, "peerkey-boot: %s: configuration OK (%d "
		    "address%s, boot key %s%s)\n", conffile, ncand,
		    ncand == 1 ? "" : "es", keyid, conf.tpm_key != NULL ?
		    " in the TPM" : "");
		ret = 0;
		goto out;
	}
	log_debug("boot key %s", keyid);
	/* Without the header the blob goes unchecked, as without -d. */
	if (device != NULL && !askmode && disk_open(device, &disk,
	    &cause) != 0) {
		if (dryrun) {
			fprintf(stderr, "peerkey-boot: %s\n", cause != NULL ?
			    cause : device);
			ret = BOOT_EXIT_USAGE;
			goto out;
		}
		progress("%s; its blob cannot be checked", cause != NULL ?
		    cause : device);
		free(cause);
		cause = NULL;
	}

	if (askmode) {
		aw.dir = askdir;
		if ((aw.fd = askpass_watch(askdir)) == -1) {
			fprintf(stderr, "peerkey-boot: %s: %s\n", askdir,
			    strerror(errno));
			goto out;
		}
		if ((nask = ask_wait(askdir, aw.fd, conf.give_up_ms,
		    asks, 1)) < 0) {
			ret = -nask;
			goto out;
		}
	}
	if (pdev == NULL && conf.prompt && !askmode)
		pdev = conf.prompt_device;
	if (pdev != NULL && strcmp(pdev, "none") != 0) {
		snprintf(msg, sizeof(msg), "Please unlock disk %s: ",
		    getenv("CRYPTTAB_NAME") != NULL ? getenv("CRYPTTAB_NAME") :
		    "(peerkey)");
		/* -P names the device: no plymouth then. */
		if (pdev_opt == NULL && (ply = plymouth_find(plyopt)) != NULL &&
		    plymouth_ping(ply)) {
			if ((r = prompt_open_plymouth(ply, pdev, msg,
			    &prompt)) == 0) {
				progress_plymouth(ply);
				progress("plymouth runs: the prompt goes "
				    "through plymouth (%s)", ply);
			} else
				progress("no plymouth prompt (%s: %s); the "
				    "console prompt instead", ply,
				    r == PK_ERR_SYSTEM ? strerror(errno) :
				    pk_strerror(r));
		}
		if (prompt == NULL && (r = prompt_open(pdev, msg,
		    &prompt)) != 0)
			progress("no console prompt (%s: %s)", pdev,
			    r == PK_ERR_SYSTEM ? strerror(errno) :
			    pk_strerror(r));
	}
	/*
	 * A TPM boot key that cannot be used here (said above, once): only
	 * a typed passphrase can unlock. Without our prompt there is
	 * nothing to do; in ask-password mode systemd's own agent prompts,
	 * and we stay until its requests are answered, so that the path
	 * unit does not start us (and the line) again.
	 */
	if (tpm_failed && askmode) {
		r = ask_wait(askdir, aw.fd, conf.give_up_ms, asks, 0);
		ret = r < 0 ? -r : BOOT_EXIT_CANCELLED;
		goto out;
	}
	if (tpm_failed && prompt == NULL) {
		ret = BOOT_EXIT_LOCAL;
		goto out;
	}
	/* GnuPG starts while the peers are asked. */
	if ((r = decrypt_prepare()) != 0)
		log_debug("OpenPGP key import: no thread (%s); importing "
		    "at the first answer", pk_strerror(r));
	if (conf.mdns && (r = browse_start(&conf, &browse, &bfd)) != 0)
		progress("mDNS discovery unavailable; static peers only");

	memset(&fo, 0, sizeof(fo));
	fo.conf = &conf;
	fo.tls_id = tls_id;
	fo.prompt = prompt;
	fo.browse = browse;
	fo.browse_fd = bfd;
	fo.cancel_fd = -1;
	fo.stop = (volatile int *)&stop_flag;
	if (!askmode) {
		fo.want_blob = blob;
		fo.disk = disk;
		if (disk != NULL)
			progress("unlocking %s (LUKS UUID %s)", disk_path(disk),
			    disk_uuid(disk));
		ret = fetch_run(&fo, cand, ncand, &res);
		if (ret == 0 && dryrun)
			progress("dry run: the passphrase from %s opens %s; "
			    "nothing was opened or handed over", res.from,
			    disk_path(disk));
		else if (ret == 0 && emit_stdout(res.pass, res.passlen) != 0) {
			progress("cannot write the passphrase: %s",
			    strerror(errno));
			ret = BOOT_EXIT_LOCAL;
		}
		goto out;
	}

	/*
	 * ask-password mode: one round per disk asked for. The passphrase
	 * fetched for the first request answers every request it fits
	 * (ask_same): those for the same disk, and only those.
	 */
	fo.cancel_fd = aw.fd;
	fo.cancel_check = ask_gone;
	fo.cancel_arg = &aw;
	for (rounds = 0; rounds < 2 * ASKS_MAX; rounds++) {
		nask = askpass_find(askdir, asks, ASKS_MAX);
		if (nask == 0)
			break;
		ask_target_of(&asks[0], &t0);
		fo.want_blob = blob;
		fo.disk = blob == NULL ? t0.disk : NULL;
		fo.want_uuid = t0.uuid[0] != '\0' ? t0.uuid : NULL;
		if (blob != NULL)
			progress("answering %s with blob %s", asks[0].id[0] !=
			    '\0' ? asks[0].id : asks[0].path, blob);
		else if (t0.disk != NULL)
			progress("answering %s: disk %s, LUKS UUID %s",
			    asks[0].id, disk_path(t0.disk), t0.uuid);
		else
			progress("answering %s%s%s", asks[0].id[0] != '\0' ?
			    asks[0].id : asks[0].path, t0.uuid[0] != '\0' ?
			    " with blob luks-" : "", t0.uuid);
		if ((ret = fetch_run(&fo, cand, ncand, &res)) != 0)
			break;
		for (i = 0; i < nask; i++) {
			if (i > 0 && blob == NULL) {
				ask_target_of(&asks[i], &ti);
				r = ask_same(&t0, &ti, res.pass, res.passlen);
				disk_close(ti.disk);
				if (!r)
					continue;
			}
			if (askpass_answer(&asks[i], res.pass, res.passlen)
			    != 0)
				progress("cannot answer %s: %s", asks[i].path,
				    strerror(errno));
			else
				done++;
		}
		disk_close(t0.disk);
		t0.disk = NULL;
		pk_secret_free(res.pass);
		res.pass = NULL;
		/* Let the askers remove their files before we look again. */
		for (i = 0; i < 50 && askpass_find(askdir, asks, ASKS_MAX) ==
		    nask && !stop_flag; i++)
			poll(NULL, 0, 20);
		if (stop_flag)
			break;
	}
	if (ret == 0 && done == 0)
		progress("no request left to answer");
out:
	if (res.pass != NULL)
		pk_secret_free(res.pass);
	/* Ends plymouth's ask-for-password child (by its PID), if any. */
	prompt_close(prompt);
	progress_plymouth(NULL);
	disk_close(disk);
	disk_close(t0.disk);
	browse_stop(browse);
	decrypt_done();
	if (aw.fd != -1)
		close(aw.fd);
	if (tls_id != NULL)
		pk_identity_free(tls_id);
	free(cand);
	boot_conf_free(&conf);
	return ret;
}
