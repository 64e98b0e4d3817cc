/* Runs the shared JSON test cases (converted to tokens by cases_to_tokens.py) through the
 * C API. Every op goes through the buffdb_ functions; reads are cross-checked through the
 * caller-buffer call, the allocating call and a reader where the API has them. */
#include "buffdb.h"
#include "harness.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* Values                                                                                */

typedef enum { V_NULL, V_BOOL, V_INT, V_REAL, V_BYTES, V_LIST, V_OBJ, V_VAR } vkind;

typedef struct val {
    vkind k;
    int b;
    long long i;
    double d;
    unsigned char *bytes; /* V_BYTES data, V_VAR name (NUL-terminated) */
    size_t len;
    int text; /* V_BYTES from a JSON string */
    int wide; /* V_INT: 0 = `i`; 1 = the uint64_t `u` (2^63 ..= 2^64-1); 2 = past uint64_t */
    unsigned long long u;
    struct val **items;
    char **keys;
    size_t n;
} val;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static val *v_new(vkind k) {
    val *v = xmalloc(sizeof *v);
    memset(v, 0, sizeof *v);
    v->k = k;
    return v;
}
static val *v_null(void) { return v_new(V_NULL); }
static val *v_bool(int b) { val *v = v_new(V_BOOL); v->b = !!b; return v; }
static val *v_int(long long i) { val *v = v_new(V_INT); v->i = i; return v; }
static val *v_real(double d) { val *v = v_new(V_REAL); v->d = d; return v; }
static val *v_bytes(const void *p, size_t n) {
    val *v = v_new(V_BYTES);
    v->bytes = xmalloc(n + 1);
    if (n) memcpy(v->bytes, p, n);
    v->bytes[n] = 0;
    v->len = n;
    return v;
}
static val *v_list(size_t n) {
    val *v = v_new(V_LIST);
    v->items = xmalloc(sizeof(val *) * (n ? n : 1));
    v->n = 0;
    return v;
}
static void v_push(val *l, val *x) { l->items[l->n++] = x; }

/* Appends to a list made with v_list(0), growing it. */
static void v_append(val *l, val *x) {
    if ((l->n & (l->n - 1)) == 0) l->items = realloc(l->items, sizeof(val *) * (l->n ? 2 * l->n : 1));
    v_push(l, x);
}


static void v_free(val *v) {
    size_t j;
    if (!v) return;
    for (j = 0; j < v->n; j++) {
        v_free(v->items[j]);
        if (v->keys) free(v->keys[j]);
    }
    free(v->items);
    free(v->keys);
    free(v->bytes);
    free(v);
}

static val *v_copy(const val *v) {
    size_t j;
    val *c = v_new(v->k);
    c->b = v->b; c->i = v->i; c->d = v->d; c->text = v->text; c->len = v->len; c->wide = v->wide; c->u = v->u;
    if (v->bytes) { c->bytes = xmalloc(v->len + 1); memcpy(c->bytes, v->bytes, v->len + 1); }
    if (v->k == V_LIST || v->k == V_OBJ) {
        c->items = xmalloc(sizeof(val *) * (v->n ? v->n : 1));
        if (v->keys) c->keys = xmalloc(sizeof(char *) * (v->n ? v->n : 1));
        for (j = 0; j < v->n; j++) {
            c->items[j] = v_copy(v->items[j]);
            if (v->keys) { c->keys[j] = xmalloc(strlen(v->keys[j]) + 1); strcpy(c->keys[j], v->keys[j]); }
        }
        c->n = v->n;
    }
    return c;
}

static int v_num(const val *v, double *out) {
    if (v->k == V_INT) { *out = (double)v->i; return 1; }
    if (v->k == V_REAL) { *out = v->d; return 1; }
    return 0;
}

/* expected `e` against actual `a` (objects: every field of e must match) */
static int v_eq(const val *e, const val *a) {
    size_t j, m;
    double x, y;
    if (!e || !a) return e == a;
    if (v_num(e, &x) && v_num(a, &y)) return e->k == V_INT && a->k == V_INT ? e->i == a->i : x == y;
    if (e->k != a->k) return 0;
    switch (e->k) {
    case V_NULL: return 1;
    case V_BOOL: return e->b == a->b;
    case V_BYTES: return e->len == a->len && (e->len == 0 || memcmp(e->bytes, a->bytes, e->len) == 0);
    case V_LIST:
        if (e->n != a->n) return 0;
        for (j = 0; j < e->n; j++) if (!v_eq(e->items[j], a->items[j])) return 0;
        return 1;
    case V_OBJ:
        for (j = 0; j < e->n; j++) {
            int found = 0;
            for (m = 0; m < a->n; m++)
                if (strcmp(e->keys[j], a->keys[m]) == 0) { found = 1; if (!v_eq(e->items[j], a->items[m])) return 0; }
            if (!found) return 0;
        }
        return 1;
    default: return 0;
    }
}

