/*
 * boot.h: peerkey-boot, the boot agent that runs in the initramfs.
 *
 * One process, one thread for the agent itself (plus libavahi-core's own
 * thread when mDNS is on). agent.c reads the options and the boot
 * configuration (candidates.c), starts mDNS browsing (browse.c), and runs
 * the fetch loop (fetch.c), which asks every candidate at once and also
 * watches the prompt (prompt.c: the console's, or plymouth's through
 * plymouth.c) and, in ask-password mode, the
 * request being answered (askpass.c). The first passphrase that arrives,
 * decrypted (decrypt.c) or typed, wins; it goes to stdout (emit.c) or to
 * systemd's socket (askpass.c), and nothing else is left running.
 *
 * doc/peerkey-boot.8 documents the options, the configuration file and
 * the exit codes.
 */
#ifndef PK_BOOT_H
#define PK_BOOT_H

#include <sys/types.h>
#include <net/if.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "key.h"

/* Exit codes (doc/peerkey-boot.8, EXIT STATUS). */
#define BOOT_EXIT_OK		0	/* passphrase written / answered */
#define BOOT_EXIT_GAVE_UP	1	/* give-up deadline passed */
#define BOOT_EXIT_USAGE		2	/* bad option or configuration */
#define BOOT_EXIT_LOCAL		3	/* keys unreadable, no work dir, ... */
#define BOOT_EXIT_CANCELLED	4	/* signal, or the request went away */

#define BOOT_NAME_MAX		64	/* peer names (and mDNS instances) */
#define BOOT_HOST_MAX		(INET6_ADDRSTRLEN + IF_NAMESIZE + 2)
#define BOOT_PORT_MAX		8
#define BOOT_PEERS_MAX		32	/* [peer] plus [mandos] sections */
#define BOOT_ADDRS_MAX		8	/* addresses of one peer */
#define BOOT_CANDS_MAX		128	/* candidates, static and found */
#define BOOT_DEV_MAX		512	/* a device path (-d, ask Id=) */
#define BOOT_UUID_MAX		64	/* a LUKS UUID, NUL-terminated */

/* One configured peer ([peer NAME] or [mandos NAME]). */
struct boot_peer_conf {
	char		*address;	/* space-separated address list */
	char		*node_key;	/* key id to pin ([peer] only) */
};

/* The boot configuration file, and the command line over it. */
struct boot_conf {
	char		*tls_key;
	char		*tpm_key;	/* a TPM boot key instead (tpm.h) */
	char		*tpm_tcti;
	uint64_t	 tpm_timeout_ms;
	char		*pgp_key;
	char		*node_pub;	/* hex; every blob signed by it */
	uint8_t		 node_key[32];	/* node_pub, parsed */
	int		 has_node_key;
	int		 accept_unsigned; /* from any source (weaker) */
	char		*workdir;
	uint64_t	 connect_ms;
	uint64_t	 exchange_ms;
	uint64_t	 retry_min_ms;
	uint64_t	 retry_max_ms;
	uint64_t	 give_up_ms;	/* 0: never */
	int		 mdns;
	int		 mdns_mandos;
	int		 mdns_trust;	/* MDNS_TRUST_* */
	char		*mdns_interfaces;
	int		 prompt;
	char		*prompt_device;
	int		 verbose;

	int		 npeers;
	char		 peer_name[BOOT_PEERS_MAX][BOOT_NAME_MAX];
	int		 peer_mandos[BOOT_PEERS_MAX];
	struct boot_peer_conf peers[BOOT_PEERS_MAX];
};

#define MDNS_TRUST_ANY		0	/* any server (logged) */
#define MDNS_TRUST_PINNED	1	/* only a server showing a pinned key */

enum cand_proto {
	CAND_NATIVE,
	CAND_MANDOS,
};

enum cand_source {
	CAND_STATIC,
	CAND_MDNS,
};

/* One address to ask. */
struct candidate {
	char		 name[BOOT_NAME_MAX];	/* for progress lines */
	char		 host[BOOT_HOST_MAX];	/* numeric, maybe %ifname */
	char		 port[BOOT_PORT_MAX];
	enum cand_proto	 proto;
	enum cand_source source;
	char		 pin[PK_KEYID_HEXLEN + 1]; /* "" when not pinned */
};

