/*
 * The whole store's internals, the SQLite backend's included: what the
 * white-box tests and fuzzers include.  The store's own files include
 * core_int.h / backend.h (neutral) or sqlite/sqlite_int.h (SQLite).
 */
#ifndef MDT_STORE_INT_H
#define MDT_STORE_INT_H

#include "core_int.h"
#include "backend.h"
#include "sqlite/sqlite_int.h"

#endif
