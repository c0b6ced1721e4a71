
/*
 * User state in Redis.  Every key of user NAME begins with
 * PREFIX "user:{" NAME "}", so that ops find and delete it with one
 * command and Redis Cluster keeps it in one slot.
 *
 * Whatever decides between two racing requests runs inside Redis as one
 * script: two workers, or two nginx machines, can never both win.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_log.h"
#include "ngx_http_totp_redis.h"
#include "ngx_http_totp_store.h"


/* a user's keys, in the order the scripts take them */
enum {
    NGX_HTTP_TOTP_KEY_USER = 0,
    NGX_HTTP_TOTP_KEY_ENROLL,
    NGX_HTTP_TOTP_KEY_RECOVERY,
    NGX_HTTP_TOTP_KEY_FAILURES,
    NGX_HTTP_TOTP_KEY_SESSIONS,
    NGX_HTTP_TOTP_KEY_INVITE,
    NGX_HTTP_TOTP_KEY_SHOWN,
    NGX_HTTP_TOTP_KEYS
};


typedef struct {
    ngx_http_request_t          *request;
    ngx_http_totp_store_pt       done;
    void                        *data;
    const char                  *name;        /* for the debug log */
    ngx_http_totp_record_t      *rec;
    ngx_str_t                   *pending;
    ngx_int_t                   *result;
    ngx_http_totp_tally_t       *tally;

    /* a code it consumed is answered once totp_redis_replicas hold it */
    unsigned                     consumes:1;
} ngx_http_totp_store_op_t;


static ngx_int_t ngx_http_totp_store_keys(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_str_t *keys);
static ngx_int_t ngx_http_totp_store_counters(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_http_totp_tally_t *tally,
    ngx_str_t *keys);
static u_char *ngx_http_totp_store_escape(u_char *dst, ngx_str_t *src,
    ngx_uint_t address);
static ngx_http_totp_store_op_t *ngx_http_totp_store_op(
    ngx_http_request_t *r, ngx_str_t *keyspace, ngx_str_t *user,
    ngx_str_t *keys, ngx_http_totp_store_pt done, void *data,
    const char *name);
static void ngx_http_totp_store_done(ngx_http_totp_store_op_t *op,
    ngx_int_t rc);
static void ngx_http_totp_store_consumed(ngx_http_totp_store_op_t *op);
static void ngx_http_totp_store_replicated(void *data, redisReply *reply);
static void ngx_http_totp_store_fetched(void *data, redisReply *reply);
static ngx_int_t ngx_http_totp_store_parse_record(ngx_http_request_t *r,
    redisReply *reply, ngx_http_totp_record_t *rec);
static ngx_int_t ngx_http_totp_store_number(redisReply *reply,
    uint64_t max, uint64_t *n);
static ngx_int_t ngx_http_totp_store_hex(u_char *dst, u_char *src,
    size_t len);
static size_t ngx_http_totp_store_head(u_char *dst,
    ngx_http_totp_pending_t *who);
static void ngx_http_totp_store_begun(void *data, redisReply *reply);
static void ngx_http_totp_store_integer(void *data, redisReply *reply);
static void ngx_http_totp_store_confirmed(void *data, redisReply *reply);
static void ngx_http_totp_store_count(void *data, redisReply *reply);
static void ngx_http_totp_store_summed(void *data, redisReply *reply);
static void ngx_http_totp_store_counted(void *data, redisReply *reply);
static void ngx_http_totp_store_settled(void *data, redisReply *reply);
static void ngx_http_totp_store_number_arg(ngx_str_t *arg, u_char *buf,
    ngx_uint_t n);
static void ngx_http_totp_store_failed(ngx_http_totp_store_op_t *op,
    redisReply *reply, const char *what);


/* the confirm script's keys and arguments before the recovery codes */
#define NGX_HTTP_TOTP_STORE_CONFIRM_ARGS  16


/* a pending enrollment's head: owner "." base "." */
#define NGX_HTTP_TOTP_STORE_HEAD_LEN                                         \
    (2 * TOTP_NONCE_LEN + 2 * TOTP_EPOCH_LEN + 2)


/* the enrollment's fields, in the order the fetch script returns them */
#define NGX_HTTP_TOTP_FIELDS  6


/*
 * KEYS: user, sessions; ARGV: a session's field or "".  The enrollment,
 * and that session's entry (nil when it has none): one round trip.
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_fetch_script =
    ngx_http_totp_redis_script(
        "local v = redis.call('HMGET', KEYS[1], 'secret', 'algorithm', "
        "'digits', 'period', 'epoch', 'last') "
        "if ARGV[1] ~= '' then "
        "v[7] = redis.call('HGET', KEYS[2], ARGV[1]) end "
        "return v");


/*
 * KEYS: user, sessions; ARGV: epoch, now, ttl, then fields and values.
 * Sessions and trusted browsers are registered only for the enrollment
 * they were made for, and entries past their expiry go on the way; the
 * hash lives as long as its longest entry.
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_sessions_script =
    ngx_http_totp_redis_script(
        "if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then "
        "return 0 end "
        "local now = tonumber(ARGV[2]) "
        "local all = redis.call('HGETALL', KEYS[2]) "
        "for i = 1, #all, 2 do "
        "local e = tonumber(string.match(all[i + 1], '^%d+')) "
        "if not e or e <= now then "
        "redis.call('HDEL', KEYS[2], all[i]) end end "
        "redis.call('HSET', KEYS[2], unpack(ARGV, 4)) "
        "if redis.call('TTL', KEYS[2]) < tonumber(ARGV[3]) then "
        "redis.call('EXPIRE', KEYS[2], ARGV[3]) end "
        "return 1");


/*
 * A pending enrollment is stored as HEAD and the pending secret, HEAD
 * saying whose it is and what it starts from (see
 * ngx_http_totp_store_head()).  The same test opens both scripts: a first
 * enrollment ("-") only while NAME has none, a change only while NAME's
 * enrollment is still the one it started from.
 */

#define NGX_HTTP_TOTP_STORE_PENDING_BASE                                     \
    "local e = redis.call('HGET', KEYS[1], 'epoch') "                        \
    "if (ARGV[2] == '-' and e) or (ARGV[2] ~= '-' and e ~= ARGV[2]) then "   \
    "return 0 end "


