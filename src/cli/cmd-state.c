/*
 * cmd-state.c: the commands that change one peer's state in the running
 * daemon: enable, disable, approve, deny, check, accept (remove:
 * cmd-remove.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "peerkey.h"

#define STATE_CMD(fn, name)						\
int									\
fn(int argc, char **argv)						\
{									\
	if (argc != 2)							\
		return EXIT_USAGE;					\
	return ctl_simple(name, argv[1]);				\
}

STATE_CMD(cmd_enable, "enable")
STATE_CMD(cmd_disable, "disable")
STATE_CMD(cmd_approve, "approve")
STATE_CMD(cmd_deny, "deny")
STATE_CMD(cmd_check, "check")
STATE_CMD(cmd_accept, "accept")

/* "peerkey verbose 0|1|2": the daemon's log verbosity. */
int
cmd_verbose(int argc, char **argv)
{
	json_t	*resp;
	char	*end;
	long	 level;

	if (argc != 2)
		return EXIT_USAGE;
	level = strtol(argv[1], &end, 10);
	if (*end != '\0' || level < 0 || level > 2)
		return EXIT_USAGE;
	resp = ctl_request(json_pack("{s:s, s:i}", "cmd", "verbose", "level",
	    (int)level));
	if (!json_is_true(json_object_get(resp, "ok")))
		return ctl_fail(resp);
	json_object_set_new(resp, "level", json_integer(level));
	return ctl_answer(resp);
}
