/*
 * cmd-events.c: "peerkey events": the audit log, filtered by peer, kind
 * and time.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "peerkey.h"

int
cmd_events(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "peer", required_argument, NULL, 'p' },
		{ "kind", required_argument, NULL, 'k' },
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	json_t		*req, *resp, *ev;
	struct timespec	 ts;
	struct tm	 tm;
	uint64_t	 ms;
	unsigned long long limit;
	time_t		 t;
	size_t		 i;
	char		 when[32];
	int		 ch, ex;

	req = json_pack("{s:s}", "cmd", "events");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:k:s:n:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			json_object_set_new(req, "peer", json_string(optarg));
			break;
		case 'k':
			json_object_set_new(req, "kind", json_string(optarg));
			break;
		case 's':
			if (pk_parse_duration_ms(optarg, &ms) != 0) {
				fprintf(stderr, "peerkey: --since \"%s\" is not "
				    "a duration (e.g. 10m, 2h, 1d)\n", optarg);
				json_decref(req);
				return EXIT_USAGE;
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			json_object_set_new(req, "since", json_integer(
			    (json_int_t)ts.tv_sec * 1000 - (json_int_t)ms));
			break;
		case 'n':
			if (pk_parse_uint(optarg, 1, 1000000, &limit) != 0) {
				json_decref(req);
				return EXIT_USAGE;
			}
			json_object_set_new(req, "limit",
			    json_integer((json_int_t)limit));
			break;
		default:
			json_decref(req);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		json_decref(req);
		return EXIT_USAGE;
	}
	if ((ex = ctl_list(req, "events", &resp)) != -1)
		return ex;
	json_array_foreach(json_object_get(resp, "events"), i, ev) {
		t = (time_t)(json_integer_value(json_object_get(ev, "at")) /
		    1000);
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("%s  %-12s %-16s %s%s%s\n", when,
		    json_string_value(json_object_get(ev, "peer"))[0] ?
		    json_string_value(json_object_get(ev, "peer")) : "-",
		    json_string_value(json_object_get(ev, "kind")),
		    json_string_value(json_object_get(ev, "detail")),
		    json_string_value(json_object_get(ev, "address"))[0] ?
		    " from " : "",
		    json_string_value(json_object_get(ev, "address")));
	}
	json_decref(resp);
	return EXIT_OK;
}