/*
 * KEYS: user, enroll, invite; ARGV: head, base, candidate or "", ttl,
 * invitation or "".  This browser's pending secret, or candidate, which
 * ends any other browser's; or what stands in the way.
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_begin_script =
    ngx_http_totp_redis_script(
        NGX_HTTP_TOTP_STORE_PENDING_BASE
        "if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[5] then "
        "return -3 end "
        "local p = redis.call('GET', KEYS[2]) "
        "if p and string.sub(p, 1, #ARGV[1]) == ARGV[1] then "
        "return string.sub(p, #ARGV[1] + 1) end "
        "if ARGV[3] == '' then if p then return -2 end return -1 end "
        "redis.call('SET', KEYS[2], ARGV[1] .. ARGV[3], 'EX', ARGV[4]) "
        "return ARGV[3]");


/*
 * KEYS: user, enroll, recovery, invite, sessions; ARGV: head, base,
 * pending, secret, algorithm, digits, period, epoch, last, created,
 * invitation or "", then the recovery codes' hashes of a first
 * enrollment, which replace any older ones.  A change keeps the recovery
 * codes, and ends every session and trusted browser of the old device
 * (their epoch is gone: the entries go too).
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_confirm_script =
    ngx_http_totp_redis_script(
        NGX_HTTP_TOTP_STORE_PENDING_BASE
        "local p = redis.call('GET', KEYS[2]) "
        "if not p then return -1 end "
        "if p ~= ARGV[1] .. ARGV[3] then return -2 end "
        "if ARGV[11] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[11] then "
        "return -3 end "
        "redis.call('HSET', KEYS[1], 'secret', ARGV[4], "
        "'algorithm', ARGV[5], 'digits', ARGV[6], 'period', ARGV[7], "
        "'epoch', ARGV[8], 'last', ARGV[9], 'created', ARGV[10]) "
        "redis.call('DEL', KEYS[2], KEYS[4], KEYS[5]) "
        "if ARGV[2] == '-' then redis.call('DEL', KEYS[3]) "
        "if #ARGV > 11 then "
        "redis.call('SADD', KEYS[3], unpack(ARGV, 12)) end end "
        "return 1");


/* KEYS: invite; ARGV: the invitation's id.  1 while it is open. */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_invite_script =
    ngx_http_totp_redis_script(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end "
        "return 0");


/*
 * KEYS: user; ARGV: epoch, step, resealed secret or "".
 * Steps are compared as Lua numbers: exact up to 2^53, centuries beyond
 * any clock at 1 s steps.
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_accept_script =
    ngx_http_totp_redis_script(
        "local v = redis.call('HMGET', KEYS[1], 'epoch', 'last') "
        "if v[1] ~= ARGV[1] then return 0 end "
        "if v[2] and tonumber(v[2]) >= tonumber(ARGV[2]) then "
        "return -1 end "
        "redis.call('HSET', KEYS[1], 'last', ARGV[2]) "
        "if ARGV[3] ~= '' then "
        "redis.call('HSET', KEYS[1], 'secret', ARGV[3]) end "
        "return 1");


/*
 * Failure counters, each a hash: "n" the failures in its window (the key's
 * TTL), "locked" once n reached its limit.  A lock lasts the lockout, or
 * to the end of the window if that is later: the count is never started
 * afresh before its window ends, so a limit allows n failures a window
 * at most.  A user's from every client (KEYS[1]), a user's from one
 * client, "the pair" (KEYS[2]), a trusted browser's (KEYS[3]), a client's
 * with every user (KEYS[4]).  ARGV[1] is totp_lockout.
 *
 * held: the seconds k still holds at limit n, also while the attempts
 * that reached n are being checked (the lock is for them to set); a lock
 * in its last second holds for one more.  A lock that lost its TTL gets
 * one back rather than lasting forever.
 */

#define NGX_HTTP_TOTP_STORE_COUNTERS                                         \
    "local lockout = tonumber(ARGV[1]) "                                     \
    "local function held(k, n) "                                             \
    "local v = redis.call('HMGET', k, 'n', 'locked') "                       \
    "if not v[2] and tonumber(v[1] or '0') < n then return 0 end "           \
    "local t = redis.call('TTL', k) "                                        \
    "if t < 0 then redis.call('EXPIRE', k, lockout) return lockout end "     \
    "if v[2] then return math.max(t, 1) end "                                \
    "return math.min(t, lockout) end "                                       \
    "local function count(k, w) "                                            \
    "if redis.call('HINCRBY', k, 'n', 1) == 1 "                              \
    "or redis.call('TTL', k) < 0 then redis.call('EXPIRE', k, w) end end "   \
    "local function back(k) "                                                \
    "if redis.call('HINCRBY', k, 'n', -1) <= 0 "                             \
    "and redis.call('HEXISTS', k, 'locked') == 0 then "                      \
    "redis.call('DEL', k) end end "


