/*
 * guardians.h: which peers hold the shares of a k-of-n split (enroll
 * --threshold K --guardians N|NAME,...).
 *
 * The policy (peerkey(8), enroll): no single value of the spread label
 * (zone by default) holds K or more of the N shares, so that one zone
 * lost, stolen or misbehaving cannot release the disk on its own, when
 * the candidates allow it; when they do not, the best spread (the
 * largest share of any one value as small as it can be) and a sentence
 * that says why, such as "only 2 zones for 3 of 5: zone=a holds 3". A
 * peer without the label counts as one more value, "no zone", shared by
 * every peer without it. With K = 1 every guardian alone releases the
 * disk, so no spread can hold and none is asked; the picks are spread
 * all the same.
 *
 * A candidate can guard if it has a node key (a Mandos client has none
 * and holds nothing) and is usable: not disabled by an operator, not
 * pending, not timed out (an unguarded peer, one this node holds nothing
 * of, is usable: nothing says it is down). The pick is deterministic:
 * the same candidates give the same guardians, in name order within a
 * value, the values in turn.
 */
#ifndef GUARDIANS_H
#define GUARDIANS_H

#include <stddef.h>

#define GUARDIANS_MAX		255	/* shares of one split */
#define GUARDIANS_KEY_DEFAULT	"zone"

struct guardian_cand {
	const char	*name;
	int		 usable;	/* see the top */
	int		 has_node_key;
	const char	*labels;	/* canonical (labels.h), "" none */
};

/*
 * Picks n guardians for a k-of-n split (1 <= k <= n <= GUARDIANS_MAX)
 * among the nc candidates c, spread over label key: pick[0 .. n) get
 * their indexes into c. *why is NULL when the policy holds, else the
 * sentence (allocated). Returns 0, or -1 with *cause set (bad k or n,
 * fewer than n candidates can guard).
 */
int	 guardians_pick(const struct guardian_cand *c, size_t nc, unsigned k,
	    unsigned n, const char *key, size_t *pick, char **why,
	    char **cause);

/*
 * Checks --guardians NAME,NAME,...: each a candidate that can guard,
 * none twice, at least k and at most GUARDIANS_MAX of them. Fills
 * pick[0 .. *npick) (pick holds GUARDIANS_MAX) in the order given; *why
 * as guardians_pick() says it. Returns 0, or -1 with *cause set.
 */
int	 guardians_named(const struct guardian_cand *c, size_t nc,
	    const char *names, unsigned k, const char *key, size_t *pick,
	    size_t *npick, char **why, char **cause);

/*
 * The policy's sentence for guardians pick[0 .. n) of c (allocated), or
 * NULL when it holds, k is 1, or memory ran out.
 */
char	*guardians_spread(const struct guardian_cand *c, const size_t *pick,
	    size_t n, unsigned k, const char *key);

#endif /* GUARDIANS_H */
