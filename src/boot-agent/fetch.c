/*
 * fetch.c: ask every candidate at once; the first valid passphrase wins.
 *
 * One poll() loop drives a small state machine per candidate:
 *
 *	IDLE --(retry time)--> CONNECT --> HANDSHAKE --> SEND --> RECV
 *	  ^                                                        |
 *	  +------- refused, failed, timed out: back-off -----------+
 *
 * Every socket is non-blocking. CONNECT is bounded by connect-timeout,
 * everything from the pre-TLS line to the reply by exchange-timeout, so a
 * peer that drops SYNs, or accepts and never answers, costs only its own
 * slot: the others go on in the same loop. After a failure a candidate
 * waits retry-min, doubling up to retry-max; a peer awaiting an
 * operator's approval is asked again after retry-min every time.
 *
 * The same loop watches the prompt (the console's, or the pipe from
 * plymouth's ask-for-password: a person can always type the
 * passphrase), the pipe on which browse.c reports services found by mDNS,
 * an optional cancel descriptor (ask-password mode), the stop flag set by
 * signals, and the give-up deadline. Whatever comes first ends it; every
 * connection still open is then closed without another word.
 *
 * Server authentication: a [peer] of the boot configuration must show
 * exactly its pinned node key id, or the handshake fails. A service found
 * by mDNS has no pin: with mdns-trust = any it may be asked whatever key
 * it shows (the key id is logged), with mdns-trust = pinned only if it
 * shows the node key of a configured peer. Why accepting it is safe is in
 * doc/peerkey-boot.8 (SERVER AUTHENTICATION). Mandos servers present no
 * key at all (MANDOS-PROTOCOL.md), as with mandos-client.
 *
 * The candidate table (BOOT_CANDS_MAX) under a flood of announcements:
 * the [peer]s take their slots first and keep them (static peers are
 * never evicted); a service found by mDNS is pinned to the key id its
 * TXT record announces, and with mdns-trust = pinned one announcing no
 * configured peer's key is dropped before it takes a slot; a found
 * service that shows another key is dropped for good; and when the table
 * is full a new announcement takes the slot of a found service that was
 * dropped, else of the one that failed most (tests/boot/test-mdns.sh).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "buf.h"
#include "frame.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "msg.h"
#include "pgp.h"
#include "pk_err.h"
#include "proto.h"
#include "secret.h"
#include "tls.h"

#include "fetch-int.h"

/* Says what a candidate is doing, once per change of wording. */
void
cand_say(struct conn *k, const char *fmt, ...)
{
	char	 buf[sizeof(k->last)];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, k->last) == 0) {
		log_debug("%s: %s (again)", k->c.name, buf);
		return;
	}
	boot_strlcpy(k->last, buf, sizeof(k->last));
	progress("%s: %s", k->c.name, buf);
}

/* Closes a candidate's connection and schedules its next attempt. */
void
conn_reset(struct conn *k, uint64_t now, int pending)
{
	const struct boot_conf	*conf = k->o->conf;

	pk_io_drop(&k->tls, &k->fd);
	if (k->in != NULL)
		pk_buf_reset(k->in);
	k->st = C_IDLE;
	if (pending) {
		k->next_try = now + conf->retry_min_ms;
		return;
	}
	k->fails++;
	k->next_try = now + k->backoff;
	k->backoff *= 2;
	if (k->backoff > conf->retry_max_ms)
		k->backoff = conf->retry_max_ms;
}

/* The TLS verify rule: pins for [peer]s, the trust rule for mDNS. */
static int
verify_server(const char *keyid, void *arg)
{
	struct conn	*k = arg;

	boot_strlcpy(k->seen_key, keyid, sizeof(k->seen_key));
	if (k->c.pin[0] != '\0')
		return strcasecmp(k->c.pin, keyid) == 0 ? 0 : -1;
	if (k->o->conf->mdns_trust == MDNS_TRUST_PINNED)
		return boot_pin_known(k->o->conf, keyid) ? 0 : -1;
	log_info("%s: unpinned server key %s (found by mDNS)", k->c.name,
	    keyid);
	return 0;
}

