/* libFuzzer target: a PostgreSQL server's value in libpq's binary format
 * (outside input) through pg_value_decode, for every column type Spin's
 * versions have a case for and one they do not, in each version. The
 * first two bytes pick the type and the version; the rest is the value.
 * Nothing may crash, leak or hang; a value taken is a db-value variant, a
 * refusal is value-conversion-failed with a one-line message. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/escape.h"
#include "shim-bridge/wasi/pg-values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* bool, bytea, name, int8, int2, int4, text, json, float4, float8,
	 * int4[], text[], varchar[], int8[], bpchar, varchar, date, time,
	 * timestamp, timestamptz, interval, numeric[], numeric, uuid, jsonb,
	 * int4range, numrange, int8range, inet */
	static const Oid types[] = {16,   17,   19,   20,   21,   23,   25,   114,  700,  701,
	                            1007, 1009, 1015, 1016, 1042, 1043, 1082, 1083, 1114, 1184,
	                            1186, 1231, 1700, 2950, 3802, 3904, 3906, 3926, 869};
	static const enum pg_ver vers[] = {PG_V2, PG_V3, PG_V4};
	struct wh_db_fail f = {.error_case = "other"};
	wasmtime_component_val_t v;

	if (size < 2 || size > (size_t)1 << 20)
		return 0;
	wh_val_bool(&v, false);
	if (pg_value_decode(types[data[0] % (sizeof(types) / sizeof(types[0]))], vers[data[1] % 3], data + 2,
	                    size - 2, &v, &f) == 0) {
		if (v.kind != WASMTIME_COMPONENT_VARIANT)
			__builtin_trap();
		wasmtime_component_val_delete(&v);
	} else if (strcmp(f.error_case, "value-conversion-failed") != 0 || !f.msg[0] ||
	           !sk_is_one_line(f.msg) || v.kind != WASMTIME_COMPONENT_BOOL) {
		__builtin_trap();
	}
	return 0;
}
