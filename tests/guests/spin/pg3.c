/* Outbound PostgreSQL: spin:postgres/postgres@3.0.0 over HTTP (pgx.h says
 * how to call it). */
#define PGV 3
#include "pgx.h"