/* Starts a non-blocking connect. */
static void
conn_start(struct fetch *f, struct conn *k, uint64_t now)
{
	struct addrinfo	 hints, *res = NULL;
	int		 on = 1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((r = getaddrinfo(k->c.host, k->c.port, &hints, &res)) != 0) {
		cand_say(k, "bad address %s: %s", k->c.host, gai_strerror(r));
		conn_reset(k, now, 0);
		return;
	}
	k->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (k->fd == -1) {
		cand_say(k, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		conn_reset(k, now, 0);
		return;
	}
	(void)setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	k->deadline = now + f->o->conf->connect_ms;
	k->seen_key[0] = '\0';
	log_debug("%s: connecting to %s port %s", k->c.name, k->c.host,
	    k->c.port);
	if (connect(k->fd, res->ai_addr, res->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		cand_say(k, "unreachable (%s)", strerror(errno));
		freeaddrinfo(res);
		conn_reset(k, now, 0);
		return;
	}
	freeaddrinfo(res);
	k->st = C_CONNECT;
}

/* The TCP connection is up: queue the pre-TLS line. */
static int
conn_connected(struct fetch *f, struct conn *k, uint64_t now)
{
	socklen_t	 len = sizeof(int);
	size_t		 n;
	int		 err = 0;

	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		cand_say(k, "unreachable (%s)", strerror(err));
		return -1;
	}
	if (pk_line_write(k->c.proto == CAND_MANDOS ? PK_LINE_PROTO_MANDOS :
	    PK_LINE_PROTO_NATIVE, k->out, sizeof(k->out), &n) != 0)
		return -1;
	k->outlen = n;
	k->outoff = 0;
	k->deadline = now + f->o->conf->exchange_ms;
	k->st = C_LINE;
	return 0;
}

/* Makes the TLS session for the candidate's protocol. */
static int
conn_tls(struct fetch *f, struct conn *k)
{
	int	r;

	if (k->c.proto == CAND_MANDOS)
		r = pk_tls_new(&k->tls, k->fd, PK_TLS_MANDOS, PK_TLS_SERVER,
		    f->creds, NULL, NULL);
	else
		r = pk_tls_new(&k->tls, k->fd, PK_TLS_NATIVE, PK_TLS_CLIENT,
		    f->creds, verify_server, k);
	if (r != 0) {
		cand_say(k, "TLS: %s", pk_strerror(r));
		return -1;
	}
	k->st = C_HANDSHAKE;
	return 0;
}

/* Reads what TLS has; acts on a whole frame or on EOF (Mandos). */
static void
conn_read(struct fetch *f, struct conn *k, uint64_t now)
{
	struct pk_msg	 m;
	uint8_t		*dst;
	size_t		 room, flen;
	ssize_t		 n;
	int		 r;

	for (;;) {
		room = pk_buf_room(k->in);
		if (room == 0) {
			cand_say(k, "answer too large");
			conn_reset(k, now, 0);
			return;
		}
		if (room > 16384)
			room = 16384;
		if (pk_buf_reserve(k->in, room, &dst) != 0) {
			cand_say(k, "out of memory");
			conn_reset(k, now, 0);
			return;
		}
		n = pk_tls_recv(k->tls, dst, room);
		if (n == PK_ERR_AGAIN)
			break;
		if (n == PK_ERR_EOF) {
			if (k->c.proto == CAND_MANDOS) {
				if (pk_buf_len(k->in) == 0) {
					cand_say(k, "refused (Mandos sends "
					    "nothing: unknown, disabled or "
					    "denied)");
					conn_reset(k, now, 0);
				} else if (try_blob(f, k, NULL,
				    pk_buf_ptr(k->in), pk_buf_len(k->in)) != 0)
					conn_reset(k, now, 0);
				return;
			}
			cand_say(k, "closed the connection without an answer");
			conn_reset(k, now, 0);
			return;
		}
		if (n < 0) {
			cand_say(k, "TLS: %s", pk_tls_error(k->tls));
			conn_reset(k, now, 0);
			return;
		}
		(void)pk_buf_commit(k->in, (size_t)n);
		if (k->c.proto == CAND_MANDOS)
			continue;
		r = pk_frame_next(pk_buf_ptr(k->in), pk_buf_len(k->in),
		    PK_MSG_LEN_MAX, &flen);
		if (r == PK_ERR_TRUNCATED)
			continue;
		if (r != 0 || (r = pk_msg_decode(pk_buf_ptr(k->in), flen,
		    &m)) != 0) {
			cand_say(k, "protocol error: %s", pk_strerror(r));
			conn_reset(k, now, 0);
			return;
		}
		handle_reply(f, k, &m, now);
		return;
	}
}

/* Advances a candidate after poll() said its socket is ready. */
static void
conn_step(struct fetch *f, struct conn *k, uint64_t now)
{
	struct pk_msg	 m;
	ssize_t		 n;
	int		 r;

	switch (k->st) {
	case C_CONNECT:
		if (conn_connected(f, k, now) != 0) {
			conn_reset(k, now, 0);
			return;
		}
		/* FALLTHROUGH */
	case C_LINE:
		while (k->outoff < k->outlen) {
			n = write(k->fd, k->out + k->outoff,
			    k->outlen - k->outoff);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				return;
			if (n <= 0) {
				cand_say(k, "unreachable (%s)",
				    strerror(errno));
				conn_reset(k, now, 0);
				return;
			}
			k->outoff += (size_t)n;
		}
		if (conn_tls(f, k) != 0) {
			conn_reset(k, now, 0);
			return;
		}
		/* FALLTHROUGH */
	case C_HANDSHAKE:
		r = pk_tls_handshake(k->tls);
		if (r == PK_ERR_AGAIN)
			return;
		if (r == PK_ERR_PEER_REJECTED) {
			cand_say(k, "wrong server key %s (pinned %s)%s",
			    k->seen_key[0] != '\0' ? k->seen_key : "(none)",
			    k->c.pin[0] != '\0' ? k->c.pin :
			    "a configured peer's", k->c.source == CAND_MDNS ?
			    "; dropped" : "");
			conn_reset(k, now, 0);
			/* A found service showing a key it did not announce
			 * (or no pinned one) is not asked again. */
			if (k->c.source == CAND_MDNS)
				k->dropped = 1;
			return;
		}
		if (r != 0) {
			cand_say(k, "TLS handshake failed: %s",
			    pk_tls_error(k->tls));
			conn_reset(k, now, 0);
			return;
		}
		log_debug("%s: TLS up, server key %s", k->c.name,
		    k->c.proto == CAND_MANDOS ? "(Mandos: none)" :
		    pk_tls_peer_keyid(k->tls));
		if (k->c.proto == CAND_MANDOS) {
			k->st = C_RECV;
			conn_read(f, k, now);
			return;
		}
		pk_msg_init(&m, PK_MSG_UNLOCK);
		if (pk_msg_encode(&m, k->out, sizeof(k->out), &k->outlen)
		    != 0) {
			conn_reset(k, now, 0);
			return;
		}
		k->outoff = 0;
		k->st = C_SEND;
		/* FALLTHROUGH */
	case C_SEND:
		while (k->outoff < k->outlen) {
			n = pk_tls_send(k->tls, k->out + k->outoff,
			    k->outlen - k->outoff);
			if (n == PK_ERR_AGAIN)
				return;
			if (n < 0) {
				cand_say(k, "TLS: %s", pk_tls_error(k->tls));
				conn_reset(k, now, 0);
				return;
			}
			k->outoff += (size_t)n;
		}
		k->st = C_RECV;
		/* FALLTHROUGH */
	case C_RECV:
		conn_read(f, k, now);
		return;
	case C_IDLE:
		return;
	}
}

/* The poll events a candidate waits for. */
static short
conn_events(struct conn *k)
{
	switch (k->st) {
	case C_CONNECT:
	case C_LINE:
		return POLLOUT;
	case C_HANDSHAKE:
	case C_SEND:
	case C_RECV:
		if (k->st == C_SEND || (k->st == C_HANDSHAKE &&
		    pk_tls_want_write(k->tls)))
			return POLLOUT;
		return POLLIN;
	default:
		return 0;
	}
}

/* Closes a slot's connection and frees its buffer. */
static void
fetch_free_conn(struct conn *k)
{
	if (k->tls != NULL)
		pk_tls_free(k->tls);
	if (k->fd != -1)
		close(k->fd);
	pk_buf_free(k->in);
	k->tls = NULL;
	k->fd = -1;
	k->in = NULL;
}

/*
 * The slot a new announcement may take in a full table: a found service
 * dropped for its key, else the found service that failed most (at
 * least once); never a [peer], never one that has not failed.
 */
static struct conn *
fetch_victim(struct fetch *f)
{
	struct conn	*k, *best = NULL;
	int		 i;

	for (i = 0; i < f->n; i++) {
		k = &f->conns[i];
		if (k->c.source != CAND_MDNS)
			continue;
		if (k->dropped)
			return k;
		if (k->fails > 0 && (best == NULL || k->fails > best->fails))
			best = k;
	}
	return best;
}

/* Adds a candidate (unless the same address is already asked). */
static int
fetch_add(struct fetch *f, const struct candidate *c, uint64_t now)
{
	struct conn	*k;
	int		 i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->conns[i].c.host, c->host) == 0 &&
		    strcmp(f->conns[i].c.port, c->port) == 0 &&
		    f->conns[i].c.proto == c->proto)
			return 0;
	if (f->n < BOOT_CANDS_MAX)
		k = &f->conns[f->n++];
	else if (c->source != CAND_MDNS || (k = fetch_victim(f)) == NULL) {
		log_warnx("%s: too many candidates; ignored", c->name);
		return 0;
	} else {
		log_info("%s: replaces %s in the candidate table (%s)",
		    c->name, k->c.name, k->dropped ? "dropped" :
		    "failed most");
		fetch_free_conn(k);
	}
	memset(k, 0, sizeof(*k));
	k->c = *c;
	k->fd = -1;
	k->o = f->o;
	k->backoff = f->o->conf->retry_min_ms;
	k->next_try = now;
	if ((k->in = pk_buf_new(c->proto == CAND_MANDOS ? PK_PGP_MAX_DATA :
	    PK_MSG_LEN_MAX + 4)) == NULL)
		return PK_ERR_ALLOC;
	return 1;
}

