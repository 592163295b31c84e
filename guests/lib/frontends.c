#include <stdio.h>
#include <string.h>
#include <courier/dev.h>
#include <courier/events.h>
#include <courier/frontends.h>
#include <courier/guest.h>
#include <courier/hypercall.h>

#define NS_PER_MS               1000000ull
#define CONNECT_TIMEOUT_NS      (10000 * NS_PER_MS)
#define STOP_TIMEOUT_NS         (2000 * NS_PER_MS)

int frontends_fail(const struct frontends *fs, const char *what, int64_t detail)
{
	printf("%s guest=%s dev=%s error=%s detail=%lld err=%s result=fail\n", fs->kind, fs->me,
	       fs->bdf, what, (long long)detail, detail < 0 ? guest_strerror(detail) : "-");
	return 1;
}

bool frontends_mode(struct frontends *fs, const char *mode)
{
	fs->mode = !mode || !strcmp(mode, "bind") ? FRONTENDS_BIND :
		   !strcmp(mode, "grant") ? FRONTENDS_GRANT :
		   !strcmp(mode, "boot") ? FRONTENDS_BOOT : (int)-1;
	return (int)fs->mode >= 0;
}

unsigned frontends_parse(struct frontends *fs, char *list)
{
	fs->n = 0;
	for (char *s = list, *e; s && *s && fs->n < FRONTENDS_MAX; s = e) {
		e = strchr(s, ',');
		if (e)
			*e++ = 0;
		if (*s)
			fs->fe[fs->n++].name = s;
	}
	return fs->n;
}

static void on_ack(unsigned port, void *arg)
{
	((struct frontend *)arg)->acks++;
}

struct want { struct frontends *fs; uint64_t acks; };

static bool all_acked(void *arg)
{
	struct want *w = arg;
	for (unsigned k = 0; k < w->fs->n; k++)
		if (!w->fs->fe[k].revoked && !w->fs->fe[k].gone && w->fs->fe[k].acks < w->acks)
			return false;
	return true;
}

bool frontends_acked(struct frontends *fs, uint64_t r, uint64_t timeout_ns)
{
	struct want w = { fs, fs->base + r };
	return evt_wait(all_acked, &w, timeout_ns);
}

/* Retry call while it fails with ENOENT or EPERM (the frontend is not there yet or has not
 * offered its port), until the deadline. */
static int patiently(int (*call)(struct frontends *, unsigned), struct frontends *fs, unsigned k,
		     uint64_t deadline)
{
	int ret;
	while ((ret = call(fs, k)) < 0 && (ret == -COURIER_EPERM || ret == -COURIER_ENOENT) &&
	       guest_time_ns() < deadline)
		hc_yield();
	return ret;
}

static int bind_one(struct frontends *fs, unsigned k)
{
	return dev_msg_bind(fs->dbdf, k, (uint64_t)fs->fe[k].id, fs->fport);
}

static int grant_one(struct frontends *fs, unsigned k)
{
	return dev_msg_grant(fs->dbdf, k, (uint64_t)fs->fe[k].id);
}

static int granted_at_boot(struct frontends *fs, unsigned k)
{
	return 0;
}

static const struct {
	int (*give)(struct frontends *, unsigned);
	const char *what, *shown;
} modes[] = {
	[FRONTENDS_BIND] = { bind_one, "dev_msg_bind", "port" },
	[FRONTENDS_GRANT] = { grant_one, "dev_msg_grant", "granted" },
	[FRONTENDS_BOOT] = { granted_at_boot, "-", "granted_at_boot" },
};

int frontends_connect(struct frontends *fs)
{
	uint64_t deadline = guest_time_ns() + CONNECT_TIMEOUT_NS;
	int ret;

	for (unsigned k = 0; k < fs->n; k++) {
		int p = evt_alloc();
		if (p != (int)k)
			return frontends_fail(fs, "ack_port", p), p < 0 ? p : -COURIER_EINVAL;
		evt_bind_handler((unsigned)p, on_ack, &fs->fe[k]);
	}
	for (unsigned k = 0; k < fs->n; k++) {
		struct frontend *f = &fs->fe[k];
		while ((f->id = guest_lookup(f->name)) < 0 && guest_time_ns() < deadline)
			hc_yield();
		if (f->id < 0)
			return frontends_fail(fs, "guest_lookup", f->id), (int)f->id;
		if ((ret = evt_offer(k, (uint64_t)f->id)) < 0)
			return frontends_fail(fs, "evt_offer", ret), ret;
		ret = patiently(modes[fs->mode].give, fs, k, deadline);
		if (ret < 0)
			return frontends_fail(fs, modes[fs->mode].what, ret), ret;
		printf("%s guest=%s frontend=%s k=%u id=%lld %s=%u ack_port=%u\n", fs->kind, fs->me,
		       f->name, k, (long long)f->id, modes[fs->mode].shown,
		       fs->mode == FRONTENDS_BIND ? fs->fport : k, k);
	}
	/* Granted: each frontend binds its message itself and says so with one ack. */
	fs->base = 0;
	if (fs->mode != FRONTENDS_BIND) {
		if (!frontends_acked(fs, 1, CONNECT_TIMEOUT_NS))
			return frontends_fail(fs, "grants_not_bound", 0), -COURIER_ENOENT;
		fs->base = 1;
	}
	return 0;
}

int frontends_revoke(struct frontends *fs, unsigned k)
{
	int ret = dev_msg_revoke(fs->dbdf, k);
	if (ret >= 0)
		fs->fe[k].revoked = true;
	printf("%s guest=%s frontend=%s k=%u revoke=%s\n", fs->kind, fs->me, fs->fe[k].name, k,
	       ret < 0 ? guest_strerror(ret) : "ok");
	return ret;
}

int frontends_stop(struct frontends *fs)
{
	uint64_t deadline = guest_time_ns() + STOP_TIMEOUT_NS;
	unsigned stopped = 0;
	int64_t id;
	int ret;

	for (unsigned k = 0; k < fs->n; k++) {
		ret = -COURIER_ENOENT;
		while ((id = guest_lookup(fs->fe[k].name)) < 0 && guest_time_ns() < deadline)
			hc_yield();
		/* EPERM: not offered yet; ENOENT: not allocated yet (or the frontend ended). */
		while (id >= 0 && ((ret = evt_send((uint64_t)id, fs->stop_port)) == -COURIER_EPERM ||
				   ret == -COURIER_ENOENT) && guest_time_ns() < deadline)
			hc_yield();
		stopped += id >= 0 && ret >= 0;
	}
	printf("%s guest=%s stopped=%u of=%u\n", fs->kind, fs->me, stopped, fs->n);
	return 1;
}
