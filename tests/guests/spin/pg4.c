/* Outbound PostgreSQL: spin:postgres/postgres@4.0.0 over HTTP (pgx.h says
 * how to call it). */
#define PGV 4
#include "pgx.h"