/*
 * Before a password or a code is checked.  KEYS: the counters, user,
 * sessions; ARGV: lockout, pair limit and window, user limit and window,
 * client limit (0: not counted) and window, the trust cookie's epoch or
 * "", its field, how long a trust lasts.  Returns the seconds a lock
 * still lasts, or counts the attempt as a failure in advance and returns
 * 0, -1 as a trusted browser: a burst of parallel guesses is counted
 * before any of them is judged, so none gets past a limit.  Only a
 * browser still trusted for the user's current enrollment, and whose own
 * failures are below the pair limit, passes every lock; its failures
 * count for the user, not for its client, and as long as the trust
 * lasts: no window gives them back.
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_attempt_script =
    ngx_http_totp_redis_script(
        NGX_HTTP_TOTP_STORE_COUNTERS
        "if ARGV[8] ~= '' "
        "and redis.call('HGET', KEYS[5], 'epoch') == ARGV[8] "
        "and redis.call('HEXISTS', KEYS[6], ARGV[9]) == 1 "
        "and held(KEYS[3], tonumber(ARGV[2])) == 0 then "
        "count(KEYS[3], ARGV[10]) count(KEYS[1], ARGV[5]) return -1 end "
        "local ip = tonumber(ARGV[6]) "
        "local t = math.max(held(KEYS[1], tonumber(ARGV[4])), "
        "held(KEYS[2], tonumber(ARGV[2]))) "
        "if ip > 0 then t = math.max(t, held(KEYS[4], ip)) end "
        "if t > 0 then return t end "
        "count(KEYS[2], ARGV[3]) count(KEYS[1], ARGV[5]) "
        "if ip > 0 then count(KEYS[4], ARGV[7]) end "
        "return 0");


/*
 * After the check.  KEYS: the counters, sessions; ARGV: lockout,
 * outcome, "1" for a trusted browser, pair, user and client limits
 * (client 0: not counted), the trust cookie's field.  A success gives the
 * attempt's count back; "pass" clears the pair's, or the trusted
 * browser's, never the user's: failures elsewhere stay counted.  A
 * failure keeps its count and locks what reached its limit; a trusted
 * browser at the pair limit is trusted no more.  Returns what the
 * failure locked, what holds now (NGX_HTTP_TOTP_LOCK_* bits), the tries
 * left under the smallest limit that holds the browser, and the seconds
 * the longest lock that holds still lasts.
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_settle_script =
    ngx_http_totp_redis_script(
        NGX_HTTP_TOTP_STORE_COUNTERS
        "local trusted, ip = ARGV[3] ~= '', tonumber(ARGV[6]) "
        "if ARGV[2] ~= 'fail' then "
        "local own = trusted and KEYS[3] or KEYS[2] "
        "if ARGV[2] == 'pass' then redis.call('DEL', own) "
        "else back(own) end "
        "if not trusted and ip > 0 then back(KEYS[4]) end "
        "back(KEYS[1]) return {0, 0, 0, 0} end "
        "local new, hold, left, wait = 0, 0, 1000000, 0 "
        "local function limit(bit, k, n) "
        "local v = redis.call('HMGET', k, 'n', 'locked') "
        "local c = tonumber(v[1] or '0') "
        "if not v[2] and c >= n then "
        "redis.call('HSET', k, 'locked', '1') "
        "if redis.call('TTL', k) < lockout then "
        "redis.call('EXPIRE', k, lockout) end "
        "new = new + bit v[2] = '1' end "
        "if v[2] then hold = hold + bit "
        "wait = math.max(wait, redis.call('TTL', k), 1) end "
        "return n - c end "
        "if trusted then "
        "local c = tonumber(redis.call('HGET', KEYS[3], 'n') or '0') "
        "left = tonumber(ARGV[4]) - c "
        "if left <= 0 then redis.call('HDEL', KEYS[5], ARGV[7]) "
        "redis.call('DEL', KEYS[3]) new, hold = 8, 8 end "
        "limit(2, KEYS[1], tonumber(ARGV[5])) "
        "else "
        "left = math.min(limit(1, KEYS[2], tonumber(ARGV[4])), "
        "limit(2, KEYS[1], tonumber(ARGV[5]))) "
        "if ip > 0 then left = math.min(left, limit(4, KEYS[4], ip)) end "
        "end "
        "return {new, hold, math.max(left, 0), wait}");


/*
 * KEYS: user, recovery; ARGV: the code's hash under each configured key.
 * Returns the codes left after removing it, -1 for no such code, -2 when
 * the user is not enrolled (an ops reset left the set behind).
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_recovery_script =
    ngx_http_totp_redis_script(
        "if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end "
        "if redis.call('SREM', KEYS[2], unpack(ARGV)) == 0 then "
        "return -1 end "
        "return redis.call('SCARD', KEYS[2])");


/*
 * KEYS: user, recovery, shown.  When the user enrolled, the codes left,
 * and the set last shown while it may be shown again ("" when not).
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_summary_script =
    ngx_http_totp_redis_script(
        "local c = tonumber(redis.call('HGET', KEYS[1], 'created')) "
        "return {c and math.floor(c) or 0, redis.call('SCARD', KEYS[2]), "
        "redis.call('GET', KEYS[3]) or ''}");


/*
 * KEYS: shown; ARGV: the sealed set and its seconds, or "", "0" and the
 * set to forget: only that one, not a newer set another session keeps.
 */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_shown_script =
    ngx_http_totp_redis_script(
        "if ARGV[1] == '' then "
        "if redis.call('GET', KEYS[1]) ~= ARGV[3] then return 0 end "
        "return redis.call('DEL', KEYS[1]) end "
        "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
        "return 1");


/* KEYS: user, recovery; ARGV: epoch, then the new codes' hashes */

static ngx_http_totp_redis_script_t  ngx_http_totp_store_codes_script =
    ngx_http_totp_redis_script(
        "if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then "
        "return 0 end "
        "redis.call('DEL', KEYS[2]) "
        "if #ARGV > 1 then "
        "redis.call('SADD', KEYS[2], unpack(ARGV, 2)) end "
        "return 1");


ngx_int_t
ngx_http_totp_store_fetch(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_str_t *field, ngx_http_totp_record_t *rec,
    ngx_http_totp_store_pt done, void *data)
{
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[3];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "fetch");
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->rec = rec;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1] = keys[NGX_HTTP_TOTP_KEY_SESSIONS];

    if (field) {
        argv[2] = *field;

    } else {
        ngx_str_set(&argv[2], "");
    }

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_fetch_script, 2, 3,
                                    argv, ngx_http_totp_store_fetched, op);
}


ngx_int_t
ngx_http_totp_store_sessions_add(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, u_char *epoch, ngx_str_t *entries, ngx_uint_t n,
    time_t ttl, ngx_int_t *result, ngx_http_totp_store_pt done, void *data)
{
    u_char                     hex[2 * TOTP_EPOCH_LEN], now[NGX_TIME_T_LEN],
                               ttl_buf[NGX_TIME_T_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[9];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "sessions add");
    if (n == 0 || n > 4 || op == NULL) {
        return NGX_ERROR;
    }

    op->result = result;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1] = keys[NGX_HTTP_TOTP_KEY_SESSIONS];
    argv[2].data = hex;
    argv[2].len = ngx_hex_dump(hex, epoch, TOTP_EPOCH_LEN) - hex;
    argv[3].data = now;
    argv[3].len = ngx_sprintf(now, "%T", ngx_time()) - now;
    argv[4].data = ttl_buf;
    argv[4].len = ngx_sprintf(ttl_buf, "%T", ttl) - ttl_buf;
    ngx_memcpy(&argv[5], entries, n * sizeof(ngx_str_t));

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_sessions_script, 2,
                                    5 + n, argv, ngx_http_totp_store_integer,
                                    op);
}


