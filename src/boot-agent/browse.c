/*
 * browse.c: finding peers by mDNS/DNS-SD with libavahi-core, the embedded
 * mDNS stack (no avahi-daemon, no D-Bus: neither exists in an initramfs),
 * as mandos-client does.
 *
 * The stack runs in its own thread (AvahiThreadedPoll). It browses
 * _peerkey._tcp (and _mandos._tcp when asked), resolves every service it
 * sees, and writes one struct candidate per resolved address to a pipe;
 * the fetch loop polls the pipe's read end and adds what it reads. A
 * record is far smaller than PIPE_BUF, so each write is atomic. An IPv6
 * link-local address gets its interface as the scope ("fe80::1%eth0"),
 * without which it cannot be reached.
 *
 * Nothing is published: the agent only listens and asks.
 */
#include "config.h"

#include <sys/types.h>
#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>
#include <avahi-core/core.h>
#include <avahi-core/log.h>
#include <avahi-core/lookup.h>

#include "addr.h"
#include "boot.h"
#include "key.h"
#include "log.h"
#include "pk_err.h"

struct browse {
	AvahiThreadedPoll	*tp;
	AvahiServer		*server;
	AvahiSServiceBrowser	*b_native;
	AvahiSServiceBrowser	*b_mandos;
	int			 pipe[2];
};

/* Makes a name safe for progress lines: printable ASCII, no spaces. */
static void
clean_name(char *dst, size_t len, const char *prefix, const char *src)
{
	size_t	i, n;

	n = (size_t)snprintf(dst, len, "%s", prefix);
	for (i = 0; src[i] != '\0' && n + 1 < len; i++, n++)
		dst[n] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '_';
	dst[n < len ? n : len - 1] = '\0';
}

/*
 * The node key id a peerkeyd announces in its TXT record ("keyid=HEX",
 * src/node/announce.c) into pin, lowercase; "" if there is none or it is
 * not a key id. The fetch loop then asks only a server showing that key,
 * and with mdns-trust = pinned drops the announcement unless the key is
 * a configured peer's, before it takes a slot.
 */
static void
txt_keyid(AvahiStringList *txt, char *pin, size_t len)
{
	AvahiStringList	*t;
	char		*key = NULL, *val = NULL;

	pin[0] = '\0';
	if ((t = avahi_string_list_find(txt, "keyid")) == NULL ||
	    avahi_string_list_get_pair(t, &key, &val, NULL) != 0)
		return;
	if (val != NULL && pk_keyid_valid(val) && strlen(val) < len) {
		pk_keyid_normalize(val);
		snprintf(pin, len, "%s", val);
	}
	avahi_free(key);
	avahi_free(val);
}