/* Frees every connection. */
static void
fetch_close_all(struct fetch *f)
{
	int	i;

	for (i = 0; i < f->n; i++)
		fetch_free_conn(&f->conns[i]);
	f->n = 0;
}

/*
 * Runs the loop until a passphrase is found (0, *res filled: a whole
 * blob's, typed, or combined from a threshold split's shares), the give-up
 * deadline passes (BOOT_EXIT_GAVE_UP), a stop is asked for
 * (BOOT_EXIT_CANCELLED), or a local failure (BOOT_EXIT_LOCAL).
 */
int
fetch_run(const struct fetch_opts *o, struct candidate *cand, int ncand,
    struct boot_result *res)
{
	struct pollfd	 pfd[BOOT_CANDS_MAX + 3];
	struct fetch	 f;
	struct candidate nc;
	uint64_t	 now, start, wake, giveup = 0;
	int		 i, np, r, ret = BOOT_EXIT_LOCAL, idx_prompt, idx_browse;
	int		 idx_cancel, timeout, npc;

	memset(&f, 0, sizeof(f));
	memset(res, 0, sizeof(*res));
	f.o = o;
	f.res = res;
	if ((f.conns = calloc(BOOT_CANDS_MAX, sizeof(*f.conns))) == NULL)
		return BOOT_EXIT_LOCAL;
	if ((f.shares = shares_new()) == NULL) {
		free(f.conns);
		return BOOT_EXIT_LOCAL;
	}
	if ((r = pk_tls_creds_new(o->tls_id, &f.creds)) != 0) {
		log_warnx("TLS credentials: %s", pk_strerror(r));
		goto out;
	}
	start = now = pk_now_ms();
	if (o->conf->give_up_ms != 0)
		giveup = start + o->conf->give_up_ms;
	for (i = 0; i < ncand; i++)
		if (fetch_add(&f, &cand[i], now) < 0)
			goto out;
	if (f.n > 0 || o->browse != NULL)
		progress("asking %d peer%s%s", f.n, f.n == 1 ? "" : "s",
		    o->browse != NULL ? " (and any found by mDNS)" : "");
	if (f.n == 0 && o->browse == NULL && o->prompt == NULL) {
		progress("no peers configured, no mDNS, no prompt: "
		    "nothing to wait for");
		ret = BOOT_EXIT_GAVE_UP;
		goto out;
	}