ngx_int_t
ngx_http_totp_store_sessions_end(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_str_t *fields, ngx_uint_t n, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data)
{
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[4];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "sessions end");
    if (n > 2 || op == NULL) {
        return NGX_ERROR;
    }

    op->result = result;

    argv[1] = keys[NGX_HTTP_TOTP_KEY_SESSIONS];

    if (n == 0) {
        ngx_str_set(&argv[0], "DEL");

    } else {
        ngx_str_set(&argv[0], "HDEL");
        ngx_memcpy(&argv[2], fields, n * sizeof(ngx_str_t));
    }

    return ngx_http_totp_redis_command(r->pool, 2 + n, argv,
                                       ngx_http_totp_store_count, op);
}


void
ngx_http_totp_store_session_field(u_char *dst, totp_token_t *t)
{
    *dst++ = t->purpose;
    *dst++ = ':';
    (void) ngx_hex_dump(dst, t->nonce, TOTP_NONCE_LEN);
}


ngx_int_t
ngx_http_totp_store_enroll_begin(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_http_totp_pending_t *who, ngx_str_t *candidate,
    time_t ttl, ngx_str_t *pending, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data)
{
    u_char                     head[NGX_HTTP_TOTP_STORE_HEAD_LEN],
                               ttl_buf[NGX_TIME_T_LEN],
                               invite[2 * TOTP_EPOCH_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[8];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "enroll begin");
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->pending = pending;
    op->result = result;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1] = keys[NGX_HTTP_TOTP_KEY_ENROLL];
    argv[2] = keys[NGX_HTTP_TOTP_KEY_INVITE];
    argv[3].data = head;
    argv[3].len = ngx_http_totp_store_head(head, who);

    /* the base: the head's second part, without its dots */

    argv[4].data = head + 2 * TOTP_NONCE_LEN + 1;
    argv[4].len = argv[3].len - 2 * TOTP_NONCE_LEN - 2;

    if (candidate) {
        argv[5] = *candidate;

    } else {
        ngx_str_set(&argv[5], "");
    }

    argv[6].data = ttl_buf;
    argv[6].len = ngx_sprintf(ttl_buf, "%T", ttl) - ttl_buf;
    argv[7].data = invite;
    argv[7].len = who->invite
                  ? ngx_hex_dump(invite, who->invite, TOTP_EPOCH_LEN) - invite
                  : 0;

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_begin_script, 3, 8,
                                    argv, ngx_http_totp_store_begun, op);
}


ngx_int_t
ngx_http_totp_store_enroll_confirm(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_http_totp_pending_t *who,
    ngx_str_t *pending, ngx_http_totp_record_t *rec, ngx_array_t *codes,
    ngx_int_t *result, ngx_http_totp_store_pt done, void *data)
{
    u_char                     head[NGX_HTTP_TOTP_STORE_HEAD_LEN],
                               digits[NGX_INT_T_LEN], period[NGX_TIME_T_LEN],
                               last[NGX_INT64_LEN], created[NGX_TIME_T_LEN],
                               epoch[2 * TOTP_EPOCH_LEN],
                               invite[2 * TOTP_EPOCH_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], *argv;
    ngx_uint_t                 n;
    ngx_http_totp_store_op_t  *op;

    n = codes ? codes->nelts : 0;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "enroll confirm");
    argv = ngx_palloc(r->pool, (NGX_HTTP_TOTP_STORE_CONFIRM_ARGS + n)
                               * sizeof(ngx_str_t));

    if (op == NULL || argv == NULL) {
        return NGX_ERROR;
    }

    op->result = result;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1] = keys[NGX_HTTP_TOTP_KEY_ENROLL];
    argv[2] = keys[NGX_HTTP_TOTP_KEY_RECOVERY];
    argv[3] = keys[NGX_HTTP_TOTP_KEY_INVITE];
    argv[4] = keys[NGX_HTTP_TOTP_KEY_SESSIONS];
    argv[5].data = head;
    argv[5].len = ngx_http_totp_store_head(head, who);
    argv[6].data = head + 2 * TOTP_NONCE_LEN + 1;
    argv[6].len = argv[5].len - 2 * TOTP_NONCE_LEN - 2;
    argv[7] = *pending;
    argv[8] = rec->secret;
    argv[9].data = (u_char *) totp_alg_name(rec->algorithm);
    argv[9].len = ngx_strlen(argv[9].data);
    argv[10].data = digits;
    argv[10].len = ngx_sprintf(digits, "%ui", rec->digits) - digits;
    argv[11].data = period;
    argv[11].len = ngx_sprintf(period, "%T", rec->period) - period;
    argv[12].data = epoch;
    argv[12].len = ngx_hex_dump(epoch, rec->epoch, TOTP_EPOCH_LEN) - epoch;
    argv[13].data = last;
    argv[13].len = ngx_sprintf(last, "%uL", rec->last) - last;
    argv[14].data = created;
    argv[14].len = ngx_sprintf(created, "%T", ngx_time()) - created;
    argv[15].data = invite;
    argv[15].len = who->invite
                   ? ngx_hex_dump(invite, who->invite, TOTP_EPOCH_LEN) - invite
                   : 0;

    if (n && who->base == NULL) {
        ngx_memcpy(&argv[NGX_HTTP_TOTP_STORE_CONFIRM_ARGS], codes->elts,
                   n * sizeof(ngx_str_t));

    } else {
        n = 0;
    }

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_confirm_script, 5,
                                    NGX_HTTP_TOTP_STORE_CONFIRM_ARGS + n,
                                    argv, ngx_http_totp_store_confirmed, op);
}


ngx_int_t
ngx_http_totp_store_invite_open(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, u_char *invite, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data)
{
    u_char                     hex[2 * TOTP_EPOCH_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[2];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "invitation");
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->result = result;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_INVITE];
    argv[1].data = hex;
    argv[1].len = ngx_hex_dump(hex, invite, TOTP_EPOCH_LEN) - hex;

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_invite_script, 1, 2,
                                    argv, ngx_http_totp_store_integer, op);
}


