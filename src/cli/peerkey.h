/*
 * peerkey.h: private header of peerkey, the operator's command.
 */
#ifndef PEERKEY_H
#define PEERKEY_H

#include <jansson.h>

/* Exit codes (doc/peerkey.8, "EXIT STATUS"). */
#define EXIT_OK		0
#define EXIT_FAIL	1	/* the request failed (the daemon said why) */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_NODAEMON	3	/* cannot reach peerkeyd */
#define EXIT_NOPEER	4	/* no such peer */
#define EXIT_PARTIAL	5	/* done, but not with every peer asked */
#define EXIT_LOCAL	6	/* local keys or device unusable */

struct cmd_entry {
	const char	*name;
	const char	*usage;
	const char	*help;
	int		(*exec)(int argc, char **argv);
};

/* Global options. */
extern const char	*opt_socket;
extern int		 opt_json;
extern const char	*opt_dir;	/* -d/--dir: the configuration dir */
/* A setting: the command-line option, else $env if set, else def. */
const char		*opt_setting(const char *opt, const char *env,
			    const char *def);

struct pk_identity;
struct pk_tls;
struct pk_msg;

/* This machine's files, under the configuration directory (local.c). */
#define LOCAL_NODE_KEY		"node.key"
#define LOCAL_BOOT_DIR		"boot"
#define LOCAL_BOOT_TLS		"boot/tls.key"
#define LOCAL_BOOT_TPM		"boot/tls.tpm"	/* or: a TPM key (tpm.h) */
#define LOCAL_BOOT_TCTI		"boot/tls.tcti"	/* the TPM it lives in */
#define LOCAL_BOOT_PGP		"boot/pgp.key"	/* secret, armored */
#define LOCAL_BOOT_PGP_PUB	"boot/pgp.pub"	/* public, armored */
#define LOCAL_BOOT_CONF		"boot.conf"
#define LOCAL_MAINT_DIR		"maint"	/* UUID.key: maintenance keys */

/* A peer this machine deposits with (from the daemon's peer list). */
struct cli_peer {
	char		*name;
	char		*node_keyid;
	char		*addresses;
	char		*labels;	/* canonical (labels.h), "" none */
	int		 usable;	/* neither pending nor disabled by an
					   operator (a guardian candidate) */
};

/* local.c: this machine's configuration directory and keys */
const char	*local_dir(void);
char		*local_path(const char *rel);
int		 local_load_node(struct pk_identity **);
int		 local_boot_keyid(char *out);
int		 local_boot_tpm(char **tcti);
int		 local_boot_pgp_pub(char **armor, size_t *len);
char		*local_identity(const struct pk_identity *, const char *name,
		    const char *addresses);
int		 local_test_crash(const char *step);
int		 local_read_secret(const char *keyfile, const char *prompt,
		    char **pass, size_t *len);
int		 local_peers(const char *only, int may_be_empty,
		    struct cli_peer **out, size_t *n);
void		 local_peers_free(struct cli_peer *, size_t n);

/* dial.c: one request to a peer's node over native TLS */
int		 dial_peer(const struct pk_identity *, const struct cli_peer *,
		    struct pk_tls **, int *fd, char **cause);
int		 dial_request(const struct pk_identity *,
		    const struct cli_peer *, const struct pk_msg *req,
		    int want_type, char **cause);

/* luks.c: LUKS2 keyslots and the peerkey token journal */
#define LUKS_ENROLL	0
#define LUKS_ROTATE	1
#define LUKS_RESHARE	2	/* rotate a split that names o->exclude */
/* What enroll and rotate are told (cmd-enroll.c). */
struct luks_opts {
	const char	*peers;		/* --peers NAME,...; NULL: all */
	const char	*keyfile;	/* --key-file; NULL: ask */
	unsigned	 threshold;	/* --threshold K; 1: whole blobs */
	const char	*guardians;	/* --guardians NAME,...; NULL */
	unsigned	 nguardians;	/* --guardians N; 0: every peer */
	const char	*spread;	/* --spread KEY; NULL: the token's, or
					   "zone" */
	const char	*exclude;	/* peers never picked: NAME,...
					   (remove, reshare) */
	unsigned	 min_guardians;	/* --guardians-min M: fewer than
					   --guardians N will do, down to M */
	int		 no_maint;	/* --no-maintenance-key */
};
int		 luks_enroll(const char *device, const struct luks_opts *,
		    int mode);
