
/*
 * The Redis replies the module interprets itself
 * (src/ngx_http_totp_store.c, included): the HMGET of a user record
 * (ngx_http_totp_store_fetched() and the static parse_record(), number()
 * and hex() under it), and the replies to the enrollment and counting
 * scripts (begun(), integer(), count()).
 *
 * Input: a reply tree, read from the bytes (see build_reply()), given to
 * every handler, then a string and a bound given to number() and hex().
 * Properties:
 *
 *  - every handler calls done exactly once;
 *  - the HMGET: OK only for an array of six elements that are all nil
 *    (not enrolled) or all strings forming a valid record, and maybe a
 *    seventh, a session's entry, a string (copied) or nil; a record
 *    marked enrolled has digits 6..8, period 1..3600, a valid algorithm
 *    named case-insensitively, epoch decoded from exactly 32 hex chars,
 *    last a decimal number that fits 64 bits, and a copy of the secret;
 *    any other shape is an error with enrolled still 0, and the result
 *    equals that of an independent reader written here;
 *  - begun(): an integer -3..0 is that result with { 0, NULL }, a
 *    non-empty string a copy with result 1, anything else an error;
 *    integer(): an integer -1..1;
 *    count(): an integer -2..10 years of seconds;
 *  - number() and hex() agree with independent definitions.
 */


#include "../../src/ngx_http_totp_store.c"

#include "ngx_stubs.h"
#include "fuzz_common.h"


/* what the rest of ngx_http_totp_store.c needs and the harness never runs */

ngx_module_t  ngx_http_totp_module;


ngx_str_t *
ngx_http_totp_log_escape(ngx_pool_t *pool, ngx_str_t *value)
{
    return value;
}