ngx_int_t
ngx_http_totp_store_accept(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, u_char *epoch, uint64_t step, ngx_str_t *resealed,
    ngx_int_t *result, ngx_http_totp_store_pt done, void *data)
{
    u_char                     hex[2 * TOTP_EPOCH_LEN], step_buf[NGX_INT64_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[4];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "accept");
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->result = result;
    op->consumes = 1;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1].data = hex;
    argv[1].len = ngx_hex_dump(hex, epoch, TOTP_EPOCH_LEN) - hex;
    argv[2].data = step_buf;
    argv[2].len = ngx_sprintf(step_buf, "%uL", step) - step_buf;

    if (resealed && resealed->len) {
        argv[3] = *resealed;

    } else {
        ngx_str_set(&argv[3], "");
    }

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_accept_script, 1, 4,
                                    argv, ngx_http_totp_store_integer, op);
}


ngx_int_t
ngx_http_totp_store_attempt(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_http_totp_limits_t *limits,
    ngx_http_totp_tally_t *tally, u_char *trust_epoch,
    ngx_http_totp_store_pt done, void *data)
{
    u_char                     buf[8][NGX_TIME_T_LEN],
                               hex[2 * TOTP_EPOCH_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[16];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "attempt");
    if (op == NULL
        || ngx_http_totp_store_counters(r, keyspace, keys, tally, argv)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    op->tally = tally;

    argv[4] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[5] = keys[NGX_HTTP_TOTP_KEY_SESSIONS];

    ngx_http_totp_store_number_arg(&argv[6], buf[0], limits->lockout);
    ngx_http_totp_store_number_arg(&argv[7], buf[1], limits->pair.limit);
    ngx_http_totp_store_number_arg(&argv[8], buf[2], limits->pair.window);
    ngx_http_totp_store_number_arg(&argv[9], buf[3], limits->user.limit);
    ngx_http_totp_store_number_arg(&argv[10], buf[4], limits->user.window);
    ngx_http_totp_store_number_arg(&argv[11], buf[5],
                                   tally->exempt ? 0 : limits->client.limit);
    ngx_http_totp_store_number_arg(&argv[12], buf[6], limits->client.window);

    if (tally->trust) {
        argv[13].data = hex;
        argv[13].len = ngx_hex_dump(hex, trust_epoch, TOTP_EPOCH_LEN) - hex;
        argv[14].data = tally->field;
        argv[14].len = sizeof(tally->field);

    } else {
        ngx_str_set(&argv[13], "");
        ngx_str_set(&argv[14], "");
    }

    ngx_http_totp_store_number_arg(&argv[15], buf[7],
                                   ngx_max(limits->trust, 1));

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_attempt_script, 6,
                                    16, argv, ngx_http_totp_store_counted,
                                    op);
}


ngx_int_t
ngx_http_totp_store_settle(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_http_totp_limits_t *limits,
    ngx_http_totp_tally_t *tally, const char *outcome,
    ngx_http_totp_store_pt done, void *data)
{
    u_char                     buf[4][NGX_TIME_T_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[12];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "settle");
    if (op == NULL
        || ngx_http_totp_store_counters(r, keyspace, keys, tally, argv)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    op->tally = tally;

    argv[4] = keys[NGX_HTTP_TOTP_KEY_SESSIONS];

    ngx_http_totp_store_number_arg(&argv[5], buf[0], limits->lockout);
    argv[6].data = (u_char *) outcome;
    argv[6].len = ngx_strlen(outcome);

    if (tally->trusted) {
        ngx_str_set(&argv[7], "1");

    } else {
        ngx_str_set(&argv[7], "");
    }

    ngx_http_totp_store_number_arg(&argv[8], buf[1], limits->pair.limit);
    ngx_http_totp_store_number_arg(&argv[9], buf[2], limits->user.limit);
    ngx_http_totp_store_number_arg(&argv[10], buf[3],
                                   tally->exempt ? 0 : limits->client.limit);
    argv[11].data = tally->field;
    argv[11].len = tally->trust ? sizeof(tally->field) : 0;

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_settle_script, 5,
                                    12, argv, ngx_http_totp_store_settled,
                                    op);
}


ngx_int_t
ngx_http_totp_store_recovery_use(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_str_t *hashes, ngx_uint_t n, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data)
{
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[4];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "recovery code");
    if (n == 0 || n > 2 || op == NULL) {
        return NGX_ERROR;
    }

    op->result = result;
    op->consumes = 1;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1] = keys[NGX_HTTP_TOTP_KEY_RECOVERY];
    ngx_memcpy(&argv[2], hashes, n * sizeof(ngx_str_t));

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_recovery_script, 2,
                                    2 + n, argv, ngx_http_totp_store_count,
                                    op);
}


ngx_int_t
ngx_http_totp_store_summary(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_int_t *result, ngx_str_t *shown,
    ngx_http_totp_store_pt done, void *data)
{
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[3];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "summary");
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->result = result;
    op->pending = shown;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1] = keys[NGX_HTTP_TOTP_KEY_RECOVERY];
    argv[2] = keys[NGX_HTTP_TOTP_KEY_SHOWN];

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_summary_script, 3,
                                    3, argv, ngx_http_totp_store_summed, op);
}


ngx_int_t
ngx_http_totp_store_shown(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_str_t *sealed, time_t ttl, ngx_str_t *forget,
    ngx_int_t *result, ngx_http_totp_store_pt done, void *data)
{
    u_char                     buf[NGX_TIME_T_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], argv[4];
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, sealed ? "keep shown" : "forget shown");
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->result = result;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_SHOWN];

    if (sealed) {
        argv[1] = *sealed;
        argv[2].data = buf;
        argv[2].len = ngx_sprintf(buf, "%T", ttl) - buf;
        ngx_str_set(&argv[3], "");

    } else {
        ngx_str_set(&argv[1], "");
        ngx_str_set(&argv[2], "0");
        argv[3] = *forget;
    }

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_shown_script, 1,
                                    4, argv, ngx_http_totp_store_integer, op);
}


