/* ---------------------------------------------------------------------------
 * th_methods.h: which methods write and which only read, as each .proto
 * says on the method's own line (`// write` / `// read`; the build refuses
 * an rpc that says neither, proto/methods.cmake).
 *
 * The client library sends an idempotency key with every write and none
 * with a read; the worker runtime refuses a write that comes without one
 * and a handler that begins a write in a method its .proto calls a read
 * (docs/PROTOCOL.md 5.3).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_METHODS_H
#define TH_METHODS_H

typedef enum {
    TH_METHOD_UNKNOWN = 0, /* in none of teilhabe's .proto files */
    TH_METHOD_READ,
    TH_METHOD_WRITE,
} th_method_kind_t;

/* What method ("teilhabe.registry.v1.Registry/SetConcept") is. */
th_method_kind_t th_method_kind(const char *method);

#endif /* TH_METHODS_H */