	for (;;) {
		now = pk_now_ms();
		if (o->stop != NULL && *o->stop) {
			ret = BOOT_EXIT_CANCELLED;
			goto out;
		}
		if (giveup != 0 && now >= giveup) {
			shares_summary(f.shares);
			progress("giving up after %llu s",
			    (unsigned long long)((now - start) / 1000));
			ret = BOOT_EXIT_GAVE_UP;
			goto out;
		}
		/* Start due attempts, time out slow ones. */
		wake = giveup != 0 ? giveup : now + 60000;
		for (i = 0; i < f.n; i++) {
			struct conn *k = &f.conns[i];

			if (k->dropped)
				continue;
			if (k->st == C_IDLE && now >= k->next_try)
				conn_start(&f, k, now);
			else if (k->st != C_IDLE && now >= k->deadline) {
				cand_say(k, k->st == C_CONNECT ?
				    "no answer to connect (%s port %s)" :
				    "connected (%s port %s) but silent",
				    k->c.host, k->c.port);
				conn_reset(k, now, 0);
			}
			if (k->st == C_IDLE && k->next_try < wake)
				wake = k->next_try;
			else if (k->st != C_IDLE && k->deadline < wake)
				wake = k->deadline;
		}
		np = 0;
		npc = f.n;
		for (i = 0; i < npc; i++) {
			pfd[np].fd = f.conns[i].fd;
			pfd[np].events = conn_events(&f.conns[i]);
			if (pfd[np].events == 0)
				pfd[np].fd = -1;
			pfd[np].revents = 0;
			np++;
		}
		idx_prompt = idx_browse = idx_cancel = -1;
		if (o->prompt != NULL && prompt_fd(o->prompt) != -1) {
			idx_prompt = np;
			pfd[np].fd = prompt_fd(o->prompt);
			pfd[np++].events = POLLIN;
		}
		if (o->browse != NULL && o->browse_fd != -1) {
			idx_browse = np;
			pfd[np].fd = o->browse_fd;
			pfd[np++].events = POLLIN;
		}
		if (o->cancel_fd != -1) {
			idx_cancel = np;
			pfd[np].fd = o->cancel_fd;
			pfd[np++].events = POLLIN;
		}
		timeout = wake > now ? (int)(wake - now) : 0;
		r = poll(pfd, (nfds_t)np, timeout);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			goto out;
		}
		now = pk_now_ms();
		for (i = 0; i < npc && !f.won; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			conn_step(&f, &f.conns[i], now);
			/* TLS may hold decrypted bytes poll() cannot see. */
			while (!f.won && f.conns[i].st == C_RECV &&
			    f.conns[i].tls != NULL &&
			    pk_tls_pending(f.conns[i].tls) > 0)
				conn_read(&f, &f.conns[i], now);
		}
		if (f.won) {
			ret = 0;
			goto out;
		}
		if (idx_prompt != -1 && pfd[idx_prompt].revents != 0) {
			r = prompt_read(o->prompt, &res->pass, &res->passlen);
			if (r > 0) {
				snprintf(res->from, sizeof(res->from), "%s",
				    prompt_via(o->prompt));
				progress("passphrase typed at the %s prompt",
				    res->from);
				ret = 0;
				goto out;
			}
		}
		if (idx_browse != -1 && pfd[idx_browse].revents != 0) {
			while (browse_read(o->browse, &nc) > 0) {
				/* A Mandos server shows no key: it cannot
				 * pass a pinned-only rule. */
				if (nc.proto == CAND_MANDOS &&
				    o->conf->mdns_trust == MDNS_TRUST_PINNED) {
					log_debug("%s: Mandos server ignored "
					    "(mdns-trust = pinned)", nc.name);
					continue;
				}
				/* Pinned: the announced key must be a
				 * configured peer's, before it takes a slot. */
				if (o->conf->mdns_trust == MDNS_TRUST_PINNED &&
				    (nc.pin[0] == '\0' ||
				    !boot_pin_known(o->conf, nc.pin))) {
					log_info("%s: ignored: announces %s, "
					    "no configured peer's key "
					    "(mdns-trust = pinned)", nc.name,
					    nc.pin[0] != '\0' ? nc.pin :
					    "no key");
					continue;
				}
				if (fetch_add(&f, &nc, now) > 0)
					progress("%s: found by mDNS at %s "
					    "port %s%s", nc.name, nc.host,
					    nc.port, nc.proto == CAND_MANDOS ?
					    " (Mandos)" : "");
			}
		}
		if (idx_cancel != -1 && pfd[idx_cancel].revents != 0 &&
		    o->cancel_check != NULL && o->cancel_check(o->cancel_arg)) {
			progress("request withdrawn; stopping");
			ret = BOOT_EXIT_CANCELLED;
			goto out;
		}
	}
out:
	fetch_close_all(&f);
	free(f.conns);
	shares_free(f.shares);
	pk_tls_creds_free(f.creds);
	return ret;
}