ngx_int_t
ngx_http_totp_store_codes_replace(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, u_char *epoch, ngx_array_t *codes, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data)
{
    u_char                     hex[2 * TOTP_EPOCH_LEN];
    ngx_str_t                  keys[NGX_HTTP_TOTP_KEYS], *argv;
    ngx_http_totp_store_op_t  *op;

    op = ngx_http_totp_store_op(r, keyspace, user, keys, done,
                                data, "new codes");
    argv = ngx_palloc(r->pool, (3 + codes->nelts) * sizeof(ngx_str_t));

    if (op == NULL || argv == NULL) {
        return NGX_ERROR;
    }

    op->result = result;

    argv[0] = keys[NGX_HTTP_TOTP_KEY_USER];
    argv[1] = keys[NGX_HTTP_TOTP_KEY_RECOVERY];
    argv[2].data = hex;
    argv[2].len = ngx_hex_dump(hex, epoch, TOTP_EPOCH_LEN) - hex;
    ngx_memcpy(&argv[3], codes->elts, codes->nelts * sizeof(ngx_str_t));

    return ngx_http_totp_redis_eval(r->pool,
                                    &ngx_http_totp_store_codes_script, 2,
                                    3 + codes->nelts, argv,
                                    ngx_http_totp_store_integer, op);
}


static void
ngx_http_totp_store_number_arg(ngx_str_t *arg, u_char *buf, ngx_uint_t n)
{
    arg->data = buf;
    arg->len = ngx_sprintf(buf, "%ui", n) - buf;
}


/*
 * keys[NGX_HTTP_TOTP_KEY_USER]: KEYSPACE "user:{" NAME "}", and the others
 * that name with their suffix.  NAME is the user name with every byte but
 * [A-Za-z0-9._@+-] percent-encoded: a "}" in it cannot end the hash tag,
 * nor a "*" act as a glob in the commands ops type.
 */

static ngx_int_t
ngx_http_totp_store_keys(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_str_t *keys)
{
    u_char      *p, *name, *last;
    size_t       len;
    ngx_uint_t   i;
    ngx_str_t    encoded;

    static ngx_str_t  suffixes[NGX_HTTP_TOTP_KEYS] = {
        ngx_null_string,
        ngx_string(":enroll"),
        ngx_string(":recovery"),
        ngx_string(":failures"),
        ngx_string(":sessions"),
        ngx_string(":invite"),
        ngx_string(":shown")
    };

    name = ngx_pnalloc(r->pool, 3 * user->len);
    if (name == NULL) {
        return NGX_ERROR;
    }

    last = ngx_http_totp_store_encode(name, user);

    encoded.data = name;
    encoded.len = last - name;

    len = keyspace->len + sizeof("user:{}") - 1 + encoded.len;

    p = ngx_pnalloc(r->pool,
                    NGX_HTTP_TOTP_KEYS * (len + sizeof(":failures") - 1));
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_TOTP_KEYS; i++) {
        keys[i].data = p;
        p = ngx_sprintf(p, "%Vuser:{%V}%V", keyspace, &encoded, &suffixes[i]);
        keys[i].len = p - keys[i].data;
    }

    return NGX_OK;
}


u_char *
ngx_http_totp_store_encode(u_char *dst, ngx_str_t *user)
{
    return ngx_http_totp_store_escape(dst, user, 0);
}


/*
 * Every byte outside [A-Za-z0-9._@+-] percent-encoded, and with address
 * set outside [A-Za-z0-9._@+:/-], so that "2001:db8::/64" stays legible:
 * no value can end a {hash tag}, or glob in ops' SCAN MATCH.
 */

static u_char *
ngx_http_totp_store_escape(u_char *dst, ngx_str_t *src, ngx_uint_t address)
{
    u_char   c;
    size_t   i;

    static u_char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '.' || c == '_' || c == '@' || c == '+' || c == '-'
            || (address && (c == ':' || c == '/')))
        {
            *dst++ = c;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0x0f];
    }

    return dst;
}


/*
 * The failure counters of an attempt, into keys[0..3]: the user's
 * KEYSPACE "user:{NAME}:failures", the pair's "user:{NAME}:pair:CLIENT",
 * the trusted browser's "user:{NAME}:trust:ID" (the pair's again when
 * there is none: never touched), the client's KEYSPACE "ip:{CLIENT}".
 * user holds the keys made by ngx_http_totp_store_keys().
 */

static ngx_int_t
ngx_http_totp_store_counters(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_http_totp_tally_t *tally, ngx_str_t *keys)
{
    u_char     *p, *client, *last;
    size_t      len;
    ngx_str_t  *base;

    base = &user[NGX_HTTP_TOTP_KEY_USER];

    client = ngx_pnalloc(r->pool, 3 * tally->client.len);
    if (client == NULL) {
        return NGX_ERROR;
    }

    last = ngx_http_totp_store_escape(client, &tally->client, 1);

    len = 2 * base->len + sizeof(":pair:") - 1 + sizeof(":trust:") - 1
          + 2 * TOTP_NONCE_LEN + keyspace->len + sizeof("ip:{}") - 1
          + 2 * (last - client);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    keys[0] = user[NGX_HTTP_TOTP_KEY_FAILURES];

    keys[1].data = p;
    p = ngx_sprintf(p, "%V:pair:%*s", base, last - client, client);
    keys[1].len = p - keys[1].data;

    if (tally->trust) {
        keys[2].data = p;
        p = ngx_sprintf(p, "%V:trust:%*s", base, 2 * TOTP_NONCE_LEN,
                        tally->field + 2);
        keys[2].len = p - keys[2].data;

    } else {
        keys[2] = keys[1];
    }

    keys[3].data = p;
    p = ngx_sprintf(p, "%Vip:{%*s}", keyspace, last - client, client);
    keys[3].len = p - keys[3].data;

    return NGX_OK;
}


/* an operation on user's keys, which it writes into keys; NULL on failure */

static ngx_http_totp_store_op_t *
ngx_http_totp_store_op(ngx_http_request_t *r, ngx_str_t *keyspace,
    ngx_str_t *user, ngx_str_t *keys, ngx_http_totp_store_pt done,
    void *data, const char *name)
{
    ngx_http_totp_store_op_t  *op;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp store: %s of \"%V\"", name,
                   ngx_http_totp_log_escape(r->pool, user));

    op = ngx_pcalloc(r->pool, sizeof(ngx_http_totp_store_op_t));
    if (op == NULL) {
        return NULL;
    }

    op->request = r;
    op->done = done;
    op->data = data;
    op->name = name;

    if (ngx_http_totp_store_keys(r, keyspace, user, keys) != NGX_OK) {
        return NULL;
    }

    return op;
}