ngx_int_t
ngx_http_totp_redis_command(ngx_pool_t *pool, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data)
{
    FUZZ_UNREACHABLE("ngx_http_totp_redis_command");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_totp_redis_eval(ngx_pool_t *pool,
    ngx_http_totp_redis_script_t *script, ngx_uint_t nkeys, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data)
{
    FUZZ_UNREACHABLE("ngx_http_totp_redis_eval");
    return NGX_ERROR;
}


/* no totp_redis_replicas here: a consumed code is answered at once */

ngx_int_t
ngx_http_totp_redis_wait(ngx_pool_t *pool,
    ngx_http_totp_redis_handler_pt handler, void *data)
{
    return NGX_DECLINED;
}


u_char *
ngx_sprintf(u_char *buf, const char *fmt, ...)
{
    FUZZ_UNREACHABLE("ngx_sprintf");
    return buf;
}


u_char *
ngx_hex_dump(u_char *dst, u_char *src, size_t len)
{
    FUZZ_UNREACHABLE("ngx_hex_dump");
    return dst;
}


u_char *
ngx_snprintf(u_char *buf, size_t max, const char *fmt, ...)
{
    FUZZ_UNREACHABLE("ngx_snprintf");
    return buf;
}


/* a reader over the input: bytes past the end read as 0 */

typedef struct {
    const uint8_t  *p;
    size_t          left;
} reader_t;


static uint8_t
get8(reader_t *r)
{
    if (r->left == 0) {
        return 0;
    }

    r->left--;
    return *r->p++;
}


/*
 * A node: one byte of type, then per type:
 *
 *     string, status, error   one byte of length, then the bytes (as many
 *                             as are left)
 *     integer                 8 bytes, big-endian
 *     array                   one byte: bit 7 set gives 6 elements (the
 *                             HMGET's count), else the low 3 bits; then
 *                             the elements (nested two deep at most)
 *     nil, others             nothing
 *
 * The type byte: 0-5 string (the common case), 6 nil, 7 integer, 8 error,
 * 9 array, 10 status, 11-13 types this hiredis does not know (7, 8, 12),
 * 14-15 nil, and at the top level only, 16 and up a NULL reply
 * (connection lost).
 */

static redisReply *
build_reply(reader_t *r, int depth)
{
    size_t       i, len;
    uint8_t      t;
    uint64_t     v;
    redisReply  *rep;

    t = get8(r) % (depth == 0 ? 18 : 16);

    if (t >= 16) {
        return NULL;
    }

    rep = fuzz_alloc(sizeof(redisReply));
    memset(rep, 0, sizeof(redisReply));

    switch (t) {

    case 0: case 1: case 2: case 3: case 4: case 5:
    case 8: case 10:
        rep->type = (t == 8) ? REDIS_REPLY_ERROR
                    : (t == 10) ? REDIS_REPLY_STATUS : REDIS_REPLY_STRING;

        len = get8(r);
        if (len > r->left) {
            len = r->left;
        }

        /* exactly len bytes, no NUL after: ASan sees a read past them */
        rep->str = fuzz_alloc(len);
        memcpy(rep->str, r->p, len);
        rep->len = len;
        r->p += len;
        r->left -= len;
        break;

    case 7:
        rep->type = REDIS_REPLY_INTEGER;
        v = 0;
        for (i = 0; i < 8; i++) {
            v = v << 8 | get8(r);
        }
        rep->integer = (long long) v;
        break;

    case 9:
        rep->type = REDIS_REPLY_ARRAY;
        len = get8(r);
        rep->elements = (len & 0x80) ? 6 : (len & 7);
        rep->element = fuzz_alloc(rep->elements * sizeof(redisReply *));

        for (i = 0; i < rep->elements; i++) {
            rep->element[i] = (depth < 2) ? build_reply(r, depth + 1)
                                          : NULL;
            if (rep->element[i] == NULL) {
                /* hiredis never puts a NULL in an array */
                rep->element[i] = fuzz_alloc(sizeof(redisReply));
                memset(rep->element[i], 0, sizeof(redisReply));
                rep->element[i]->type = REDIS_REPLY_NIL;
            }
        }
        break;

    case 11:
        rep->type = 7;          /* RESP3 double */
        break;

    case 12:
        rep->type = 8;          /* RESP3 bool */
        break;

    case 13:
        rep->type = 12;         /* RESP3 push */
        break;

    default:
        rep->type = REDIS_REPLY_NIL;
        break;
    }

    return rep;
}


/* the independent reader */

static int
ref_number(const char *s, size_t len, uint64_t max, uint64_t *n)
{
    size_t             i;
    unsigned __int128  v;

    if (len == 0 || len > 20) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (unsigned) (s[i] - '0');
    }

    if (v > max) {
        return -1;
    }

    *n = (uint64_t) v;

    return 0;
}


static int
ref_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}


static int
ref_alg(const char *s, size_t len)
{
    size_t       i, k;
    static const char  *algs[] = { "sha1", "sha256", "sha512" };

    for (k = 0; k < 3; k++) {
        if (strlen(algs[k]) != len) {
            continue;
        }

        for (i = 0; i < len; i++) {
            char  c = s[i];

            if (c >= 'A' && c <= 'Z') {
                c = (char) (c + 32);
            }

            if (c != algs[k][i]) {
                break;
            }
        }

        if (i == len) {
            return (int) k;
        }
    }

    return -1;
}


/* -1 error, 0 not enrolled, 1 enrolled with *rec filled */