int		 luks_unenroll(const char *device);
int		 luks_converge(const char *device);

/* bootconf.c: the boot agent's configuration (peerkey-boot(8)) */
int		 bootconf_write(const char *path, int quiet);
void		 bootconf_refresh(const char *why);

/* ctl.c: the control socket client */
json_t		*ctl_request(json_t *req);
int		 ctl_simple(const char *cmd, const char *peer);
int		 ctl_answer(json_t *resp);
const char	*ctl_socket_path(void);
int		 ctl_fail(json_t *resp);
int		 ctl_node_status(struct pk_identity **, json_t **resp);
int		 ctl_list(json_t *req, const char *member, json_t **resp);
int		 ctl_show(const char *cmd, json_t **resp);

/* out.c: the -j object (doc/peerkey.8, "JSON OUTPUT") */
void		 out_init(void);
void		 out_result(json_t *obj);
/* cmd-peer.c: a status "labels" object as "key=value ..." in buf (len
 * PK_LABELS_MAX + 1), "-" none; returns buf. */
const char	*peer_labels_text(json_t *labels, char *buf, size_t len);
const char	*out_code(int ex);
int		 out_finish(int ex);
void		 out_exit(int ex) __attribute__((noreturn));

/* Format helpers (ctl.c). */
const char	*fmt_ago(long long wall_ms, char *buf, size_t len);
const char	*fmt_ms(long long ms, char *buf, size_t len);

/* commands */
int	cmd_status(int, char **);
int	cmd_metrics(int, char **);
int	cmd_monitor(int, char **);
int	cmd_enable(int, char **);
int	cmd_disable(int, char **);
int	cmd_approve(int, char **);
int	cmd_deny(int, char **);
int	cmd_remove(int, char **);
int	cmd_check(int, char **);
int	cmd_accept(int, char **);
int	cmd_events(int, char **);
int	cmd_peer(int, char **);
int	cmd_verbose(int, char **);
int	cmd_init(int, char **);
int	cmd_enroll(int, char **);
int	cmd_unenroll(int, char **);
int	cmd_list(int, char **);
/*
 * cmd-list.c: appends to disks what "peerkey list -j" shows of the
 * devices argv[1 ..] (argc 1: of every LUKS2 block device with a peerkey
 * token), counting the unreadable ones; the exit status.
 */
int	list_disks(int argc, char **argv, json_t *disks, int *unreadable);
/* status-disks.c: the disks, judged against the peers of "status";
 * *ex: list_disks()' exit status. */
json_t	*status_disks(int argc, char **argv, json_t *peers, int *ex);
void	 status_disks_print(json_t *disks);
/* status-disks.c: the "status" object of peer name among peers, or NULL;
 * wall-clock milliseconds now, as "last_seen" counts them. */
json_t	*status_peer(json_t *peers, const char *name);
long long status_now_ms(void);
int	cmd_rotate(int, char **);
int	cmd_reshare(int, char **);
int	cmd_boot_config(int, char **);
int	cmd_invite(int, char **);
int	cmd_join(int, char **);
int	cmd_update(int, char **);
/* cmd-invite.c: every non-loopback IPv4 address of this host, with port */
void	invite_local_addrs(char *out, size_t len, long long port);
/*
 * cmd-invite.c: the start of invite and update, after their options:
 * EXIT_USAGE if an operand is left; ctl_node_status(); then, when addrs
 * (the -a list) is empty, this host's own addresses at the daemon's port.
 */
int	invite_start(int argc, struct pk_identity **, json_t **resp,
	    char *addrs, size_t len);
int	cmd_import_mandos(int, char **);

#endif /* PEERKEY_H */
