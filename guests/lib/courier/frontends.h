/*
 * The driver's side of its frontends (guests/xhci, guests/e1000e): message k of the driver's
 * function goes to frontend k, which acknowledges each event on the driver's port k, so the
 * driver raises the next only once the last was taken (two raises before the frontend looks
 * would collapse into one pending bit).
 *
 * Two ways to give frontend k its message, both straight to the frontend's CPU:
 * - bind (default): the frontend offers its port fport, the driver binds message k to it;
 * - grant: the driver grants message k to the frontend (HC_DEV_MSG_GRANT), the frontend binds
 *   it to its own port itself and acknowledges once (the "bound" ack), after which the driver
 *   may raise it. Revoking (frontends_revoke) tears the frontend's binding down; the frontend
 *   hears it on its grant port (guests/frontend).
 * - boot: as grant, but the hypervisor made the grants at boot (the driver module's grant=
 *   key, docs/guests.md); the driver only waits for the bound acks.
 * When anything fails, frontends_stop sends to each frontend's stop port so it ends instead of
 * blocking forever.
 */
#ifndef COURIER_GUEST_FRONTENDS_H
#define COURIER_GUEST_FRONTENDS_H

#include <stdbool.h>
#include <stdint.h>

#define FRONTENDS_MAX   32

struct frontend {
	const char *name;
	int64_t id;
	volatile uint64_t acks;
	uint64_t events, bad, other;    /* the driver's own counts */
	bool revoked;
	bool gone;                      /* ended: its acks are no longer waited for */
};

struct frontends {
	const char *me;                 /* the driver's name and device, for its lines */
	const char *kind;
	const char *bdf;
	uint32_t dbdf;
	struct frontend fe[FRONTENDS_MAX];
	unsigned n;
	unsigned fport, stop_port;      /* the frontends' ports: events, stop */
	enum { FRONTENDS_BIND, FRONTENDS_GRANT, FRONTENDS_BOOT } mode;
	uint64_t base;                  /* acks that are not events (grant: the bound ack) */
};

/* "a,b,c" in place into fs->fe; how many names. */
unsigned frontends_parse(struct frontends *fs, char *list);
/* mode= of the driver's command line: bind (default), grant or boot; false if another. */
bool frontends_mode(struct frontends *fs, const char *mode);
/* Ack ports 0..n-1 first, then each frontend's message: bound or granted (fs->mode),
 * retrying up to 10 s while a frontend does not exist yet or has not offered its port or
 * bound its grant. 0, or the failed step's code (printed). */
int frontends_connect(struct frontends *fs);
/* Every frontend (but revoked ones) acknowledged r events, within timeout_ns. */
bool frontends_acked(struct frontends *fs, uint64_t r, uint64_t timeout_ns);
/* Take frontend k's grant back (its binding goes; it hears it on its grant port). */
int frontends_revoke(struct frontends *fs, unsigned k);
/* After a failure: tell every frontend to give up. Returns 1 (the driver's exit code). */
int frontends_stop(struct frontends *fs);
/* "<kind> guest=<me> dev=<bdf> error=<what> detail=<d> err=<name> result=fail"; returns 1. */
int frontends_fail(const struct frontends *fs, const char *what, int64_t detail);

#endif