static void v_print(FILE *f, const val *v) {
    size_t j;
    if (!v) { fputs("(none)", f); return; }
    switch (v->k) {
    case V_NULL: fputs("null", f); break;
    case V_BOOL: fputs(v->b ? "true" : "false", f); break;
    case V_INT: fprintf(f, "%lld", v->i); break;
    case V_REAL: fprintf(f, "%g", v->d); break;
    case V_VAR: fprintf(f, "$%s", (char *)v->bytes); break;
    case V_BYTES:
        fputc('"', f);
        for (j = 0; j < v->len && j < 60; j++) {
            unsigned char c = v->bytes[j];
            if (c >= 32 && c < 127 && c != '"') fputc(c, f); else fprintf(f, "\\x%02x", c);
        }
        if (v->len > 60) fprintf(f, "...(%zu bytes)", v->len);
        fputc('"', f);
        break;
    case V_LIST:
    case V_OBJ:
        fputc(v->k == V_LIST ? '[' : '{', f);
        for (j = 0; j < v->n; j++) {
            if (j) fputs(", ", f);
            if (v->keys) fprintf(f, "%s: ", v->keys[j]);
            v_print(f, v->items[j]);
        }
        fputc(v->k == V_LIST ? ']' : '}', f);
        break;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Tokens                                                                                */

static char *tok_buf;
static size_t tok_pos, tok_len;

static char *tok(void) {
    char *t;
    while (tok_pos < tok_len && (tok_buf[tok_pos] == ' ' || tok_buf[tok_pos] == '\n')) tok_pos++;
    if (tok_pos >= tok_len) return NULL;
    t = tok_buf + tok_pos;
    while (tok_pos < tok_len && tok_buf[tok_pos] != ' ' && tok_buf[tok_pos] != '\n') tok_pos++;
    if (tok_pos < tok_len) tok_buf[tok_pos++] = 0;
    return t;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static val *hex_bytes(const char *h, size_t hl) {
    size_t j;
    val *v = v_new(V_BYTES);
    v->len = hl / 2;
    v->bytes = xmalloc(v->len + 1);
    for (j = 0; j < v->len; j++) v->bytes[j] = (unsigned char)(hexval(h[2 * j]) * 16 + hexval(h[2 * j + 1]));
    v->bytes[v->len] = 0;
    return v;
}

static val *parse_val(void) {
    char *t = tok();
    size_t j, n;
    val *v;
    if (!t) { fprintf(stderr, "cases: unexpected end of input\n"); exit(2); }
    switch (t[0]) {
    case 'N': return v_null();
    case 'T': return v_bool(1);
    case 'F': return v_bool(0);
    case 'I': return v_int(strtoll(t + 1, NULL, 10));
    case 'U': v = v_int(0); v->wide = 1; v->u = strtoull(t + 1, NULL, 10); return v;
    case 'X': v = v_int(0); v->wide = 2; return v;
    case 'D': return v_real(strtod(t + 1, NULL));
    case 'S': v = hex_bytes(t + 1, strlen(t + 1)); v->text = 1; return v;
    case 'B': return hex_bytes(t + 1, strlen(t + 1));
    case 'R': {
        char *star = strchr(t, '*');
        size_t times = (size_t)strtoull(star + 1, NULL, 10);
        val *unit = hex_bytes(t + 1, (size_t)(star - t - 1));
        v = v_new(V_BYTES);
        v->text = 1;
        v->len = unit->len * times;
        v->bytes = xmalloc(v->len + 1);
        if (unit->len == 1) memset(v->bytes, unit->bytes[0], times); /* the 64 MiB values */
        else for (j = 0; j < times; j++) memcpy(v->bytes + j * unit->len, unit->bytes, unit->len);
        v->bytes[v->len] = 0;
        v_free(unit);
        return v;
    }
    case 'L':
        n = (size_t)strtoull(t + 1, NULL, 10);
        v = v_list(n);
        for (j = 0; j < n; j++) v_push(v, parse_val());
        return v;
    case 'O':
        n = (size_t)strtoull(t + 1, NULL, 10);
        v = v_list(n);
        v->k = V_OBJ;
        v->keys = xmalloc(sizeof(char *) * (n ? n : 1));
        for (j = 0; j < n; j++) {
            char *k = tok();
            v->keys[j] = xmalloc(strlen(k));
            strcpy(v->keys[j], k + 1);
            v_push(v, parse_val());
        }
        return v;
    case 'V':
        v = v_new(V_VAR);
        v->len = strlen(t + 1);
        v->bytes = xmalloc(v->len + 1);
        memcpy(v->bytes, t + 1, v->len + 1);
        return v;
    }
    fprintf(stderr, "cases: bad value token %s\n", t);
    exit(2);
}

typedef struct step {
    char *op;
    size_t nargs;
    char **names;
    val **vals;
    struct step *sub; /* a txn's steps, then its `after` steps */
    size_t nsub, nafter;
} step;

typedef struct tcase {
    char name[256];
    size_t nopts;
    char **opt_names;
    val **opt_vals;
    step *steps;
    size_t nsteps, cap;
} tcase;

static void parse_step(step *s) {
    size_t j;
    s->op = tok();
    s->nargs = (size_t)strtoull(tok(), NULL, 10);
    s->names = xmalloc(sizeof(char *) * (s->nargs ? s->nargs : 1));
    s->vals = xmalloc(sizeof(val *) * (s->nargs ? s->nargs : 1));
    s->sub = NULL;
    s->nsub = s->nafter = 0;
    for (j = 0; j < s->nargs; j++) {
        s->names[j] = tok();
        s->vals[j] = parse_val();
    }
    if (strcmp(s->op, "txn") == 0) {
        for (j = 0; j < s->nargs; j++) {
            if (strcmp(s->names[j], "steps") == 0) s->nsub += (size_t)s->vals[j]->i;
            if (strcmp(s->names[j], "after") == 0) s->nafter = (size_t)s->vals[j]->i;
        }
        s->nsub += s->nafter;
        s->sub = xmalloc(sizeof(step) * (s->nsub ? s->nsub : 1));
        for (j = 0; j < s->nsub; j++) {
            char *t = tok(); /* STEP */
            (void)t;
            parse_step(&s->sub[j]);
        }
    }
}

static void free_step(step *s) {
    size_t j;
    for (j = 0; j < s->nargs; j++) v_free(s->vals[j]);
    for (j = 0; j < s->nsub; j++) free_step(&s->sub[j]);
    free(s->names);
    free(s->vals);
    free(s->sub);
}

/* ------------------------------------------------------------------------------------ */
/* Running                                                                               */

typedef struct ctx {
    buffdb_db *db;
    const char *dir;  /* the case's directory */
    char file[4096];  /* the case's database file */
    char **var_names;
    val **var_vals;
    size_t nvars;
    char why[1024];
} ctx;

static val *var_get(ctx *c, const char *name) {
    size_t j;
    for (j = 0; j < c->nvars; j++)
        if (strcmp(c->var_names[j], name) == 0) return c->var_vals[j];
    return NULL;
}

static void var_set(ctx *c, const char *name, const val *v) {
    size_t j;
    for (j = 0; j < c->nvars; j++)
        if (strcmp(c->var_names[j], name) == 0) { v_free(c->var_vals[j]); c->var_vals[j] = v_copy(v); return; }
    c->var_names = realloc(c->var_names, sizeof(char *) * (c->nvars + 1));
    c->var_vals = realloc(c->var_vals, sizeof(val *) * (c->nvars + 1));
    c->var_names[c->nvars] = xmalloc(strlen(name) + 1);
    strcpy(c->var_names[c->nvars], name);
    c->var_vals[c->nvars] = v_copy(v);
    c->nvars++;
}

static val *resolve(ctx *c, val *v) {
    if (v && v->k == V_VAR) {
        val *r = var_get(c, (char *)v->bytes);
        return r ? r : v;
    }
    return v;
}

/* A copy of `v` with every variable inside it replaced by its value (expected lists of
 * saved blob ids). */
static val *resolve_copy(ctx *c, val *v) {
    size_t j;
    val *r = v_copy(resolve(c, v));
    for (j = 0; (r->k == V_LIST || r->k == V_OBJ) && j < r->n; j++) {
        val *x = resolve_copy(c, r->items[j]);
        v_free(r->items[j]);
        r->items[j] = x;
    }
    return r;
}

static val *arg(ctx *c, step *s, const char *name) {
    size_t j;
    for (j = 0; j < s->nargs; j++)
        if (strcmp(s->names[j], name) == 0) return resolve(c, s->vals[j]);
    return NULL;
}

/* The status a call gave; records the message of a failure. */
static buffdb_status note(ctx *c, buffdb_status st) {
    if (st != BUFFDB_OK) {
        const char *msg = buffdb_last_error_message();
        const char *name = buffdb_status_str((int)st);
        snprintf(c->why, sizeof c->why, "%s", msg);
        if (strncmp(msg, name, strlen(name)) != 0 && st != BUFFDB_NOT_FOUND) {
            snprintf(c->why, sizeof c->why, "message %s does not start with %s", msg, name);
            return BUFFDB_INTERNAL;
        }
    }
    return st;
}

/* Arguments that C cannot represent (negative sizes, NUL in a path) fail as the type
 * conversion of any binding would: INVALID_ARGUMENT. */
static buffdb_status unrepresentable(ctx *c, const char *what) {
    snprintf(c->why, sizeof c->why, "INVALID_ARGUMENT: %s cannot be passed to the C API", what);
    return BUFFDB_INVALID_ARGUMENT;
}

/* An integer value as a uint64_t; 0 when it is negative, past uint64_t or not an integer. */
static int u64_of(const val *v, uint64_t *out) {
    if (!v || v->k != V_INT || v->wide == 2) return 0;
    if (v->wide == 1) { *out = (uint64_t)v->u; return 1; }
    if (v->i < 0) return 0;
    *out = (uint64_t)v->i;
    return 1;
}

static int get_u64(ctx *c, step *s, const char *name, uint64_t *out, buffdb_status *st) {
    if (!u64_of(arg(c, s, name), out)) { *st = unrepresentable(c, "a negative or too large number"); return 0; }
    return 1;
}

static size_t get_limit(ctx *c, step *s, int *bad) {
    val *v = arg(c, s, "limit");
    uint64_t u = 0;
    *bad = 0;
    if (!v || v->k == V_NULL) return BUFFDB_NO_LIMIT;
    if (!u64_of(v, &u)) { *bad = 1; return 0; }
    return (uint64_t)(size_t)u == u ? (size_t)u : SIZE_MAX;
}

/* bytes argument (NULL when absent/null) */
static val *get_bytes(ctx *c, step *s, const char *name) {
    val *v = arg(c, s, name);
    return v && v->k == V_BYTES ? v : NULL;
}

/* a NUL-terminated copy of a string argument; NULL when it holds a NUL */
static char *get_str(ctx *c, step *s, const char *name) {
    val *v = get_bytes(c, s, name);
    char *p;
    if (!v) return NULL;
    if (memchr(v->bytes, 0, v->len)) return NULL;
    p = xmalloc(v->len + 1);
    memcpy(p, v->bytes, v->len);
    p[v->len] = 0;
    return p;
}

static val *info_obj(const char *path, const buffdb_stream_info *i) {
    static const char *names[] = {"path", "version", "size", "crc32", "chunk_count", "chunk_size", "stored_size", "created_ms"};
    size_t j;
    val *o = v_list(8);
    o->k = V_OBJ;
    o->keys = xmalloc(sizeof(char *) * 8);
    for (j = 0; j < 8; j++) { o->keys[j] = xmalloc(strlen(names[j]) + 1); strcpy(o->keys[j], names[j]); }
    v_push(o, v_bytes(path, strlen(path)));
    v_push(o, v_int((long long)i->version));
    v_push(o, v_int((long long)i->size));
    v_push(o, v_int((long long)i->crc32));
    v_push(o, v_int((long long)i->chunk_count));
    v_push(o, v_int((long long)i->chunk_size));
    v_push(o, v_int((long long)i->stored_size));
    v_push(o, v_int((long long)i->created_ms));
    return o;
}

/* Reads a whole reader into a value through buffdb_reader_read with a 1000-byte buffer. */
static buffdb_status read_reader(ctx *c, buffdb_reader *r, val **out) {
    unsigned char chunk[1000];
    uint64_t size = 0, pos = 0;
    size_t n = 0, got = 0;
    unsigned char *all;
    buffdb_status st = note(c, buffdb_reader_size(r, &size));
    if (st) return st;
    all = xmalloc((size_t)size);
    for (;;) {
        st = note(c, buffdb_reader_read(r, chunk, sizeof chunk, &n));
        if (st) { free(all); return st; }
        if (n == 0) break;
        if (got + n > size) { free(all); snprintf(c->why, sizeof c->why, "reader gave more than its size"); return BUFFDB_INTERNAL; }
        memcpy(all + got, chunk, n);
        got += n;
    }
    st = note(c, buffdb_reader_tell(r, &pos));
    if (st) { free(all); return st; }
    if (got != size || pos != size) {
        free(all);
        snprintf(c->why, sizeof c->why, "reader read %zu bytes, tell %" PRIu64 ", size %" PRIu64, got, pos, size);
        return BUFFDB_INTERNAL;
    }
    *out = v_bytes(all, got);
    free(all);
    return BUFFDB_OK;
}

/* The op NAME inside the transaction `t` when there is one, else on the database `db`:
 * every buffdb_NAME(db, ...) has a buffdb_txn_NAME(txn, ...) with the same arguments. */
#define ON(NAME, ...) (t ? buffdb_txn_##NAME(t, __VA_ARGS__) : buffdb_##NAME(db, __VA_ARGS__))

typedef enum { GET_KV, GET_BLOB, GET_STREAM } get_kind;

/* A caller-buffer read: first into a 16-byte buffer (pre-filled to check it stays
 * untouched on BUFFER_TOO_SMALL), then into a buffer of the reported size. */
static buffdb_status get_into(ctx *c, get_kind kind, buffdb_txn *t, const val *key, uint64_t id, const char *path, val **out) {
    unsigned char small[16];
    unsigned char *big;
    size_t n = 0, need, j;
    buffdb_status st;
    buffdb_db *db = c->db;
    memset(small, 0xA5, sizeof small);
#define CALL(BUF, CAP)                                              \
    (kind == GET_KV     ? ON(get, key->bytes, key->len, BUF, CAP, &n) \
     : kind == GET_BLOB ? ON(blob_get, id, BUF, CAP, &n)              \
                        : ON(stream_read, path, BUF, CAP, &n))
    st = note(c, CALL(small, sizeof small));
    if (st == BUFFDB_OK) { *out = v_bytes(small, n); return st; }
    if (st != BUFFDB_BUFFER_TOO_SMALL) return st;
    for (j = 0; j < sizeof small; j++)
        if (small[j] != 0xA5) { snprintf(c->why, sizeof c->why, "buffer written on BUFFER_TOO_SMALL"); return BUFFDB_INTERNAL; }
    need = n;
    if (need <= sizeof small) { snprintf(c->why, sizeof c->why, "BUFFER_TOO_SMALL reported %zu bytes", need); return BUFFDB_INTERNAL; }
    big = xmalloc(need);
    st = note(c, CALL(big, need));
#undef CALL
    if (st == BUFFDB_OK) {
        if (n != need) st = BUFFDB_INTERNAL, snprintf(c->why, sizeof c->why, "size changed");
        else *out = v_bytes(big, n);
    }
    free(big);
    return st;
}

/* An allocating read, compared with the caller-buffer result. */
static buffdb_status check_alloc(ctx *c, buffdb_status st, unsigned char *data, size_t len, const val *want) {
    if (st == BUFFDB_OK) {
        if (len != want->len || (len && memcmp(data, want->bytes, len) != 0)) {
            snprintf(c->why, sizeof c->why, "the _alloc call and the caller-buffer call disagree");
            st = BUFFDB_INTERNAL;
        }
        buffdb_bytes_free(data, len);
    }
    return st;
}

static buffdb_status keys_of(ctx *c, val *list, buffdb_slice **out) {
    size_t j;
    buffdb_slice *s;
    if (!list || list->k != V_LIST) return unrepresentable(c, "keys");
    s = xmalloc(sizeof *s * (list->n ? list->n : 1));
    for (j = 0; j < list->n; j++) {
        val *k = resolve(c, list->items[j]);
        if (k->k != V_BYTES) { free(s); return unrepresentable(c, "a key"); }
        s[j].data = k->bytes;
        s[j].len = k->len;
    }
    *out = s;
    return BUFFDB_OK;
}

static buffdb_status ids_of(ctx *c, val *list, uint64_t **out) {
    size_t j;
    uint64_t *ids;
    if (!list || list->k != V_LIST) return unrepresentable(c, "ids");
    ids = xmalloc(sizeof *ids * (list->n ? list->n : 1));
    for (j = 0; j < list->n; j++) {
        if (!u64_of(resolve(c, list->items[j]), &ids[j])) { free(ids); return unrepresentable(c, "an id"); }
    }
    *out = ids;
    return BUFFDB_OK;
}

static buffdb_status cursor_list(ctx *c, buffdb_kv_cursor *cur, int pairs, val **out) {
    const uint8_t *k, *v;
    size_t kl, vl;
    buffdb_status st;
    val *list = v_list(0);
    size_t cap = 0;
    for (;;) {
        st = note(c, buffdb_kv_cursor_next(cur, &k, &kl, &v, &vl));
        if (st) { v_free(list); return st; }
        if (!k) break;
        if (list->n == cap) { cap = cap ? cap * 2 : 8; list->items = realloc(list->items, sizeof(val *) * cap); }
        if (pairs) {
            val *p = v_list(2);
            v_push(p, v_bytes(k, kl));
            v_push(p, v_bytes(v, vl));
            v_push(list, p);
        } else {
            v_push(list, v_bytes(k, kl));
        }
    }
    *out = list;
    return BUFFDB_OK;
}

/* Adds a field to an object made by info_obj or obj_new. */
static void obj_add(val *o, const char *name, val *x) {
    o->items = realloc(o->items, sizeof(val *) * (o->n + 1));
    o->keys = realloc(o->keys, sizeof(char *) * (o->n + 1));
    o->keys[o->n] = xmalloc(strlen(name) + 1);
    strcpy(o->keys[o->n], name);
    o->items[o->n++] = x;
}

static val *obj_new(void) {
    val *o = v_list(0);
    o->k = V_OBJ;
    o->keys = xmalloc(sizeof(char *));
    return o;
}

/* A version's metadata through buffdb_stream_metadata (checked against has_metadata). */
static buffdb_status version_metadata(ctx *c, buffdb_txn *t, const char *path, const buffdb_stream_info *i, val **out) {
    buffdb_db *db = c->db;
    char *m = NULL;
    buffdb_status st = note(c, ON(stream_metadata, path, i->version, &m));
    if (st) return st;
    if ((m != NULL) != i->has_metadata) {
        snprintf(c->why, sizeof c->why, "has_metadata %d but buffdb_stream_metadata gave %s", (int)i->has_metadata, m ? "a string" : "NULL");
        st = BUFFDB_INTERNAL;
    } else {
        *out = m ? v_bytes(m, strlen(m)) : v_null();
    }
    buffdb_string_free(m);
    return st;
}

/* info_obj with the version's metadata. */
static buffdb_status stream_info_val(ctx *c, buffdb_txn *t, const char *path, const buffdb_stream_info *i, val **out) {
    val *m = NULL;
    buffdb_status st = version_metadata(c, t, path, i, &m);
    if (st) return st;
    *out = info_obj(path, i);
    obj_add(*out, "metadata", m);
    return BUFFDB_OK;
}

/* A record of an index entry as the cases write it: a key or path as bytes, a blob id as
 * an integer. */
static val *record_val(const buffdb_index_entry *e) {
    if (e->kind == BUFFDB_RECORD_BLOB) return v_int((long long)e->blob_id);
    return v_bytes(e->record, e->record_len);
}

/* An owned copy of an entry (the cursor's pointers die with it): for start_after. */
typedef struct entry_copy {
    buffdb_index_entry e;
    char *value;
    unsigned char *record;
} entry_copy;

static void entry_keep(entry_copy *k, const buffdb_index_entry *e) {
    free(k->value);
    free(k->record);
    k->e = *e;
    k->value = xmalloc(strlen(e->value) + 1);
    strcpy(k->value, e->value);
    k->record = xmalloc(e->record_len + 1);
    if (e->record_len) memcpy(k->record, e->record, e->record_len);
    k->e.value = k->value;
    k->e.record = e->kind == BUFFDB_RECORD_BLOB ? NULL : k->record;
}

/* Drains a find cursor into a list of records; `last` (may be NULL) keeps the last entry. */
static buffdb_status find_list(ctx *c, buffdb_find_cursor *cur, val *list, entry_copy *last, size_t *n) {
    buffdb_index_entry e;
    buffdb_status st;
    *n = 0;
    for (;;) {
        st = note(c, buffdb_find_next(cur, &e));
        if (st || !e.value) return st;
        if (e.kind == BUFFDB_RECORD_PATH && e.record[e.record_len] != 0) {
            snprintf(c->why, sizeof c->why, "a path record is not NUL-terminated");
            return BUFFDB_INTERNAL;
        }
        v_append(list, record_val(&e));
        if (last) entry_keep(last, &e);
        (*n)++;
    }
}

/* The index `name` as list_indexes shows it, from buffdb_index_list (NULL when missing). */
static val *index_obj(const buffdb_index_info *i) {
    val *o = obj_new();
    obj_add(o, "name", v_bytes(i->name, strlen(i->name)));
    obj_add(o, "source", v_bytes(i->source, strlen(i->source)));
    obj_add(o, "json_path", v_bytes(i->json_path, strlen(i->json_path)));
    obj_add(o, "unique", v_bool(i->unique));
    obj_add(o, "key_prefix", i->key_prefix ? v_bytes(i->key_prefix, i->key_prefix_len) : v_null());
    obj_add(o, "entries", v_int((long long)i->entries));
    obj_add(o, "ready", v_bool(i->ready));
    return o;
}

static buffdb_status list_indexes(ctx *c, buffdb_txn *t, val **out) {
    buffdb_db *db = c->db;
    buffdb_indexes *l = NULL;
    buffdb_index_info info;
    size_t n = 0, j;
    buffdb_status st = note(c, ON(index_list, &l));
    if (!st) st = note(c, buffdb_indexes_count(l, &n));
    if (!st) {
        val *all = v_list(0);
        for (j = 0; j < n && !st; j++) {
            st = note(c, buffdb_indexes_get(l, j, &info));
            if (!st) v_append(all, index_obj(&info));
        }
        if (!st && buffdb_indexes_get(l, n, &info) != BUFFDB_INVALID_ARGUMENT) {
            snprintf(c->why, sizeof c->why, "buffdb_indexes_get past the end did not give INVALID_ARGUMENT");
            st = BUFFDB_INTERNAL;
        }
        if (st) v_free(all); else *out = all;
    }
    buffdb_indexes_free(l);
    return st;
}

/* A JSON text argument of find/find_range (NULL when absent or null). */
static char *json_arg(ctx *c, step *s, const char *name) { return get_str(c, s, name); }

/* The index ops; BUFFDB_BUFFER_TOO_SMALL when `s` is another op. */
static buffdb_status index_op(ctx *c, step *s, buffdb_txn *t, val **out) {
    const char *op = s->op;
    buffdb_db *db = c->db;
    buffdb_status st;
    char *name = get_str(c, s, "name");
    if (strcmp(op, "create_index") && strcmp(op, "drop_index") && strcmp(op, "list_indexes") && strcmp(op, "find") &&
        strcmp(op, "find_range")) {
        free(name);
        return BUFFDB_BUFFER_TOO_SMALL;
    }
    if (!strcmp(op, "list_indexes")) { free(name); return list_indexes(c, t, out); }
    if (!name) return unrepresentable(c, "name");
    if (!strcmp(op, "create_index")) {
        char *source = get_str(c, s, "source"), *path = get_str(c, s, "json_path");
        val *prefix = get_bytes(c, s, "key_prefix"), *unique = arg(c, s, "unique"), *all = NULL;
        uint64_t entries = 0;
        size_t j;
        if (!source || !path) st = unrepresentable(c, "source/json_path");
        else st = note(c, ON(index_create, name, source, path, unique && unique->k == V_BOOL && unique->b,
                             prefix ? prefix->bytes : NULL, prefix ? prefix->len : 0, &entries));
        /* the new index as buffdb_index_list shows it, with the count create gave */
        if (!st) st = list_indexes(c, t, &all);
        for (j = 0; !st && j < all->n; j++) {
            val *nm = all->items[j]->items[0];
            if (nm->len == strlen(name) && !memcmp(nm->bytes, name, nm->len)) *out = v_copy(all->items[j]);
        }
        if (!st && (!*out || (*out)->items[5]->i != (long long)entries)) {
            snprintf(c->why, sizeof c->why, "the created index is not listed with the %" PRIu64 " entries create gave", entries);
            st = BUFFDB_INTERNAL;
        }
        v_free(all);
        free(source);
        free(path);
    } else if (!strcmp(op, "drop_index")) {
        bool existed = false;
        st = note(c, ON(index_drop, name, &existed));
        if (!st) *out = v_bool(existed);
    } else if (!strcmp(op, "find")) {
        char *value = json_arg(c, s, "value");
        buffdb_find_cursor *cur = NULL;
        size_t n = 0;
        if (!value) st = unrepresentable(c, "value");
        else st = note(c, ON(find, name, value, &cur));
        if (!st) {
            val *l = v_list(0);
            st = find_list(c, cur, l, NULL, &n);
            if (st) v_free(l); else *out = l;
        }
        buffdb_find_cursor_free(cur);
        free(value);
    } else {
        char *low = json_arg(c, s, "low"), *high = json_arg(c, s, "high");
        val *rev = arg(c, s, "reverse"), *sa = arg(c, s, "start_after");
        bool reverse = rev && rev->k == V_BOOL && rev->b;
        int bad = 0;
        size_t limit = get_limit(c, s, &bad), n = 0;
        entry_copy after;
        buffdb_index_entry *start = NULL;
        buffdb_find_cursor *cur = NULL;
        memset(&after, 0, sizeof after);
        if (sa && sa->k == V_OBJ) { /* {"value": JSON text, "key" | "blob" | "path": ...} */
            size_t j;
            uint64_t id = 0;
            for (j = 0; j < sa->n; j++) {
                val *x = resolve(c, sa->items[j]);
                if (!strcmp(sa->keys[j], "value") && x->k == V_BYTES) after.e.value = (const char *)x->bytes;
                else if (!strcmp(sa->keys[j], "key") && x->k == V_BYTES) { after.e.kind = BUFFDB_RECORD_KEY; after.e.record = x->bytes; after.e.record_len = x->len; }
                else if (!strcmp(sa->keys[j], "path") && x->k == V_BYTES) { after.e.kind = BUFFDB_RECORD_PATH; after.e.record = x->bytes; after.e.record_len = x->len; }
                else if (!strcmp(sa->keys[j], "blob") && u64_of(x, &id)) { after.e.kind = BUFFDB_RECORD_BLOB; after.e.blob_id = id; }
            }
            start = &after.e;
        }
        if (bad) st = unrepresentable(c, "limit");
        else st = note(c, ON(find_range, name, low, high, reverse, start, limit, &cur));
        if (!st) {
            val *l = v_list(0);
            st = find_list(c, cur, l, NULL, &n);
            if (st) v_free(l); else *out = l;
        }
        buffdb_find_cursor_free(cur);
        /* Without start_after and limit, the same range again in pages of 2, each
         * starting after the last entry of the page before: the same records. */
        if (!st && !start && limit == BUFFDB_NO_LIMIT) {
            val *paged = v_list(0);
            int first = 1;
            do {
                cur = NULL;
                st = note(c, ON(find_range, name, low, high, reverse, first ? NULL : &after.e, 2, &cur));
                if (!st) st = find_list(c, cur, paged, &after, &n);
                buffdb_find_cursor_free(cur);
                first = 0;
            } while (!st && n == 2);
            if (!st && !v_eq(*out, paged)) {
                snprintf(c->why, sizeof c->why, "find_range in pages of 2 (start_after the last entry) gave other records");
                st = BUFFDB_INTERNAL;
            }
            v_free(paged);
            free(after.value);
            free(after.record);
        }
        free(low);
        free(high);
    }
    free(name);
    return st;
}

/* The raw key every database of the encrypted run is opened with (NULL: plaintext). */
static const unsigned char *g_case_key;

/* Opens `path` with options given as names and values; values C cannot pass (negative,
 * past the parameter's type) are refused like any binding's conversion would. */
static buffdb_status open_db(ctx *c, const char *path, char **names, val **vals, size_t n, buffdb_db **out) {
    buffdb_options *o = NULL;
    buffdb_status st = note(c, buffdb_options_new(&o));
    size_t j;
    for (j = 0; j < n && !st; j++) {
        const char *k = names[j];
        val *v = vals[j];
        uint64_t u = 0;
        int is_int = u64_of(v, &u);
        int is_flag = !strcmp(k, "compression") || !strcmp(k, "verify_checksums") || !strcmp(k, "create") || !strcmp(k, "read_only");
        if (!is_flag && strcmp(k, "durability") && !is_int) { st = unrepresentable(c, "a negative or too large option"); break; }
        if ((!strcmp(k, "chunk_size") || !strcmp(k, "cache_size")) && (uint64_t)(size_t)u != u) { st = unrepresentable(c, k); break; }
        if ((!strcmp(k, "versions_to_keep") || !strcmp(k, "page_size")) && u > UINT32_MAX) { st = unrepresentable(c, k); break; }
        if (!strcmp(k, "compression")) st = buffdb_options_set_compression(o, v->b);
        else if (!strcmp(k, "verify_checksums")) st = buffdb_options_set_verify_checksums(o, v->b);
        else if (!strcmp(k, "create")) st = buffdb_options_set_create(o, v->b);
        else if (!strcmp(k, "read_only")) st = buffdb_options_set_read_only(o, v->b);
        else if (!strcmp(k, "durability")) {
            char d[64];
            snprintf(d, sizeof d, "%.*s", (int)v->len, (char *)v->bytes);
            st = buffdb_options_set_durability(o, d);
        } else if (!strcmp(k, "chunk_size")) st = buffdb_options_set_chunk_size(o, (size_t)u);
        else if (!strcmp(k, "cache_size")) st = buffdb_options_set_cache_size(o, (size_t)u);
        else if (!strcmp(k, "versions_to_keep")) st = buffdb_options_set_versions_to_keep(o, (uint32_t)u);
        else if (!strcmp(k, "page_size")) st = buffdb_options_set_page_size(o, (uint32_t)u);
        else if (!strcmp(k, "max_document_size")) st = buffdb_options_set_max_document_size(o, u);
        else if (!strcmp(k, "busy_timeout_ms")) st = buffdb_options_set_busy_timeout_ms(o, u);
        else { printf("    unknown option %s\n", k); buffdb_options_free(o); return BUFFDB_INTERNAL; }
        st = note(c, st);
    }
    if (!st && g_case_key) st = note(c, buffdb_options_set_encryption_key(o, g_case_key, 32));
    if (!st) st = note(c, buffdb_open(path, o, out));
    buffdb_options_free(o);
    return st;
}

/* The database path of `open` (relative to the case's directory; "" stays ""). */
static buffdb_status case_path(ctx *c, step *s, char *out, size_t cap) {
    val *p = get_bytes(c, s, "path");
    if (!p) return unrepresentable(c, "path");
    if (memchr(p->bytes, 0, p->len)) return unrepresentable(c, "a path containing NUL");
    if (p->len == 0) out[0] = 0;
    else snprintf(out, cap, "%s/%s", c->dir, (char *)p->bytes);
    return BUFFDB_OK;
}

/* The ops on the case's handle and files; BUFFDB_BUFFER_TOO_SMALL when `s` is another op. */
static buffdb_status file_op(ctx *c, step *s, val **out) {
    const char *op = s->op;
    char path[4096];
    buffdb_status st;
    val *opts = arg(c, s, "options");
    char **names = opts && opts->k == V_OBJ ? opts->keys : NULL;
    val **vals = opts && opts->k == V_OBJ ? opts->items : NULL;
    size_t n = opts && opts->k == V_OBJ ? opts->n : 0;
    if (!strcmp(op, "close")) return note(c, buffdb_shutdown(c->db)); /* the handle stays valid: later calls give CLOSED */
    if (!strcmp(op, "reopen")) {
        buffdb_close(c->db);
        c->db = NULL;
        return open_db(c, c->file, names, vals, n, &c->db);
    }
    if (!strcmp(op, "open")) {
        buffdb_db *other = NULL;
        st = case_path(c, s, path, sizeof path);
        if (!st) st = open_db(c, path, names, vals, n, &other);
        if (!st) st = note(c, buffdb_close(other));
        return st;
    }
    if (!strcmp(op, "write_file") || !strcmp(op, "read_file")) {
        FILE *f;
        st = case_path(c, s, path, sizeof path);
        if (st) return st;
        if (!strcmp(op, "write_file")) {
            val *data = get_bytes(c, s, "data");
            f = fopen(path, "wb");
            if (!f || !data || fwrite(data->bytes, 1, data->len, f) != data->len) st = BUFFDB_INTERNAL;
            if (f) fclose(f);
            if (st) snprintf(c->why, sizeof c->why, "cannot write %.900s", path);
            return st;
        }
        f = fopen(path, "rb");
        if (!f) { *out = v_null(); return BUFFDB_OK; }
        {
            unsigned char buf[4096];
            size_t got, len = 0, cap = 4096;
            unsigned char *all = xmalloc(cap);
            while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
                if (len + got > cap) { cap = 2 * (len + got); all = realloc(all, cap); }
                memcpy(all + len, buf, got);
                len += got;
            }
            fclose(f);
            *out = v_bytes(all, len);
            free(all);
        }
        return BUFFDB_OK;
    }
    return BUFFDB_BUFFER_TOO_SMALL;
}

/* ------------------------------------------------------------------------------------ */
/* The model registry (tests/cases/pending/models.json): records come back as JSON text, */
/* read here into values by a small JSON reader.                                         */

static val *json_val(const char **p);

static void json_ws(const char **p) {
    while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t') (*p)++;
}

/* A JSON string (at the opening quote) as text bytes. */
static val *json_str(const char **p) {
    size_t cap = 16, n = 0;
    unsigned char *b = xmalloc(cap);
    val *v;
    (*p)++;
    while (**p && **p != '"') {
        unsigned cp = (unsigned char)**p;
        if (cp == '\\') {
            (*p)++;
            switch (**p) {
            case 'n': cp = '\n'; break;
            case 't': cp = '\t'; break;
            case 'r': cp = '\r'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'u': cp = (unsigned)strtoul((char[5]){(*p)[1], (*p)[2], (*p)[3], (*p)[4], 0}, NULL, 16); *p += 4; break;
            default: cp = (unsigned char)**p; break;
            }
        }
        if (n + 4 >= cap) b = realloc(b, cap *= 2);
        if (cp < 0x80 || (unsigned char)**p == cp) b[n++] = (unsigned char)cp; /* raw bytes pass as they are */
        else if (cp < 0x800) { b[n++] = (unsigned char)(0xC0 | cp >> 6); b[n++] = (unsigned char)(0x80 | (cp & 0x3F)); }
        else { b[n++] = (unsigned char)(0xE0 | cp >> 12); b[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); b[n++] = (unsigned char)(0x80 | (cp & 0x3F)); }
        (*p)++;
    }
    if (**p == '"') (*p)++;
    v = v_bytes(b, n);
    v->text = 1;
    free(b);
    return v;
}

static val *json_val(const char **p) {
    val *v;
    json_ws(p);
    if (**p == '"') return json_str(p);
    if (**p == '[' || **p == '{') {
        int obj = **p == '{';
        size_t cap = 4;
        v = v_list(0);
        v->items = realloc(v->items, sizeof(val *) * cap);
        if (obj) { v->k = V_OBJ; v->keys = xmalloc(sizeof(char *) * cap); }
        (*p)++;
        json_ws(p);
        while (**p && **p != ']' && **p != '}') {
            if (v->n == cap) {
                cap *= 2;
                v->items = realloc(v->items, sizeof(val *) * cap);
                if (obj) v->keys = realloc(v->keys, sizeof(char *) * cap);
            }
            if (obj) {
                val *k = json_str(p);
                v->keys[v->n] = (char *)k->bytes;
                k->bytes = NULL;
                v_free(k);
                json_ws(p);
                (*p)++; /* : */
            }
            v_push(v, json_val(p));
            json_ws(p);
            if (**p == ',') (*p)++;
            json_ws(p);
        }
        if (**p) (*p)++;
        return v;
    }
    if (!strncmp(*p, "null", 4)) { *p += 4; return v_null(); }
    if (!strncmp(*p, "true", 4)) { *p += 4; return v_bool(1); }
    if (!strncmp(*p, "false", 5)) { *p += 5; return v_bool(0); }
    {
        char *end;
        const char *q = *p;
        while (*q == '-' || (*q >= '0' && *q <= '9')) q++;
        if (*q == '.' || *q == 'e' || *q == 'E') { v = v_real(strtod(*p, &end)); }
        else { v = v_int(strtoll(*p, &end, 10)); }
        *p = end;
        return v;
    }
}

/* A JSON text from a caller-buffer call: first into 8 bytes (checked untouched on
 * BUFFER_TOO_SMALL), then into a buffer of the size it reported. */
#define JSON_CALL(OUT, CALL_WITH)                                                                 \
    do {                                                                                          \
        char small_[8], *big_;                                                                    \
        size_t n = 0, j_;                                                                         \
        const char *p_;                                                                           \
        memset(small_, 0x5A, sizeof small_);                                                      \
        { char *buf = small_; size_t cap = sizeof small_; st = note(c, CALL_WITH); }              \
        if (st == BUFFDB_BUFFER_TOO_SMALL) {                                                      \
            for (j_ = 0; j_ < sizeof small_; j_++)                                                \
                if (small_[j_] != 0x5A) { snprintf(c->why, sizeof c->why, "buffer written on BUFFER_TOO_SMALL"); st = BUFFDB_INTERNAL; } \
            if (!st || st == BUFFDB_BUFFER_TOO_SMALL) {                                           \
                big_ = xmalloc(n + 1);                                                            \
                { char *buf = big_; size_t cap = n; st = note(c, CALL_WITH); }                    \
                big_[st ? 0 : n] = 0;                                                             \
                p_ = big_;                                                                        \
                if (!st) OUT = json_val(&p_);                                                     \
                free(big_);                                                                       \
            }                                                                                     \
        } else if (!st) {                                                                         \
            char tiny_[sizeof small_ + 1];                                                        \
            memcpy(tiny_, small_, n);                                                             \
            tiny_[n] = 0;                                                                         \
            p_ = tiny_;                                                                           \
            OUT = json_val(&p_);                                                                  \
        }                                                                                         \
    } while (0)

/* The JSON text of `v` (a case's `info` object): strings, numbers, lists, objects. */
static void json_write(FILE *f, const val *v) {
    size_t j;
    switch (v->k) {
    case V_NULL: fputs("null", f); break;
    case V_BOOL: fputs(v->b ? "true" : "false", f); break;
    case V_INT: fprintf(f, "%lld", v->i); break;
    case V_REAL: fprintf(f, "%.17g", v->d); break;
    case V_BYTES:
        fputc('"', f);
        for (j = 0; j < v->len; j++) {
            unsigned char ch = v->bytes[j];
            if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
            else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
            else fputc(ch, f);
        }
        fputc('"', f);
        break;
    case V_LIST: case V_OBJ:
        fputc(v->k == V_OBJ ? '{' : '[', f);
        for (j = 0; j < v->n; j++) {
            if (j) fputc(',', f);
            if (v->k == V_OBJ) fprintf(f, "\"%s\":", v->keys[j]);
            json_write(f, v->items[j]);
        }
        fputc(v->k == V_OBJ ? '}' : ']', f);
        break;
    default: break;
    }
}

/* buffdb_model_register: the case's `files` object as buffdb_model_file_data. */
static buffdb_status model_register(ctx *c, step *s, buffdb_txn *t, const char *name, const char *version) {
    buffdb_db *db = c->db;
    val *files = arg(c, s, "files"), *info = arg(c, s, "info");
    size_t n = files && files->k == V_OBJ ? files->n : 0, j, len = 0;
    buffdb_model_file_data *fd = xmalloc(sizeof *fd * (n ? n : 1));
    char *info_json = NULL;
    buffdb_status st;
    for (j = 0; j < n; j++) {
        fd[j].name = files->keys[j];
        fd[j].data = files->items[j]->bytes;
        fd[j].len = files->items[j]->len;
    }
    if (info) {
        FILE *f = open_memstream(&info_json, &len);
        json_write(f, info);
        fclose(f);
    }
    st = note(c, ON(model_register, name, version, info_json, fd, n));
    free(info_json);
    free(fd);
    return st;
}

/* The registry's ops; records, lists and aliases as values read from their JSON. */
static buffdb_status model_op(ctx *c, step *s, buffdb_txn *t, val **out) {
    const char *op = s->op;
    buffdb_db *db = c->db;
    buffdb_status st = BUFFDB_OK;
    char *name = get_str(c, s, "name"), *version = get_str(c, s, "version"), *alias = get_str(c, s, "alias");
    char *file = get_str(c, s, "file");
    val *got = NULL;
    bool b = false;
    if (!strcmp(op, "model_register")) {
        st = model_register(c, s, t, name, version);
        if (!st) JSON_CALL(got, ON(model_get, name, version, buf, cap, &n));
    } else if (!strcmp(op, "model_get")) {
        JSON_CALL(got, ON(model_get, name, version, buf, cap, &n));
    } else if (!strcmp(op, "model_resolve")) {
        char vbuf[256];
        size_t n = 0;
        st = note(c, ON(model_resolve, name, version, vbuf, sizeof vbuf, &n, &b));
        if (!st) got = b ? v_bytes(vbuf, n) : v_null();
    } else if (!strcmp(op, "model_names")) {
        JSON_CALL(got, ON(model_names, buf, cap, &n));
    } else if (!strcmp(op, "model_versions")) {
        val *all = NULL;
        JSON_CALL(all, ON(model_versions, name, buf, cap, &n));
        if (all) { /* the version of each record */
            size_t j, m;
            got = v_list(all->n);
            for (j = 0; j < all->n; j++)
                for (m = 0; m < all->items[j]->n; m++)
                    if (!strcmp(all->items[j]->keys[m], "version")) v_push(got, v_copy(all->items[j]->items[m]));
            v_free(all);
        }
    } else if (!strcmp(op, "model_delete")) {
        st = note(c, ON(model_delete, name, version, &b));
        if (!st) got = v_bool(b);
    } else if (!strcmp(op, "model_aliases")) {
        val *obj = NULL;
        JSON_CALL(obj, ON(model_aliases, name, buf, cap, &n));
        if (obj) { /* [[alias, version], ...] in key order, as the engine writes them */
            size_t j;
            got = v_list(obj->n);
            for (j = 0; j < obj->n; j++) {
                val *pair = v_list(2);
                v_push(pair, v_bytes(obj->keys[j], strlen(obj->keys[j])));
                v_push(pair, v_copy(obj->items[j]));
                v_push(got, pair);
            }
            v_free(obj);
        }
    } else if (!strcmp(op, "model_set_alias")) {
        st = note(c, ON(model_set_alias, name, alias, version));
    } else if (!strcmp(op, "model_read")) {
        buffdb_reader *r = NULL;
        uint64_t off = 0, len = UINT64_MAX, size = 0, pos = 0;
        val *ov = arg(c, s, "offset"), *lv = arg(c, s, "len");
        if ((ov && !u64_of(ov, &off)) || (lv && !u64_of(lv, &len))) st = unrepresentable(c, "offset/len");
        if (!st) st = note(c, ON(model_open, name, version, file, &r));
        if (!st) st = note(c, buffdb_reader_size(r, &size));
        if (!st) st = note(c, buffdb_reader_seek(r, off, &pos));
        if (!st) {
            size_t want = (size_t)(len < size - (off < size ? off : size) ? len : size - (off < size ? off : size)), n = 0;
            unsigned char *data = xmalloc(want);
            st = note(c, buffdb_reader_read(r, data, want, &n));
            if (!st) got = v_bytes(data, n);
            free(data);
        }
        buffdb_reader_free(r);
    } else {
        snprintf(c->why, sizeof c->why, "unsupported op %s", op);
        st = BUFFDB_INTERNAL;
    }
    free(name);
    free(version);
    free(alias);
    free(file);
    if (st) v_free(got);
    else *out = got;
    return st;
}

static buffdb_status do_op(ctx *c, step *s, buffdb_txn *t, val **out) {
    const char *op = s->op;
    buffdb_status st = BUFFDB_OK;
    val *key = get_bytes(c, s, "key");
    buffdb_db *db = c->db;
    bool b = false;
    uint64_t u = 0;
    int bad = 0;

    if (!t) {
        st = file_op(c, s, out);
        if (st != BUFFDB_BUFFER_TOO_SMALL) return st;
        st = BUFFDB_OK;
    }
    st = index_op(c, s, t, out);
    if (st != BUFFDB_BUFFER_TOO_SMALL) return st;
    st = BUFFDB_OK;
    if (!strcmp(op, "put")) {
        val *v = get_bytes(c, s, "value");
        if (!key || !v) return unrepresentable(c, "key/value");
        return note(c, ON(put, key->bytes, key->len, v->bytes, v->len));
    }
    if (!strcmp(op, "get")) {
        if (!key) return unrepresentable(c, "key");
        st = get_into(c, GET_KV, t, key, 0, NULL, out);
        if (st == BUFFDB_NOT_FOUND) { *out = v_null(); return BUFFDB_OK; }
        if (st == BUFFDB_OK) {
            uint8_t *data = NULL;
            size_t len = 0;
            st = note(c, ON(get_alloc, key->bytes, key->len, &data, &len));
            st = check_alloc(c, st, data, len, *out);
        }
        return st;
    }
    if (!strcmp(op, "delete")) {
        if (!key) return unrepresentable(c, "key");
        st = note(c, ON(delete, key->bytes, key->len, &b));
        if (!st) *out = v_bool(b);
        return st;
    }
    if (!strcmp(op, "contains")) {
        if (!key) return unrepresentable(c, "key");
        st = note(c, ON(contains, key->bytes, key->len, &b));
        if (!st) *out = v_bool(b);
        return st;
    }
    if (!strcmp(op, "count")) {
        val *p = get_bytes(c, s, "prefix");
        if (!p) return unrepresentable(c, "prefix");
        st = note(c, ON(count, p->bytes, p->len, &u));
        if (!st) *out = v_int((long long)u);
        return st;
    }
    if (!strcmp(op, "put_many")) {
        val *pairs = arg(c, s, "pairs");
        buffdb_kv_pair *kv;
        size_t j;
        if (!pairs || pairs->k != V_LIST) return unrepresentable(c, "pairs");
        kv = xmalloc(sizeof *kv * (pairs->n ? pairs->n : 1));
        for (j = 0; j < pairs->n; j++) {
            val *p = pairs->items[j];
            if (p->k != V_LIST || p->n != 2 || p->items[0]->k != V_BYTES || p->items[1]->k != V_BYTES) { free(kv); return unrepresentable(c, "a pair"); }
            kv[j].key = p->items[0]->bytes; kv[j].key_len = p->items[0]->len;
            kv[j].value = p->items[1]->bytes; kv[j].value_len = p->items[1]->len;
        }
        st = note(c, ON(put_many, kv, pairs->n));
        free(kv);
        return st;
    }
    if (!strcmp(op, "get_many") || !strcmp(op, "eq") || !strcmp(op, "not_eq")) {
        val *keys = arg(c, s, "keys");
        buffdb_slice *sl = NULL;
        st = keys_of(c, keys, &sl);
        if (st) return st;
        if (!strcmp(op, "get_many")) {
            buffdb_bytes *vals = xmalloc(sizeof *vals * (keys->n ? keys->n : 1));
            size_t j;
            st = note(c, ON(get_many, sl, keys->n, vals));
            if (!st) {
                val *l = v_list(keys->n);
                for (j = 0; j < keys->n; j++) v_push(l, vals[j].data ? v_bytes(vals[j].data, vals[j].len) : v_null());
                buffdb_bytes_array_free(vals, keys->n);
                *out = l;
            }
            free(vals);
        } else {
            st = note(c, !strcmp(op, "eq") ? ON(eq, sl, keys->n, &b) : ON(not_eq, sl, keys->n, &b));
            if (!st) *out = v_bool(b);
        }
        free(sl);
        return st;
    }
    if (!strcmp(op, "scan") || !strcmp(op, "keys")) {
        val *p = get_bytes(c, s, "prefix");
        val *sa = get_bytes(c, s, "start_after");
        size_t limit = get_limit(c, s, &bad);
        buffdb_kv_cursor *cur = NULL;
        int pairs = !strcmp(op, "scan");
        if (!p || bad) return unrepresentable(c, "prefix/limit");
        if (pairs) st = note(c, ON(scan, p->bytes, p->len, sa ? sa->bytes : NULL, sa ? sa->len : 0, limit, &cur));
        else st = note(c, ON(keys, p->bytes, p->len, sa ? sa->bytes : NULL, sa ? sa->len : 0, limit, &cur));
        if (st) return st;
        st = cursor_list(c, cur, pairs, out);
        buffdb_kv_cursor_free(cur);
        return st;
    }
    if (!strcmp(op, "blob_put")) {
        val *data = get_bytes(c, s, "data");
        val *mv = arg(c, s, "metadata");
        char *meta = get_str(c, s, "metadata");
        if (!data) { free(meta); return unrepresentable(c, "data"); }
        if (mv && mv->k == V_BYTES && !meta) return unrepresentable(c, "metadata with a NUL");
        st = note(c, ON(blob_put, data->bytes, data->len, meta, &u));
        free(meta);
        if (!st) *out = v_int((long long)u);
        return st;
    }
    if (!strcmp(op, "blob_get")) {
        if (!get_u64(c, s, "id", &u, &st)) return st;
        st = get_into(c, GET_BLOB, t, NULL, u, NULL, out);
        if (st == BUFFDB_NOT_FOUND) { *out = v_null(); return BUFFDB_OK; }
        if (st == BUFFDB_OK) {
            uint8_t *data = NULL;
            size_t len = 0;
            st = note(c, ON(blob_get_alloc, u, &data, &len));
            st = check_alloc(c, st, data, len, *out);
            if (!st) {
                buffdb_reader *r = NULL;
                val *via = NULL;
                buffdb_blob_info info;
                st = note(c, ON(blob_open, u, &r));
                if (!st) st = read_reader(c, r, &via);
                buffdb_reader_free(r);
                if (!st && !v_eq(*out, via)) st = BUFFDB_INTERNAL, snprintf(c->why, sizeof c->why, "blob reader disagrees");
                v_free(via);
                if (!st) st = note(c, ON(blob_stat, u, &info));
                if (!st && (info.id != u || info.size != (*out)->len)) st = BUFFDB_INTERNAL, snprintf(c->why, sizeof c->why, "blob_info disagrees");
            }
        }
        return st;
    }
    if (!strcmp(op, "blob_metadata")) {
        char *m = NULL;
        if (!get_u64(c, s, "id", &u, &st)) return st;
        st = note(c, ON(blob_metadata, u, &m));
        if (!st) {
            *out = m ? v_bytes(m, strlen(m)) : v_null();
            buffdb_string_free(m);
        }
        return st;
    }
    if (!strcmp(op, "blob_update")) {
        val *data = get_bytes(c, s, "data");
        val *mv = arg(c, s, "metadata");
        char *meta = get_str(c, s, "metadata");
        if (!get_u64(c, s, "id", &u, &st)) { free(meta); return st; }
        if (mv && mv->k == V_BYTES && !meta) return unrepresentable(c, "metadata with a NUL");
        st = note(c, ON(blob_update, u, data != NULL, data ? data->bytes : NULL, data ? data->len : 0, mv != NULL, meta));
        free(meta);
        return st;
    }
    if (!strcmp(op, "blob_delete")) {
        if (!get_u64(c, s, "id", &u, &st)) return st;
        st = note(c, ON(blob_delete, u, &b));
        if (!st) *out = v_bool(b);
        return st;
    }
    if (!strcmp(op, "blob_eq") || !strcmp(op, "blob_not_eq")) {
        val *ids = arg(c, s, "ids");
        uint64_t *arr = NULL;
        st = ids_of(c, ids, &arr);
        if (st) return st;
        st = note(c, !strcmp(op, "blob_eq") ? ON(blob_eq, arr, ids->n, &b) : ON(blob_not_eq, arr, ids->n, &b));
        free(arr);
        if (!st) *out = v_bool(b);
        return st;
    }
    if (!strncmp(op, "stream_", 7) || !strcmp(op, "search")) {
        char *path = NULL;
        val *pv = get_bytes(c, s, !strcmp(op, "search") ? "prefix" : "path");
        if (!pv) return unrepresentable(c, "path");
        path = get_str(c, s, !strcmp(op, "search") ? "prefix" : "path");
        if (!path) return unrepresentable(c, "a path containing NUL");
        if (!strcmp(op, "stream_write")) {
            val *data = get_bytes(c, s, "data"), *mv = arg(c, s, "metadata");
            char *meta = get_str(c, s, "metadata");
            buffdb_stream_info info;
            if (!data) st = unrepresentable(c, "data");
            else if (mv && mv->k == V_BYTES && !meta) st = unrepresentable(c, "metadata with a NUL");
            else if (!mv) st = note(c, ON(stream_write, path, data->bytes, data->len, &info));
            else if (data->len < 4096) st = note(c, ON(stream_write_with_metadata, path, data->bytes, data->len, meta, &info));
            else { /* big ones through a writer with the metadata option */
                buffdb_writer *w = NULL;
                st = note(c, ON(stream_writer, path, &w));
                if (!st) st = note(c, buffdb_writer_set_metadata(w, meta));
                if (!st) st = note(c, buffdb_writer_write(w, data->bytes, data->len));
                if (!st) st = note(c, buffdb_writer_commit(w, &info));
                buffdb_writer_free(w);
            }
            if (!st) st = stream_info_val(c, t, path, &info, out);
            free(meta);
        } else if (!strcmp(op, "stream_set_metadata")) {
            val *mv = arg(c, s, "metadata");
            char *meta = get_str(c, s, "metadata");
            buffdb_stream_info info;
            if (mv && mv->k == V_BYTES && !meta) st = unrepresentable(c, "metadata with a NUL");
            else st = note(c, ON(stream_set_metadata, path, meta, &info));
            if (!st) st = stream_info_val(c, t, path, &info, out);
            free(meta);
        } else if (!strcmp(op, "stream_read")) {
            st = get_into(c, GET_STREAM, t, NULL, 0, path, out);
            if (!st) {
                uint8_t *data = NULL;
                size_t len = 0;
                st = note(c, ON(stream_read_alloc, path, &data, &len));
                st = check_alloc(c, st, data, len, *out);
            }
            if (!st) {
                buffdb_reader *r = NULL;
                val *via = NULL;
                st = note(c, ON(stream_open, path, &r));
                if (!st) st = read_reader(c, r, &via);
                buffdb_reader_free(r);
                if (!st && !v_eq(*out, via)) st = BUFFDB_INTERNAL, snprintf(c->why, sizeof c->why, "stream reader disagrees");
                v_free(via);
            }
        } else if (!strcmp(op, "stream_read_range")) {
            uint64_t off = 0, len = 0;
            uint8_t *data = NULL;
            size_t n = 0;
            if (get_u64(c, s, "offset", &off, &st) && get_u64(c, s, "len", &len, &st)) {
                st = note(c, ON(stream_read_range_alloc, path, off, len, &data, &n));
                if (!st) {
                    *out = v_bytes(data, n);
                    buffdb_bytes_free(data, n);
                    if (len <= (1u << 24)) {
                        uint8_t *buf = xmalloc((size_t)len);
                        st = note(c, ON(stream_read_range, path, off, buf, (size_t)len, &n));
                        if (!st && (n != (*out)->len || (n && memcmp(buf, (*out)->bytes, n))))
                            st = BUFFDB_INTERNAL, snprintf(c->why, sizeof c->why, "caller-buffer range read disagrees");
                        free(buf);
                    }
                }
            }
        } else if (!strcmp(op, "stream_read_version")) {
            buffdb_reader *r = NULL;
            buffdb_stream_info info;
            if (get_u64(c, s, "version", &u, &st)) {
                st = note(c, ON(stream_open_version, path, u, &r));
                if (!st) st = note(c, buffdb_reader_info(r, &info));
                if (!st && info.version != u) st = BUFFDB_INTERNAL, snprintf(c->why, sizeof c->why, "reader info has version %" PRIu64, info.version);
                if (!st) st = read_reader(c, r, out);
                buffdb_reader_free(r);
            }
        } else if (!strcmp(op, "stream_stat")) {
            buffdb_stream_info info;
            st = note(c, ON(stream_stat, path, &info));
            if (!st) st = stream_info_val(c, t, path, &info, out);
        } else if (!strcmp(op, "stream_versions") || !strcmp(op, "stream_versions_metadata")) {
            buffdb_stream_info infos[4];
            buffdb_stream_info *big = NULL;
            size_t n = 0, j;
            st = note(c, ON(stream_versions, path, infos, 1, &n));
            if (st == BUFFDB_BUFFER_TOO_SMALL) {
                big = xmalloc(sizeof *big * n);
                st = note(c, ON(stream_versions, path, big, n, &n));
            }
            if (!st) { /* each version's number, or its metadata */
                val *l = v_list(n), *m = NULL;
                for (j = 0; j < n && !st; j++) {
                    if (!strcmp(op, "stream_versions")) v_push(l, v_int((long long)(big ? big : infos)[j].version));
                    else if (!(st = version_metadata(c, t, path, &(big ? big : infos)[j], &m))) v_push(l, m);
                }
                if (st) v_free(l); else *out = l;
            }
            free(big);
        } else if (!strcmp(op, "stream_delete")) {
            st = note(c, ON(stream_delete, path, &b));
            if (!st) *out = v_bool(b);
        } else if (!strcmp(op, "stream_exists")) {
            st = note(c, ON(stream_exists, path, &b));
            if (!st) *out = v_bool(b);
        } else if (!strcmp(op, "search")) {
            val *sav = get_bytes(c, s, "start_after");
            char *sa = get_str(c, s, "start_after");
            size_t limit = get_limit(c, s, &bad);
            buffdb_search_cursor *cur = NULL;
            if (bad || (sav && !sa)) st = unrepresentable(c, "start_after/limit");
            else st = note(c, ON(search, path, sa, limit, &cur));
            if (!st) {
                const char *p;
                size_t pl, cap = 0;
                val *l = v_list(0);
                for (;;) {
                    st = note(c, buffdb_search_next(cur, &p, &pl));
                    if (st || !p) break;
                    if (l->n == cap) { cap = cap ? cap * 2 : 8; l->items = realloc(l->items, sizeof(val *) * cap); }
                    v_push(l, v_bytes(p, pl));
                }
                if (st) v_free(l); else *out = l;
            }
            buffdb_search_cursor_free(cur);
            free(sa);
        } else {
            snprintf(c->why, sizeof c->why, "unsupported op %s", op);
            st = BUFFDB_INTERNAL;
        }
        free(path);
        return st;
    }
    if (!strcmp(op, "search_count")) {
        char *p = get_str(c, s, "prefix");
        if (!p) return unrepresentable(c, "prefix");
        st = note(c, ON(search_count, p, &u));
        free(p);
        if (!st) *out = v_int((long long)u);
        return st;
    }
    if (!strcmp(op, "query")) {
        char *sql = get_str(c, s, "sql");
        val *params = arg(c, s, "params");
        buffdb_value *pv = NULL;
        size_t np = params && params->k == V_LIST ? params->n : 0, j, rows = 0, cols = 0, r2, c2;
        buffdb_query_result *res = NULL;
        if (!sql) return unrepresentable(c, "sql");
        pv = xmalloc(sizeof *pv * (np ? np : 1));
        memset(pv, 0, sizeof *pv * (np ? np : 1));
        for (j = 0; j < np; j++) {
            val *p = resolve(c, params->items[j]);
            switch (p->k) {
            case V_NULL: pv[j].kind = BUFFDB_VALUE_NULL; break;
            case V_INT: pv[j].kind = BUFFDB_VALUE_INTEGER; pv[j].integer = p->i; break;
            case V_REAL: pv[j].kind = BUFFDB_VALUE_REAL; pv[j].real = p->d; break;
            case V_BOOL: pv[j].kind = BUFFDB_VALUE_INTEGER; pv[j].integer = p->b; break;
            case V_BYTES: pv[j].kind = p->text ? BUFFDB_VALUE_TEXT : BUFFDB_VALUE_BLOB; pv[j].data = p->bytes; pv[j].len = p->len; break;
            default: break;
            }
        }
        st = note(c, ON(query, sql, pv, np, &res));
        if (!st) st = note(c, buffdb_query_result_row_count(res, &rows));
        if (!st) st = note(c, buffdb_query_result_column_count(res, &cols));
        if (!st) {
            val *l = v_list(rows);
            for (r2 = 0; r2 < rows && !st; r2++) {
                val *row = v_list(cols);
                for (c2 = 0; c2 < cols && !st; c2++) {
                    buffdb_value cell;
                    st = note(c, buffdb_query_result_value(res, r2, c2, &cell));
                    if (st) break;
                    switch (cell.kind) {
                    case BUFFDB_VALUE_INTEGER: v_push(row, v_int(cell.integer)); break;
                    case BUFFDB_VALUE_REAL: v_push(row, v_real(cell.real)); break;
                    case BUFFDB_VALUE_TEXT:
                        if (cell.data[cell.len] != 0) st = BUFFDB_INTERNAL, snprintf(c->why, sizeof c->why, "text not NUL-terminated");
                        v_push(row, v_bytes(cell.data, cell.len));
                        break;
                    case BUFFDB_VALUE_BLOB: v_push(row, v_bytes(cell.data, cell.len)); break;
                    default: v_push(row, v_null()); break;
                    }
                }
                v_push(l, row);
            }
            if (st) v_free(l); else *out = l;
        }
        buffdb_query_result_free(res);
        free(pv);
        free(sql);
        return st;
    }
    if (!strncmp(op, "model_", 6)) return model_op(c, s, t, out);
    snprintf(c->why, sizeof c->why, "unsupported op %s", op);
    return BUFFDB_INTERNAL;
}

static int run_steps(ctx *c, step *steps, size_t n, buffdb_txn *t, const char *where);

static int run_step(ctx *c, step *s, buffdb_txn *t, size_t idx, const char *where) {
    val *expect = NULL, *err = NULL, *save = NULL, *result = NULL;
    buffdb_status st;
    size_t j;
    int ok = 1;
    for (j = 0; j < s->nargs; j++) {
        if (!strcmp(s->names[j], "expect")) expect = resolve_copy(c, s->vals[j]);
        if (!strcmp(s->names[j], "error")) err = s->vals[j];
        if (!strcmp(s->names[j], "save")) save = s->vals[j];
    }
    c->why[0] = 0;
    if (!strcmp(s->op, "txn")) {
        buffdb_txn *tx = NULL;
        val *commit = arg(c, s, "commit");
        st = note(c, buffdb_begin(c->db, &tx));
        if (!st) {
            ok = run_steps(c, s->sub, s->nsub - s->nafter, tx, where);
            st = note(c, commit && commit->k == V_BOOL && commit->b ? buffdb_txn_commit(tx) : buffdb_txn_rollback(tx));
            /* the finished transaction's handle, not yet freed */
            if (ok) ok = run_steps(c, s->sub + (s->nsub - s->nafter), s->nafter, tx, where);
            buffdb_txn_free(tx);
            if (!ok) { v_free(expect); return 0; }
        }
    } else {
        st = do_op(c, s, t, &result);
    }
    if (err) {
        if (st == BUFFDB_OK) {
            printf("    %s step %zu (%s): expected %s, got success\n", where, idx, s->op, (char *)err->bytes);
            ok = 0;
        } else if (strcmp(buffdb_status_str((int)st), (char *)err->bytes) != 0) {
            printf("    %s step %zu (%s): expected %s, got %s\n", where, idx, s->op, (char *)err->bytes, c->why);
            ok = 0;
        }
    } else if (st != BUFFDB_OK) {
        printf("    %s step %zu (%s): failed: %s\n", where, idx, s->op, c->why);
        ok = 0;
    } else if (expect && !v_eq(expect, result)) {
        printf("    %s step %zu (%s): expected ", where, idx, s->op);
        v_print(stdout, expect);
        printf(", got ");
        v_print(stdout, result);
        printf("\n");
        ok = 0;
    }
    if (ok && save && result) var_set(c, (char *)save->bytes, result);
    v_free(result);
    v_free(expect);
    return ok;
}

static int run_steps(ctx *c, step *steps, size_t n, buffdb_txn *t, const char *where) {
    size_t j;
    for (j = 0; j < n; j++)
        if (!run_step(c, &steps[j], t, j + 1, where)) return 0;
    return 1;
}

/* How a case's database ops run (as tests/shared_cases.rs runs them). */
typedef enum {
    MODE_DB,       /* each on the database */
    MODE_COMMIT,   /* each run of them in a transaction, committed: the same results */
    MODE_ROLLBACK  /* in a transaction (the same results), rolled back (nothing visible
                    * afterwards), then again on the database */
} run_mode;

static const char *const MODE_NAMES[] = {"db", "txn commit", "txn rollback"};

/* Ops on the handle or its files, and `txn` (a transaction of its own): never inside one. */
static int is_handle_op(const step *s) {
    static const char *const ops[] = {"close", "reopen", "open", "write_file", "read_file", "txn"};
    size_t j;
    for (j = 0; j < sizeof ops / sizeof ops[0]; j++)
        if (!strcmp(s->op, ops[j])) return 1;
    return 0;
}

/* Everything the database holds, as the API shows it: every pair, every blob (id,
 * metadata, bytes), every kept stream version (path, version, bytes); or the status that
 * stopped the walk. */
static val *fingerprint(buffdb_db *db) {
    val *all = v_list(0), *part;
    buffdb_kv_cursor *kc = NULL;
    buffdb_search_cursor *sc = NULL;
    uint64_t ids[64], after = 0;
    size_t n = 0, j, m;
    const char *p;
    buffdb_status st;
    ctx scratch;
    memset(&scratch, 0, sizeof scratch);
    scratch.db = db;
    st = buffdb_scan(db, NULL, 0, NULL, 0, BUFFDB_NO_LIMIT, &kc);
    if (!st) st = cursor_list(&scratch, kc, 1, &part);
    buffdb_kv_cursor_free(kc);
    if (!st) v_append(all, part);
    while (!st) { /* blobs, a page of ids at a time */
        st = buffdb_blob_ids(db, after, ids, 64, &n);
        for (j = 0; j < n && !st; j++) {
            char *meta = NULL;
            uint8_t *data = NULL;
            size_t len = 0;
            val *b = v_list(3);
            st = buffdb_blob_metadata(db, ids[j], &meta);
            if (!st) st = buffdb_blob_get_alloc(db, ids[j], &data, &len);
            v_push(b, v_int((long long)ids[j]));
            v_push(b, meta ? v_bytes(meta, strlen(meta)) : v_null());
            v_push(b, v_bytes(data, len));
            buffdb_string_free(meta);
            buffdb_bytes_free(data, len);
            v_append(all, b);
            after = ids[j];
        }
        if (n < 64) break;
    }
    if (!st) st = buffdb_search(db, "", NULL, BUFFDB_NO_LIMIT, &sc);
    while (!st) { /* streams: every kept version of every path */
        buffdb_stream_info *infos = NULL;
        char *path;
        st = buffdb_search_next(sc, &p, &n);
        if (st || !p) break;
        path = xmalloc(n + 1);
        memcpy(path, p, n + 1);
        m = 0;
        st = buffdb_stream_versions(db, path, NULL, 0, &m);
        if (st == BUFFDB_BUFFER_TOO_SMALL) {
            infos = xmalloc(sizeof *infos * m);
            st = buffdb_stream_versions(db, path, infos, m, &m);
        }
        for (j = 0; j < m && !st; j++) {
            buffdb_reader *r = NULL;
            val *v = v_list(4), *data = NULL, *meta = NULL;
            st = buffdb_stream_open_version(db, path, infos[j].version, &r);
            if (!st) st = read_reader(&scratch, r, &data);
            if (!st) st = version_metadata(&scratch, NULL, path, &infos[j], &meta);
            buffdb_reader_free(r);
            v_push(v, v_bytes(path, strlen(path)));
            v_push(v, v_int((long long)infos[j].version));
            v_push(v, data ? data : v_null());
            v_push(v, meta ? meta : v_null());
            v_append(all, v);
        }
        free(infos);
        free(path);
    }
    buffdb_search_cursor_free(sc);
    if (!st) st = list_indexes(&scratch, NULL, &part);
    if (!st) v_append(all, part);
    if (!st) { /* every index entry */
        buffdb_query_result *res = NULL;
        size_t rows = 0, r2, c2;
        st = buffdb_query(db, "SELECT name, hex(value), hex(record) FROM index_entries ORDER BY 1, 2, 3", NULL, 0, &res);
        if (!st) st = buffdb_query_result_row_count(res, &rows);
        for (r2 = 0; r2 < rows && !st; r2++) {
            val *row = v_list(3);
            for (c2 = 0; c2 < 3 && !st; c2++) {
                buffdb_value cell;
                st = buffdb_query_result_value(res, r2, c2, &cell);
                if (!st) v_push(row, cell.kind == BUFFDB_VALUE_TEXT ? v_bytes(cell.data, cell.len) : v_null());
            }
            v_append(all, row);
        }
        buffdb_query_result_free(res);
    }
    if (st) {
        v_free(all);
        return v_bytes(buffdb_status_str((int)st), strlen(buffdb_status_str((int)st)));
    }
    return all;
}

/* A run of database ops (no handle op among them), as `mode` says. */
static int run_segment(ctx *c, step *steps, size_t n, run_mode mode, const char *where) {
    buffdb_txn *tx = NULL;
    val *before, *after;
    int ok;
    /* A handle that cannot begin (read-only, closed) has no transactions: the steps test
     * the database itself. */
    if (mode == MODE_DB || buffdb_begin(c->db, &tx) != BUFFDB_OK) return run_steps(c, steps, n, NULL, where);
    before = fingerprint(c->db);
    ok = run_steps(c, steps, n, tx, where);
    if (mode == MODE_COMMIT) {
        if (buffdb_txn_commit(tx) != BUFFDB_OK) {
            printf("    %s: commit after the steps failed: %s\n", where, buffdb_last_error_message());
            ok = 0;
        }
    } else {
        if (buffdb_txn_rollback(tx) != BUFFDB_OK) {
            printf("    %s: rollback after the steps failed: %s\n", where, buffdb_last_error_message());
            ok = 0;
        }
        after = fingerprint(c->db);
        if (!v_eq(before, after)) {
            printf("    %s: rolled back steps left changes: ", where);
            v_print(stdout, before);
            printf(" -> ");
            v_print(stdout, after);
            printf("\n");
            ok = 0;
        }
        v_free(after);
        /* The case goes on from the state the steps make. */
        if (ok) ok = run_steps(c, steps, n, NULL, where);
    }
    v_free(before);
    buffdb_txn_free(tx);
    return ok;
}

static int run_case(tcase *tc, const char *dir, int index, run_mode mode) {
    ctx c;
    size_t i, end, j;
    int ok = 1;
    char where[64], own_dir[3072];
    memset(&c, 0, sizeof c);
    /* a directory of its own: the files a case makes are not seen by its next run */
    snprintf(own_dir, sizeof own_dir, "%s/case-%d-%d%s", dir, index, (int)mode, g_case_key ? "-encrypted" : "");
    if (mkdir(own_dir, 0700) != 0) {
        printf("    cannot make %s\n", own_dir);
        return 0;
    }
    c.dir = own_dir;
    snprintf(c.file, sizeof c.file, "%s/case.bdb", own_dir);
    if (open_db(&c, c.file, tc->opt_names, tc->opt_vals, tc->nopts, &c.db) != BUFFDB_OK) {
        printf("    open failed: %s\n", c.why);
        ok = 0;
    }
    for (i = 0; ok && i < tc->nsteps; i = end) {
        if (is_handle_op(&tc->steps[i])) {
            snprintf(where, sizeof where, "(%s)", MODE_NAMES[mode]);
            ok = run_step(&c, &tc->steps[i], NULL, i + 1, where);
            end = i + 1;
            continue;
        }
        for (end = i; end < tc->nsteps && !is_handle_op(&tc->steps[end]); end++) {
        }
        snprintf(where, sizeof where, "(%s, the steps from %zu)", MODE_NAMES[mode], i + 1);
        ok = run_segment(&c, &tc->steps[i], end - i, mode, where);
    }
    if (c.db && buffdb_close(c.db) != BUFFDB_OK) {
        printf("    close failed: %s\n", buffdb_last_error_message());
        ok = 0;
    }
    for (j = 0; j < c.nvars; j++) { free(c.var_names[j]); v_free(c.var_vals[j]); }
    free(c.var_names);
    free(c.var_vals);
    return ok;
}

/* Reads the token file and runs every case; returns through the harness counters. */
void run_shared_cases(const char *token_file, const char *dir, const unsigned char *key) {
    FILE *f = fopen(token_file, "rb");
    long size;
    tcase *cases = NULL;
    size_t ncases = 0, j, m;
    char *t;
    if (!f) { fprintf(stderr, "cannot open %s\n", token_file); harness_fail("shared cases", "no token file"); return; }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    tok_buf = xmalloc((size_t)size + 1);
    tok_len = fread(tok_buf, 1, (size_t)size, f);
    tok_buf[tok_len] = 0;
    tok_pos = 0;
    fclose(f);
    g_case_key = key;
    while ((t = tok()) != NULL) {
        if (!strcmp(t, "CASE")) {
            tcase *tc;
            char *hex = tok();
            size_t hl = strlen(hex), nb = hl / 2 < 255 ? hl / 2 : 255;
            cases = realloc(cases, sizeof *cases * (ncases + 1));
            tc = &cases[ncases++];
            memset(tc, 0, sizeof *tc);
            for (j = 0; j < nb; j++) tc->name[j] = (char)(hexval(hex[2 * j]) * 16 + hexval(hex[2 * j + 1]));
            tc->name[nb] = 0;
            tc->nopts = (size_t)strtoull(tok(), NULL, 10);
            tc->opt_names = xmalloc(sizeof(char *) * (tc->nopts ? tc->nopts : 1));
            tc->opt_vals = xmalloc(sizeof(val *) * (tc->nopts ? tc->nopts : 1));
            for (j = 0; j < tc->nopts; j++) { tc->opt_names[j] = tok(); tc->opt_vals[j] = parse_val(); }
        } else if (!strcmp(t, "STEP")) {
            tcase *tc = &cases[ncases - 1];
            if (tc->nsteps == tc->cap) { tc->cap = tc->cap ? tc->cap * 2 : 16; tc->steps = realloc(tc->steps, sizeof(step) * tc->cap); }
            parse_step(&tc->steps[tc->nsteps++]);
        } else if (!strcmp(t, "END")) {
            /* nothing */
        } else {
            fprintf(stderr, "cases: unexpected token %s\n", t);
            exit(2);
        }
    }
    for (j = 0; j < ncases; j++) {
        run_mode mode;
        for (mode = MODE_DB; mode <= MODE_ROLLBACK; mode++) {
            char label[320];
            snprintf(label, sizeof label, "case: %s (%s%s)", cases[j].name, MODE_NAMES[mode], key ? ", encrypted" : "");
            if (run_case(&cases[j], dir, (int)j, mode)) harness_pass(label); else harness_fail(label, "see above");
        }
    }
    for (j = 0; j < ncases; j++) {
        for (m = 0; m < cases[j].nsteps; m++) free_step(&cases[j].steps[m]);
        for (m = 0; m < cases[j].nopts; m++) v_free(cases[j].opt_vals[m]);
        free(cases[j].steps);
        free(cases[j].opt_names);
        free(cases[j].opt_vals);
    }
    free(cases);
    free(tok_buf);
}
