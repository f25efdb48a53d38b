/* controller/leader.c: the Lease record's rules (client-go's) without a
 * cluster. (The election itself runs against a real apiserver in
 * tests/e2e/leader-election.sh.) */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "controller/leader.h"
#include "tests/tap.h"

static const struct leader_opts opts = { .name = "spin-controller.spinkube.dev", .namespace = "ops", .identity = "me_1" };

int main(void)
{
	struct leader_lease l;
	struct sk_error err = { 0 };
	json_object *o = json_tokener_parse(
	    "{\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"42\"},\"spec\":{\"holderIdentity\":\"other_2\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2026-01-01T00:00:00.000000Z\","
	    "\"renewTime\":\"2026-01-01T00:00:10.000000Z\",\"leaseTransitions\":3}}");

	is_int(leader_lease_parse(o, &l, &err), 0, "a Lease is read");
	ok(strcmp(l.holder, "other_2") == 0 && strcmp(l.resource_version, "42") == 0 && l.duration_s == 15 &&
	       l.transitions == 3 && strcmp(l.acquire_time, "2026-01-01T00:00:00.000000Z") == 0,
	   "... holder, resource version, duration, transitions, acquire time");
	ok(!leader_lease_takeable(&l, "me_1", 14999), "another's lease is not taken before its duration passed unchanged");
	ok(leader_lease_takeable(&l, "me_1", 15000), "... and is once it has");
	ok(leader_lease_takeable(&l, "other_2", 0), "the holder may always renew its own");

	char *j = leader_lease_json(&opts, &l, "me_1", "2026-01-01T00:01:00.000000Z", 15);
	json_object *t = json_tokener_parse(j);
	ok(t && strcmp(sk_json_str(t, "spec.holderIdentity"), "me_1") == 0 &&
	       strcmp(sk_json_str(t, "metadata.resourceVersion"), "42") == 0 &&
	       strcmp(sk_json_str(t, "metadata.namespace"), "ops") == 0 && strcmp(sk_json_str(t, "kind"), "Lease") == 0,
	   "taking it: our identity, with the resource version read (a conflicting write fails)");
	int64_t n = 0;
	ok(sk_json_int64(t, "spec.leaseTransitions", &n) == 0 && n == 4, "... one more transition");
	is_str(sk_json_str(t, "spec.acquireTime"), "2026-01-01T00:01:00.000000Z", "... acquired now");
	json_object_put(t);
	free(j);

	strcpy(l.holder, "me_1");
	j = leader_lease_json(&opts, &l, "me_1", "2026-01-01T00:02:00.000000Z", 15);
	t = json_tokener_parse(j);
	ok(sk_json_int64(t, "spec.leaseTransitions", &n) == 0 && n == 3, "renewing: no transition");
	is_str(sk_json_str(t, "spec.acquireTime"), "2026-01-01T00:00:00.000000Z", "... the acquire time kept");
	is_str(sk_json_str(t, "spec.renewTime"), "2026-01-01T00:02:00.000000Z", "... renewed now");
	json_object_put(t);
	free(j);

	j = leader_lease_json(&opts, &l, NULL, "2026-01-01T00:03:00.000000Z", 1);
	t = json_tokener_parse(j);
	ok(strcmp(sk_json_str(t, "spec.holderIdentity"), "") == 0 && sk_json_int64(t, "spec.leaseDurationSeconds", &n) == 0 &&
	       n == 1,
	   "releasing: no holder, a 1 s duration");
	json_object_put(t);
	free(j);
	l.holder[0] = '\0';
	ok(leader_lease_takeable(&l, "me_1", 0), "a released Lease is taken at once");
	j = leader_lease_json(&opts, &l, "other_2", "2026-01-01T00:04:00.000000Z", 15);
	t = json_tokener_parse(j);
	ok(sk_json_int64(t, "spec.leaseTransitions", &n) == 0 && n == 4, "taking a released Lease counts a transition");
	json_object_put(t);
	free(j);

	json_object *bad = json_tokener_parse("{\"spec\":{}}");
	is_int(leader_lease_parse(bad, &l, &err), -EINVAL, "an object without metadata.resourceVersion is refused");
	ok(strstr(err.message, "not a Lease object") != NULL, "... with one line");
	json_object_put(bad);
	json_object_put(o);

	char id[LEADER_ID_MAX], id2[LEADER_ID_MAX];
	leader_identity(id, sizeof(id));
	leader_identity(id2, sizeof(id2));
	ok(strchr(id, '_') && strlen(strchr(id, '_')) == 17 && strcmp(id, id2) != 0,
	   "identities are hostname_<16 hex>, different each time");
	return tap_done();
}