static int
ref_record(redisReply *reply, ngx_http_totp_record_t *rec)
{
    int          alg, strings, nils, hi, lo;
    size_t       i;
    uint64_t     n;
    redisReply **e;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || (reply->elements != 6 && reply->elements != 7))
    {
        return -1;
    }

    e = reply->element;

    /* a session's entry, asked with the record: a string or nil */

    if (reply->elements == 7 && e[6]->type != REDIS_REPLY_STRING
        && e[6]->type != REDIS_REPLY_NIL)
    {
        return -1;
    }

    strings = 0;
    nils = 0;

    for (i = 0; i < 6; i++) {
        strings += e[i]->type == REDIS_REPLY_STRING;
        nils += e[i]->type == REDIS_REPLY_NIL;
    }

    if (nils == 6) {
        return 0;
    }

    if (strings != 6) {
        return -1;
    }

    memset(rec, 0, sizeof(*rec));

    alg = ref_alg(e[1]->str, e[1]->len);
    if (alg < 0) {
        return -1;
    }

    rec->algorithm = (totp_alg_t) alg;

    if (ref_number(e[2]->str, e[2]->len, 8, &n) != 0 || n < 6) {
        return -1;
    }

    rec->digits = n;

    if (ref_number(e[3]->str, e[3]->len, 3600, &n) != 0 || n < 1) {
        return -1;
    }

    rec->period = (time_t) n;

    if (e[4]->len != 32) {
        return -1;
    }

    for (i = 0; i < 16; i++) {
        hi = ref_hexval(e[4]->str[2 * i]);
        lo = ref_hexval(e[4]->str[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        rec->epoch[i] = (u_char) (hi << 4 | lo);
    }

    if (ref_number(e[5]->str, e[5]->len, UINT64_MAX, &rec->last) != 0) {
        return -1;
    }

    rec->enrolled = 1;

    return 1;
}


static ngx_uint_t  done_calls;
static ngx_int_t   done_rc;


static void
done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    done_calls++;
    done_rc = rc;
}


static ngx_http_request_t     req;
static ngx_connection_t       conn;
static ngx_log_t              fuzz_log;


static void
op_init(ngx_http_totp_store_op_t *op)
{
    memset(op, 0, sizeof(*op));
    op->request = &req;
    op->done = done;
    op->name = "fuzz";
    done_calls = 0;
    done_rc = 12345;
}


static void
check_fetched(redisReply *reply)
{
    int                        ref;
    ngx_http_totp_store_op_t   op;
    ngx_http_totp_record_t     rec, want;

    op_init(&op);
    memset(&rec, 0, sizeof(rec));
    op.rec = &rec;

    ngx_http_totp_store_fetched(&op, reply);

    CHECK(done_calls == 1);
    CHECK(done_rc == NGX_OK || done_rc == NGX_ERROR);

    ref = ref_record(reply, &want);

    if (done_rc == NGX_ERROR) {
        CHECK(ref == -1);
        CHECK(rec.enrolled == 0);
        return;
    }

    CHECK(ref >= 0);
    CHECK(rec.enrolled == (ngx_uint_t) ref);

    if (reply->elements == 7 && reply->element[6]->type == REDIS_REPLY_STRING)
    {
        CHECK(rec.session.len == reply->element[6]->len);
        CHECK(rec.session.data != NULL
              && memcmp(rec.session.data, reply->element[6]->str,
                        rec.session.len) == 0);

    } else {
        CHECK(rec.session.len == 0);
    }

    if (!rec.enrolled) {
        return;
    }

    CHECK(rec.digits >= TOTP_DIGITS_MIN && rec.digits <= TOTP_DIGITS_MAX);
    CHECK(rec.period >= 1 && rec.period <= 3600);
    CHECK(totp_alg_name(rec.algorithm) != NULL);
    CHECK(reply->element[4]->len == 2 * TOTP_EPOCH_LEN);

    CHECK(rec.algorithm == want.algorithm);
    CHECK(rec.digits == want.digits);
    CHECK(rec.period == want.period);
    CHECK(memcmp(rec.epoch, want.epoch, TOTP_EPOCH_LEN) == 0);
    CHECK(rec.last == want.last);

    CHECK(rec.secret.len == reply->element[0]->len);
    CHECK(rec.secret.data != NULL);
    CHECK(rec.secret.len == 0
          || (memcmp(rec.secret.data, reply->element[0]->str,
                     rec.secret.len) == 0
              && rec.secret.data != (u_char *) reply->element[0]->str));
}


