/*
 * mandos-value.c: the values of a Mandos clients.conf as the Mandos
 * server reads them — ConfigParser booleans, Mandos durations (RFC 3339
 * and the old "5m 30s" form) and the base64 "secret" — for
 * mandos-conf.c, which reads the file's structure, and its tests.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mandos-conf.h"
#include "pk_err.h"

#define MC_WS		" \t\r\n\v\f"

static int
value_isspace(int ch)
{
	return ch != '\0' && strchr(MC_WS, ch) != NULL;
}

int
mandos_parse_bool(const char *s, int *b)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	return PK_ERR_BAD_FORMAT;
}

/* Adds n units (ms) to *ms, within MANDOS_DURATION_MAX_MS. */
static int
mc_dur_add(uint64_t *ms, uint64_t n, uint64_t unit)
{
	if (n > MANDOS_DURATION_MAX_MS / unit ||
	    *ms + n * unit > MANDOS_DURATION_MAX_MS)
		return PK_ERR_TOO_LARGE;
	*ms += n * unit;
	return 0;
}

/* Reads decimal digits; caps the value so that it cannot overflow. */
static const char *
mc_digits(const char *s, uint64_t *n)
{
	*n = 0;
	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++)
		*n = *n > 100000000000000000ULL ? *n :
		    *n * 10 + (uint64_t)(*s - '0');
	return s;
}

/* rfc3339_duration_to_delta: the token grammar of RFC 3339 Appendix A. */
static int
mc_rfc3339(const char *s, uint64_t *ms)
{
	enum { AP, AY, AMO, AD, AT, AH, AMI, AS, AW } st = AP;
	const uint64_t	 W = 7ULL * 86400 * 1000;
	uint64_t	 n, unit;
	int		 end_ok, r;

	*ms = 0;
	if (*s++ != 'P')
		return PK_ERR_BAD_FORMAT;
	for (;;) {
		end_ok = st != AP && st != AT;
		if (*s == '\0')
			return end_ok ? 0 : PK_ERR_BAD_FORMAT;
		if (*s == 'T' && (st == AP || st == AD)) {
			st = AT;
			s++;
			continue;
		}
		if ((s = mc_digits(s, &n)) == NULL)
			return PK_ERR_BAD_FORMAT;
		switch (*s) {
		case 'Y':
			if (st != AP)
				return PK_ERR_BAD_FORMAT;
			st = AY;
			unit = 52 * W;
			break;
		case 'M':
			if (st == AP || st == AY) {
				st = AMO;
				unit = 4 * W;
			} else if (st == AT || st == AH) {
				st = AMI;
				unit = 60 * 1000;
			} else
				return PK_ERR_BAD_FORMAT;
			break;
		case 'D':
			if (st != AP && st != AMO)
				return PK_ERR_BAD_FORMAT;
			st = AD;
			unit = 86400 * 1000;
			break;
		case 'W':
			if (st != AP)
				return PK_ERR_BAD_FORMAT;
			st = AW;
			unit = W;
			break;
		case 'H':
			if (st != AT)
				return PK_ERR_BAD_FORMAT;
			st = AH;
			unit = 3600 * 1000;
			break;
		case 'S':
			if (st != AT && st != AMI)
				return PK_ERR_BAD_FORMAT;
			st = AS;
			unit = 1000;
			break;
		default:
			return PK_ERR_BAD_FORMAT;
		}
		s++;
		if ((r = mc_dur_add(ms, n, unit)) != 0)
			return r;
		if ((st == AS || st == AW) && *s != '\0')
			return PK_ERR_BAD_FORMAT;
	}
}

int
mandos_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t	 n, unit;
	const char	*w, *e;
	int		 r;

	if ((r = mc_rfc3339(s, ms)) != PK_ERR_BAD_FORMAT)
		return r;
	/* The old form: words of digits and one unit letter. */
	*ms = 0;
	for (w = s; ; w = e) {
		while (value_isspace((unsigned char)*w))
			w++;
		if (*w == '\0')
			return 0;
		for (e = w; *e != '\0' && !value_isspace((unsigned char)*e); e++)
			;
		if (*w == '+')
			w++;
		/* int() takes digits with single '_' between them. */
		if (e - w < 2 || !isdigit((unsigned char)*w))
			return PK_ERR_BAD_FORMAT;
		for (n = 0; w < e - 1; w++) {
			if (*w == '_' && isdigit((unsigned char)w[-1]) &&
			    w + 1 < e - 1 && isdigit((unsigned char)w[1]))
				continue;
			if (!isdigit((unsigned char)*w))
				return PK_ERR_BAD_FORMAT;
			if (n > 100000000000000000ULL)
				return PK_ERR_TOO_LARGE;
			n = n * 10 + (uint64_t)(*w - '0');
		}
		switch (*w) {
		case 's': unit = 1000; break;
		case 'm': unit = 60 * 1000; break;
		case 'h': unit = 3600 * 1000; break;
		case 'd': unit = 86400 * 1000; break;
		case 'w': unit = 7ULL * 86400 * 1000; break;
		default: return PK_ERR_BAD_FORMAT;
		}
		if ((r = mc_dur_add(ms, n, unit)) != 0)
			return r;
	}
}

/* Decodes padded base64 (see mandos-conf.h). */
int
mandos_parse_base64(const char *s, uint8_t **out, size_t *outlen)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char	*a;
	uint8_t		*o;
	uint32_t	 acc = 0;
	size_t		 n = 0, len = 0, pad = 0;

	if ((o = malloc(strlen(s) / 4 * 3 + 4)) == NULL)
		return PK_ERR_ALLOC;
	for (; *s != '\0'; s++) {
		if (value_isspace((unsigned char)*s))
			continue;
		if (*s == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (a = strchr(alpha, *s)) == NULL)
			goto bad;
		acc = acc << 6 | (uint32_t)(a - alpha);
		if (++n % 4 == 0) {
			o[len++] = (uint8_t)(acc >> 16);
			o[len++] = (uint8_t)(acc >> 8);
			o[len++] = (uint8_t)acc;
			acc = 0;
		}
	}
	switch (n % 4) {
	case 0:
		if (pad != 0)
			goto bad;
		break;
	case 2:
		if (pad != 2)
			goto bad;
		o[len++] = (uint8_t)(acc >> 4);
		break;
	case 3:
		if (pad != 1)
			goto bad;
		o[len++] = (uint8_t)(acc >> 10);
		o[len++] = (uint8_t)(acc >> 2);
		break;
	default:
		goto bad;
	}
	*out = o;
	*outlen = len;
	return 0;
bad:
	free(o);
	return PK_ERR_BAD_FORMAT;
}