/* exactly once per operation: the caller goes on from here */

static void
ngx_http_totp_store_done(ngx_http_totp_store_op_t *op, ngx_int_t rc)
{
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, op->request->connection->log, 0,
                   "totp store: %s done, rc:%i result:%i", op->name, rc,
                   (rc == NGX_OK && op->result) ? *op->result : 0);

    op->done(op->request, op->data, rc);
}


static void
ngx_http_totp_store_fetched(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || (reply->elements != NGX_HTTP_TOTP_FIELDS
            && reply->elements != NGX_HTTP_TOTP_FIELDS + 1))
    {
        ngx_http_totp_store_failed(op, reply, "fetch");
        return;
    }

    if (ngx_http_totp_store_parse_record(op->request, reply, op->rec)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, op->request->connection->log, 0,
                      "totp: malformed user record in Redis");
        ngx_http_totp_store_done(op, NGX_ERROR);
        return;
    }

    ngx_http_totp_store_done(op, NGX_OK);
}


/*
 * A record that is absent altogether is "not enrolled"; one that is there
 * but incomplete or garbled is an error, never a fresh start: only ops
 * remove an enrollment.
 */

static ngx_int_t
ngx_http_totp_store_parse_record(ngx_http_request_t *r, redisReply *reply,
    ngx_http_totp_record_t *rec)
{
    int           alg;
    uint64_t      n;
    ngx_uint_t    i, present;
    redisReply  **e;

    e = reply->element;
    present = 0;

    for (i = 0; i < NGX_HTTP_TOTP_FIELDS; i++) {
        if (e[i]->type == REDIS_REPLY_STRING) {
            present++;

        } else if (e[i]->type != REDIS_REPLY_NIL) {
            return NGX_ERROR;
        }
    }

    ngx_memzero(rec, sizeof(ngx_http_totp_record_t));

    /* the session asked about: its entry, or none */

    if (reply->elements > NGX_HTTP_TOTP_FIELDS) {
        if (e[NGX_HTTP_TOTP_FIELDS]->type == REDIS_REPLY_STRING) {
            rec->session.len = e[NGX_HTTP_TOTP_FIELDS]->len;
            rec->session.data = ngx_pnalloc(r->pool, rec->session.len + 1);
            if (rec->session.data == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(rec->session.data, e[NGX_HTTP_TOTP_FIELDS]->str,
                       rec->session.len);

        } else if (e[NGX_HTTP_TOTP_FIELDS]->type != REDIS_REPLY_NIL) {
            return NGX_ERROR;
        }
    }

    if (present == 0) {
        return NGX_OK;
    }

    if (present != NGX_HTTP_TOTP_FIELDS) {
        return NGX_ERROR;
    }

    rec->secret.len = e[0]->len;
    rec->secret.data = ngx_pnalloc(r->pool, e[0]->len);
    if (rec->secret.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(rec->secret.data, e[0]->str, e[0]->len);

    if (totp_alg_parse(e[1]->str, e[1]->len, (totp_alg_t *) &alg) != 0) {
        return NGX_ERROR;
    }

    rec->algorithm = alg;

    if (ngx_http_totp_store_number(e[2], TOTP_DIGITS_MAX, &n) != NGX_OK
        || n < TOTP_DIGITS_MIN)
    {
        return NGX_ERROR;
    }

    rec->digits = n;

    if (ngx_http_totp_store_number(e[3], 3600, &n) != NGX_OK || n == 0) {
        return NGX_ERROR;
    }

    rec->period = (time_t) n;

    if (e[4]->len != 2 * TOTP_EPOCH_LEN
        || ngx_http_totp_store_hex(rec->epoch, (u_char *) e[4]->str,
                                   e[4]->len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_totp_store_number(e[5], UINT64_MAX, &rec->last) != NGX_OK) {
        return NGX_ERROR;
    }

    rec->enrolled = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_store_number(redisReply *reply, uint64_t max, uint64_t *n)
{
    size_t   i;
    u_char   c;

    if (reply->len == 0 || reply->len > 20) {
        return NGX_ERROR;
    }

    *n = 0;

    for (i = 0; i < reply->len; i++) {
        c = reply->str[i];

        if (c < '0' || c > '9') {
            return NGX_ERROR;
        }

        if ((uint64_t) (c - '0') > max || *n > (max - (c - '0')) / 10) {
            return NGX_ERROR;
        }

        *n = *n * 10 + (c - '0');
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_store_hex(u_char *dst, u_char *src, size_t len)
{
    size_t     i;
    ngx_int_t  hi, lo;

    for (i = 0; i + 1 < len; i += 2) {
        hi = ngx_hextoi(&src[i], 1);
        lo = ngx_hextoi(&src[i + 1], 1);

        if (hi == NGX_ERROR || lo == NGX_ERROR) {
            return NGX_ERROR;
        }

        *dst++ = (u_char) (hi << 4 | lo);
    }

    return NGX_OK;
}


/*
 * HEAD: the owner's id in hex, ".", the base (the epoch in hex a change
 * starts from, or "-" for a first enrollment) and "."; its length
 */

static size_t
ngx_http_totp_store_head(u_char *dst, ngx_http_totp_pending_t *who)
{
    u_char  *p;

    p = ngx_hex_dump(dst, who->owner, TOTP_NONCE_LEN);
    *p++ = '.';

    if (who->base) {
        p = ngx_hex_dump(p, who->base, TOTP_EPOCH_LEN);

    } else {
        *p++ = '-';
    }

    *p++ = '.';

    return p - dst;
}


/* this browser's pending secret, or, as an integer, why there is none */

static void
ngx_http_totp_store_begun(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    ngx_str_t  *pending;

    if (reply && reply->type == REDIS_REPLY_INTEGER
        && reply->integer >= NGX_HTTP_TOTP_PENDING_UNINVITED
        && reply->integer <= NGX_HTTP_TOTP_PENDING_MOVED)
    {
        *op->result = (ngx_int_t) reply->integer;
        ngx_str_null(op->pending);
        ngx_http_totp_store_done(op, NGX_OK);
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_STRING || reply->len == 0)
    {
        ngx_http_totp_store_failed(op, reply, "enroll");
        return;
    }

    pending = op->pending;

    pending->data = ngx_pnalloc(op->request->pool, reply->len);
    if (pending->data == NULL) {
        ngx_http_totp_store_done(op, NGX_ERROR);
        return;
    }

    pending->len = reply->len;
    ngx_memcpy(pending->data, reply->str, reply->len);

    *op->result = NGX_HTTP_TOTP_PENDING_OURS;

    ngx_http_totp_store_done(op, NGX_OK);
}


static void
ngx_http_totp_store_integer(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < -1 || reply->integer > 1)
    {
        ngx_http_totp_store_failed(op, reply, op->name);
        return;
    }

    *op->result = (ngx_int_t) reply->integer;

    if (op->consumes && reply->integer == 1) {
        ngx_http_totp_store_consumed(op);
        return;
    }

    ngx_http_totp_store_done(op, NGX_OK);
}


/* the confirmation's answer: 1, or why the pending secret was not stored */

static void
ngx_http_totp_store_confirmed(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < NGX_HTTP_TOTP_PENDING_UNINVITED
        || reply->integer > NGX_HTTP_TOTP_PENDING_OURS)
    {
        ngx_http_totp_store_failed(op, reply, "enroll confirm");
        return;
    }

    *op->result = (ngx_int_t) reply->integer;

    /* the first code of a device, and the device itself */

    if (reply->integer == NGX_HTTP_TOTP_PENDING_OURS) {
        ngx_http_totp_store_consumed(op);
        return;
    }

    ngx_http_totp_store_done(op, NGX_OK);
}


/* a script's integer answer that is a count or a number of seconds */

static void
ngx_http_totp_store_count(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < -2 || reply->integer > 10 * 365 * 86400)
    {
        ngx_http_totp_store_failed(op, reply, op->name);
        return;
    }

    *op->result = (ngx_int_t) reply->integer;

    if (op->consumes && reply->integer >= 0) {
        ngx_http_totp_store_consumed(op);
        return;
    }

    ngx_http_totp_store_done(op, NGX_OK);
}


/* the summary: a time, a count and a string (sealed, kept for a while) */

static void
ngx_http_totp_store_summed(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER
        || reply->element[2]->type != REDIS_REPLY_STRING
        || reply->element[0]->integer < 0
        || reply->element[0]->integer > NGX_MAX_INT32_VALUE
        || reply->element[1]->integer < 0
        || reply->element[1]->integer > 1000
        || reply->element[2]->len > NGX_HTTP_TOTP_SHOWN_MAX)
    {
        ngx_http_totp_store_failed(op, reply, op->name);
        return;
    }

    op->result[0] = (ngx_int_t) reply->element[0]->integer;
    op->result[1] = (ngx_int_t) reply->element[1]->integer;

    op->pending->len = reply->element[2]->len;
    op->pending->data = ngx_pnalloc(op->request->pool, op->pending->len + 1);

    if (op->pending->data == NULL) {
        ngx_http_totp_store_done(op, NGX_ERROR);
        return;
    }

    ngx_memcpy(op->pending->data, reply->element[2]->str,
               op->pending->len);

    ngx_http_totp_store_done(op, NGX_OK);
}


/* an attempt: the seconds a lock lasts, 0 counted, -1 counted as trusted */

static void
ngx_http_totp_store_counted(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < -1 || reply->integer > 10 * 365 * 86400)
    {
        ngx_http_totp_store_failed(op, reply, op->name);
        return;
    }

    op->tally->trusted = (reply->integer == -1);
    op->tally->wait = reply->integer > 0 ? (ngx_int_t) reply->integer : 0;

    ngx_http_totp_store_done(op, NGX_OK);
}


/* a settle: what it locked, what holds, the tries left, how long */

static void
ngx_http_totp_store_settled(void *data, redisReply *reply)
{
    ngx_uint_t                 i;
    ngx_http_totp_store_op_t  *op = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4)
    {
        ngx_http_totp_store_failed(op, reply, op->name);
        return;
    }

    for (i = 0; i < 4; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER
            || reply->element[i]->integer < 0
            || reply->element[i]->integer > 10 * 365 * 86400)
        {
            ngx_http_totp_store_failed(op, reply, op->name);
            return;
        }
    }

    op->tally->locked = (ngx_uint_t) reply->element[0]->integer;
    op->tally->held = (ngx_uint_t) reply->element[1]->integer;
    op->tally->left = (ngx_int_t) reply->element[2]->integer;
    op->tally->wait = (ngx_int_t) reply->element[3]->integer;

    ngx_http_totp_store_done(op, NGX_OK);
}