/* What the fetch loop hands back. */
struct boot_result {
	char		*pass;		/* pk_secret_alloc'ed; NUL after */
	size_t		 passlen;
	char		 from[BOOT_NAME_MAX + 16]; /* a peer's name, "console" */
};

/* Copies src into dst[0 .. size), always NUL-terminated (no strlcpy in
 * glibc 2.36). Returns the length of src. */
static inline size_t
boot_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	n = strlen(src);

	if (size > 0) {
		size_t	m = n < size - 1 ? n : size - 1;

		memcpy(dst, src, m);
		dst[m] = '\0';
	}
	return n;
}

/* candidates.c */
int	 boot_numeric_ok(const char *host);
int	 boot_conf_load(const char *path, struct boot_conf *, char **cause);
void	 boot_conf_free(struct boot_conf *);
int	 boot_conf_candidates(const struct boot_conf *, struct candidate *,
	    int max, char **cause);
int	 boot_pin_known(const struct boot_conf *, const char *keyid);

/* identity.c */
int	 boot_identity(const struct boot_conf *, int open_tpm,
	    struct pk_identity **, char *keyid, char **cause);

/* browse.c */
struct browse;
int	 browse_start(const struct boot_conf *, struct browse **, int *fd);
int	 browse_read(struct browse *, struct candidate *);
void	 browse_stop(struct browse *);

/* disk.c */
struct disk;
int	 disk_open(const char *path, struct disk **, char **cause);
const char *disk_path(const struct disk *);
const char *disk_uuid(const struct disk *);
int	 disk_blob_matches(const char *uuid, const char *id, size_t len);
int	 disk_check(struct disk *, const char *pass, size_t len);
void	 disk_close(struct disk *);

/* decrypt.c */
int	 decrypt_init(const char *workdir, const char *seckey_path);
int	 decrypt_prepare(void);
int	 decrypt_blob(const void *cipher, size_t len, char **pass,
	    size_t *passlen, char **cause);
void	 decrypt_done(void);

/* prompt.c */
struct prompt;
int	 prompt_open(const char *device, const char *message,
	    struct prompt **);
int	 prompt_open_plymouth(const char *plymouth, const char *device,
	    const char *message, struct prompt **);
const char *prompt_via(const struct prompt *);
int	 prompt_fd(struct prompt *);
int	 prompt_read(struct prompt *, char **pass, size_t *passlen);
void	 prompt_close(struct prompt *);

/* plymouth.c */
const char *plymouth_find(const char *path);
pid_t	 plymouth_spawn(const char *path, char *const argv[], int out_fd);
int	 plymouth_reap(pid_t pid, int ms);
int	 plymouth_ping(const char *path);
void	 plymouth_message(const char *path, const char *text);
int	 plymouth_restart(const char *path);
void	 plymouth_prompt_text(const char *message, char *out, size_t size);

/* fetch.c */
struct fetch_opts {
	const struct boot_conf	*conf;
	struct pk_identity	*tls_id;
	/*
	 * Which blob: want_blob by its id; else the disk's (its UUID's
	 * names first, then the others), each checked against its header;
	 * else want_uuid's names; else the first one.
	 */
	const char		*want_blob;
	struct disk		*disk;
	const char		*want_uuid;
	struct prompt		*prompt;	/* NULL: no prompt */
	int			 cancel_fd;	/* readable: ask cancel_check */
	int			(*cancel_check)(void *);  /* 1: stop */
	void			*cancel_arg;
	struct browse		*browse;	/* NULL: no mDNS */
	int			 browse_fd;
	volatile int		*stop;		/* set by a signal */
};
int	 fetch_run(const struct fetch_opts *, struct candidate *, int ncand,
	    struct boot_result *);

/* emit.c */
int	 emit_stdout(const char *pass, size_t len);
void	 progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 progress_init(const char *console);
void	 progress_plymouth(const char *plymouth);

/* askpass.c */
struct ask {
	char		 path[512];
	char		 socket[108];
	char		 id[256];
	char		 message[256];
	long		 pid;
	uint64_t	 not_after_us;
};
int	 askpass_find(const char *dir, struct ask *, int max);
int	 askpass_watch(const char *dir);
int	 askpass_answer(const struct ask *, const char *pass, size_t len);
int	 askpass_valid(const struct ask *);
const char *askpass_device(const struct ask *, char *buf, size_t len);
const char *askpass_uuid(const struct ask *, char *buf, size_t len);

#endif /* PK_BOOT_H */