/* Resolver callback (avahi thread): report one address. */
static void
resolve_cb(AvahiSServiceResolver *r, AvahiIfIndex interface,
    AvahiProtocol protocol, AvahiResolverEvent event, const char *name,
    const char *type, const char *domain, const char *host_name,
    const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
    AvahiLookupResultFlags flags, void *arg)
{
	struct browse		*b = arg;
	struct candidate	 c;
	char			 addr[AVAHI_ADDRESS_STR_MAX];
	char			 ifname[IF_NAMESIZE];
	ssize_t			 n;

	(void)protocol; (void)domain; (void)host_name; (void)flags;
	if (event != AVAHI_RESOLVER_FOUND) {
		log_debug("mDNS: cannot resolve %s (%s)", name, type);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.source = CAND_MDNS;
	c.proto = strcmp(type, "_mandos._tcp") == 0 ? CAND_MANDOS :
	    CAND_NATIVE;
	clean_name(c.name, sizeof(c.name), c.proto == CAND_MANDOS ?
	    "mdns-mandos:" : "mdns:", name);
	avahi_address_snprint(addr, sizeof(addr), a);
	if (a->proto == AVAHI_PROTO_INET6 &&
	    a->data.ipv6.address[0] == 0xfe &&
	    (a->data.ipv6.address[1] & 0xc0) == 0x80) {
		if (if_indextoname((unsigned int)interface, ifname) == NULL)
			goto out;
		snprintf(c.host, sizeof(c.host), "%s%%%s", addr, ifname);
	} else
		snprintf(c.host, sizeof(c.host), "%s", addr);
	snprintf(c.port, sizeof(c.port), "%u", (unsigned int)port);
	txt_keyid(txt, c.pin, sizeof(c.pin));
	log_debug("mDNS: %s (%s) at %s port %s", name, type, c.host, c.port);
	do {
		n = write(b->pipe[1], &c, sizeof(c));
	} while (n == -1 && errno == EINTR);
out:
	avahi_s_service_resolver_free(r);
}

/* Browser callback (avahi thread): resolve each new service. */
static void
browse_cb(AvahiSServiceBrowser *sb, AvahiIfIndex interface,
    AvahiProtocol protocol, AvahiBrowserEvent event, const char *name,
    const char *type, const char *domain, AvahiLookupResultFlags flags,
    void *arg)
{
	struct browse	*b = arg;

	(void)sb; (void)flags;
	switch (event) {
	case AVAHI_BROWSER_NEW:
		if (avahi_s_service_resolver_new(b->server, interface,
		    protocol, name, type, domain, protocol, 0, resolve_cb,
		    b) == NULL)
			log_warnx("mDNS: cannot resolve %s: %s", name,
			    avahi_strerror(avahi_server_errno(b->server)));
		break;
	case AVAHI_BROWSER_FAILURE:
		log_warnx("mDNS: browsing failed: %s",
		    avahi_strerror(avahi_server_errno(b->server)));
		break;
	default:
		break;
	}
}

/* avahi-core's own messages: debug lines, not console noise. */
static void
browse_log(AvahiLogLevel level, const char *txt)
{
	if (level <= AVAHI_LOG_ERROR)
		log_warnx("mDNS: %s", txt);
	else
		log_debug("mDNS: %s", txt);
}

/* Server state callback: nothing to do, we publish nothing. */
static void
server_cb(AvahiServer *s, AvahiServerState state, void *arg)
{
	(void)s; (void)arg;
	log_debug("mDNS: server state %d", (int)state);
}

/*
 * Starts browsing in a thread of its own; sets *fd to the descriptor to
 * poll for found services. Returns 0 or PK_ERR_SYSTEM (logged).
 */
int
browse_start(const struct boot_conf *conf, struct browse **out, int *fd)
{
	AvahiServerConfig	 cfg;
	struct browse		*b;
	const char		*list = conf->mdns_interfaces;
	char			 w[PK_ADDR_LEN];
	int			 err, r;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return PK_ERR_ALLOC;
	avahi_set_log_function(browse_log);
	b->pipe[0] = b->pipe[1] = -1;
	if (pipe2(b->pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		goto fail;
	if ((b->tp = avahi_threaded_poll_new()) == NULL)
		goto fail;
	avahi_server_config_init(&cfg);
	cfg.publish_hinfo = 0;
	cfg.publish_addresses = 0;
	cfg.publish_workstation = 0;
	cfg.publish_domain = 0;
	cfg.disable_publishing = 1;
	cfg.use_ipv4 = 1;
	cfg.use_ipv6 = 1;
	while ((r = pk_list_next(&list, w, sizeof(w))) != 0)
		if (r > 0)	/* a longer word names no interface */
			cfg.allow_interfaces = avahi_string_list_add(
			    cfg.allow_interfaces, w);
	b->server = avahi_server_new(avahi_threaded_poll_get(b->tp), &cfg,
	    server_cb, b, &err);
	avahi_server_config_free(&cfg);
	if (b->server == NULL) {
		log_warnx("mDNS: %s", avahi_strerror(err));
		goto fail;
	}
	b->b_native = avahi_s_service_browser_new(b->server, AVAHI_IF_UNSPEC,
	    AVAHI_PROTO_UNSPEC, "_peerkey._tcp", NULL, 0, browse_cb, b);
	if (conf->mdns_mandos)
		b->b_mandos = avahi_s_service_browser_new(b->server,
		    AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, "_mandos._tcp", NULL,
		    0, browse_cb, b);
	if (b->b_native == NULL || (conf->mdns_mandos && b->b_mandos == NULL)) {
		log_warnx("mDNS: cannot browse: %s",
		    avahi_strerror(avahi_server_errno(b->server)));
		goto fail;
	}
	if (avahi_threaded_poll_start(b->tp) < 0)
		goto fail;
	*out = b;
	*fd = b->pipe[0];
	return 0;
fail:
	if (b->tp != NULL) {
		if (b->server != NULL)
			avahi_server_free(b->server);
		avahi_threaded_poll_free(b->tp);
	}
	if (b->pipe[0] != -1)
		close(b->pipe[0]);
	if (b->pipe[1] != -1)
		close(b->pipe[1]);
	free(b);
	return PK_ERR_SYSTEM;
}

/* Reads one found candidate. Returns 1, or 0 when none is waiting. */
int
browse_read(struct browse *b, struct candidate *c)
{
	ssize_t	n;

	do {
		n = read(b->pipe[0], c, sizeof(*c));
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(*c))
		return 0;
	c->name[sizeof(c->name) - 1] = '\0';
	c->host[sizeof(c->host) - 1] = '\0';
	c->port[sizeof(c->port) - 1] = '\0';
	c->pin[sizeof(c->pin) - 1] = '\0';
	if (c->pin[0] != '\0' && !pk_keyid_valid(c->pin))
		c->pin[0] = '\0';	/* the announced key, or none */
	c->source = CAND_MDNS;
	return 1;
}

/* Stops the mDNS thread and frees everything (NULL is fine). */
void
browse_stop(struct browse *b)
{
	if (b == NULL)
		return;
	avahi_threaded_poll_stop(b->tp);
	if (b->b_native != NULL)
		avahi_s_service_browser_free(b->b_native);
	if (b->b_mandos != NULL)
		avahi_s_service_browser_free(b->b_mandos);
	avahi_server_free(b->server);
	avahi_threaded_poll_free(b->tp);
	close(b->pipe[0]);
	close(b->pipe[1]);
	free(b);
}