static void
check_scripts(redisReply *reply)
{
    ngx_int_t                 result;
    ngx_str_t                 pending;
    ngx_http_totp_store_op_t  op;

    /* enroll_begin's script: why there is none, or the pending secret */

    op_init(&op);
    pending.data = (u_char *) "junk";
    pending.len = 4;
    op.pending = &pending;
    result = 777;
    op.result = &result;

    ngx_http_totp_store_begun(&op, reply);

    CHECK(done_calls == 1);

    if (reply && reply->type == REDIS_REPLY_INTEGER
        && reply->integer >= -3 && reply->integer <= 0)
    {
        CHECK(done_rc == NGX_OK && result == reply->integer);
        CHECK(pending.data == NULL && pending.len == 0);

    } else if (reply && reply->type == REDIS_REPLY_STRING && reply->len) {
        CHECK(done_rc == NGX_OK && result == 1);
        CHECK(pending.data != NULL && pending.len == reply->len);
        CHECK(memcmp(pending.data, reply->str, reply->len) == 0
              && pending.data != (u_char *) reply->str);

    } else {
        CHECK(done_rc == NGX_ERROR);
    }

    /* the scripts that answer -1, 0 or 1 */

    op_init(&op);
    result = 777;
    op.result = &result;

    ngx_http_totp_store_integer(&op, reply);

    CHECK(done_calls == 1);

    if (reply && reply->type == REDIS_REPLY_INTEGER
        && reply->integer >= -1 && reply->integer <= 1)
    {
        CHECK(done_rc == NGX_OK && result == reply->integer);

    } else {
        CHECK(done_rc == NGX_ERROR && result == 777);
    }

    /* those that answer a count or seconds */

    op_init(&op);
    result = 777;
    op.result = &result;

    ngx_http_totp_store_count(&op, reply);

    CHECK(done_calls == 1);

    if (reply && reply->type == REDIS_REPLY_INTEGER
        && reply->integer >= -2 && reply->integer <= 10 * 365 * 86400)
    {
        CHECK(done_rc == NGX_OK && result == reply->integer);

    } else {
        CHECK(done_rc == NGX_ERROR && result == 777);
    }
}


static void
check_number_hex(reader_t *r)
{
    int          ok, hi, lo;
    size_t       i, len;
    uint8_t      sel;
    uint64_t     max, n, want;
    ngx_int_t    rc;
    redisReply   rep;
    u_char       out[128], *src;

    sel = get8(r);
    len = get8(r) % 32;
    if (len > r->left) {
        len = r->left;
    }

    src = fuzz_alloc(len);
    memcpy(src, r->p, len);
    r->p += len;
    r->left -= len;

    switch (sel % 5) {
    case 0:  max = TOTP_DIGITS_MAX; break;
    case 1:  max = 3600; break;
    case 2:  max = UINT64_MAX; break;
    case 3:  max = UINT64_MAX - 1; break;
    default:
        max = 0;
        for (i = 0; i < 8; i++) {
            max = max << 8 | get8(r);
        }
        break;
    }

    memset(&rep, 0, sizeof(rep));
    rep.type = REDIS_REPLY_STRING;
    rep.str = (char *) src;
    rep.len = len;

    n = 0;
    rc = ngx_http_totp_store_number(&rep, max, &n);
    ok = ref_number((char *) src, len, max, &want) == 0;

    CHECK((rc == NGX_OK) == ok);
    CHECK(!ok || n == want);
    CHECK(!ok || n <= max);

    /* hex: pairs of hex digits; an odd last character is not read */

    memset(out, 0xee, sizeof(out));
    rc = ngx_http_totp_store_hex(out, src, len);

    ok = 1;
    for (i = 0; i + 1 < len; i += 2) {
        hi = ref_hexval((char) src[i]);
        lo = ref_hexval((char) src[i + 1]);

        if (hi < 0 || lo < 0) {
            ok = 0;
            break;
        }

        if (rc == NGX_OK) {
            CHECK(out[i / 2] == (u_char) (hi << 4 | lo));
        }
    }

    CHECK((rc == NGX_OK) == ok);
    CHECK(out[len / 2] == 0xee);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader_t     r;
    redisReply  *reply;

    conn.log = &fuzz_log;
    req.connection = &conn;

    r.p = data;
    r.left = size;

    reply = build_reply(&r, 0);

    check_fetched(reply);
    check_scripts(reply);
    check_number_hex(&r);

    fuzz_arena_reset();

    return 0;
}
