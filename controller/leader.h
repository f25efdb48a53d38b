/* Leader election through a coordination.k8s.io/v1 Lease, the protocol of
 * client-go's leaderelection package (which controller-runtime uses), so a
 * spin-controller and anything else following it agree on one leader:
 *
 *   - every retry period a candidate reads the Lease; it takes it when the
 *     Lease is missing (create), empty (released), its own, or expired: its
 *     record (holder, renew time, resource version) has not changed for a
 *     lease duration on the candidate's own clock, as client-go measures it;
 *     taking and renewing are writes with the resource version read, so two
 *     candidates never both succeed;
 *   - the leader renews every retry period; when no renewal succeeded for
 *     the renew deadline it has lost the lease, and the program stops
 *     (controller-runtime exits too: its work may overlap a new leader's);
 *   - on a clean stop the leader releases the Lease (holder "", duration 1 s)
 *     so a standby takes over at its next retry, not a lease duration later.
 *
 * The runner is driven by the client's event loop (timers, async requests).
 * The record's decisions are pure functions (leader_lease_*) for the tests. */
#ifndef SPINKUBE_CONTROLLER_LEADER_H
#define SPINKUBE_CONTROLLER_LEADER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/kube/client.h"

#define LEADER_ID_MAX 256

struct leader_opts {
	const char *name;      /* the Lease's name (--leader-election-id) */
	const char *namespace; /* its namespace */
	const char *identity;  /* this candidate: hostname_<random> */
	long lease_ms, renew_deadline_ms, retry_ms;
};

/* What a Lease says (spec and metadata.resourceVersion). */
struct leader_lease {
	char holder[LEADER_ID_MAX];
	char resource_version[64];
	char renew_time[40];
	char acquire_time[40];
	long duration_s;
	long transitions;
};

/* Read a Lease object into *out; -EINVAL (one line in err) when it is not one. */
int leader_lease_parse(json_object *obj, struct leader_lease *out, struct sk_error *err);

/* The Lease object that takes (or renews) the lease for identity, as JSON
 * text (caller frees): holder identity, duration, renew time now_rfc3339
 * (MicroTime), the acquire time kept when the holder renews its own and
 * now otherwise, transitions counted up when another candidate takes it
 * (also from a released Lease), as client-go counts them.
 * prev NULL: a new Lease. holder NULL: the release record. */
char *leader_lease_json(const struct leader_opts *o, const struct leader_lease *prev, const char *holder,
			const char *now_rfc3339, long duration_s);

/* May identity take the lease? held_ms: how long the record has been the
 * same on this candidate's clock. */
bool leader_lease_takeable(const struct leader_lease *l, const char *identity, int64_t held_ms);

struct leader;

int leader_new(struct kube_client *c, const struct leader_opts *o, struct leader **out, struct sk_error *err);
/* Begin trying (the first attempt now). */
void leader_start(struct leader *l);
bool leader_leading(const struct leader *l);
/* The lease was lost after being held (also: no renewal succeeded for the
 * renew deadline, checked now): stop the work. */
bool leader_lost(struct leader *l);
/* Give the lease up if held (synchronous, bounded by the client's timeout). */
void leader_release(struct leader *l);
void leader_free(struct leader *l);

/* Where a pod runs: POD_NAMESPACE, else the service account's namespace
 * file. -ENOENT (one line in err, naming the flag) when neither. */
int leader_namespace_from_pod(char *out, size_t size, struct sk_error *err);
/* hostname_<16 hex random>, as controller-runtime's identities look. */
void leader_identity(char *out, size_t size);

#endif
