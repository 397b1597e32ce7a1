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

struct cmd_entry {
	const char	*name;
	const char	*usage;
	const char	*help;
	int		(*exec)(int argc, char **argv);
};

/* Global options. */
extern const char	*opt_socket;
extern int		 opt_json;

/* ctl.c: the control socket client */
json_t		*ctl_request(json_t *req);
int		 ctl_simple(const char *cmd, const char *peer);
void		 ctl_print_json(json_t *);
const char	*ctl_socket_path(void);
int		 ctl_fail(json_t *resp);

/* Format helpers (ctl.c). */
const char	*fmt_ago(long long wall_ms, char *buf, size_t len);
const char	*fmt_ms(long long ms, char *buf, size_t len);

/* commands */
int	cmd_status(int, char **);
int	cmd_enable(int, char **);
int	cmd_disable(int, char **);
int	cmd_approve(int, char **);
int	cmd_deny(int, char **);
int	cmd_remove(int, char **);
int	cmd_check(int, char **);
int	cmd_events(int, char **);
int	cmd_peer(int, char **);
int	cmd_verbose(int, char **);
int	cmd_import_mandos(int, char **);

#endif /* PEERKEY_H */