/*
 * A code was used up (or a device stored): with totp_redis_replicas, the
 * answer waits until that many replicas hold the write, so that a
 * failover cannot bring the code back for a second use.  Fewer: that
 * sign-in fails (503), although the code is spent on the master.
 */

static void
ngx_http_totp_store_consumed(ngx_http_totp_store_op_t *op)
{
    switch (ngx_http_totp_redis_wait(op->request->pool,
                                     ngx_http_totp_store_replicated, op))
    {
    case NGX_DECLINED:
        ngx_http_totp_store_done(op, NGX_OK);
        return;

    case NGX_OK:
        return;

    default:
        ngx_http_totp_store_done(op, NGX_ERROR);
    }
}


static void
ngx_http_totp_store_replicated(void *data, redisReply *reply)
{
    ngx_http_totp_store_op_t  *op = data;

    /* the Redis layer has logged how many replicas there were */

    ngx_http_totp_store_done(op, reply ? NGX_OK : NGX_ERROR);
}


/* what: the operation that failed, as the log names it */

static void
ngx_http_totp_store_failed(ngx_http_totp_store_op_t *op, redisReply *reply,
    const char *what)
{
    ngx_str_t  err;

    /* the Redis layer has logged a lost connection or a timeout */

    if (reply && reply->type == REDIS_REPLY_ERROR) {
        err.data = (u_char *) reply->str;
        err.len = reply->len;

        ngx_log_error(NGX_LOG_ERR, op->request->connection->log, 0,
                      "totp: Redis refused the %s script or command: "
                      "\"%V\"", what, &err);

    } else if (reply) {
        ngx_log_error(NGX_LOG_ERR, op->request->connection->log, 0,
                      "totp: unexpected Redis reply type %d to %s",
                      reply->type, what);
    }

    ngx_http_totp_store_done(op, NGX_ERROR);
}
