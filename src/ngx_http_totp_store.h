
/*
 * A user's state in Redis, and the atomic operations on it (Lua scripts):
 * what ops see under totp:user:{NAME}, and the only code that writes it.
 */


#ifndef _NGX_HTTP_TOTP_STORE_H_INCLUDED_
#define _NGX_HTTP_TOTP_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_crypto.h"
#include "ngx_http_totp_otp.h"


/* a user's enrollment as Redis holds it */
typedef struct {
    ngx_uint_t                   enrolled;
    ngx_str_t                    secret;       /* sealed, base64url */
    totp_alg_t                   algorithm;
    ngx_uint_t                   digits;
    time_t                       period;
    u_char                       epoch[TOTP_EPOCH_LEN];
    uint64_t                     last;         /* last accepted step */

    /* the entry of the session fetched with it: "EXPIRES LINE", or none */
    ngx_str_t                    session;
} ngx_http_totp_record_t;


/* a session's field (see ngx_http_totp_store_session_field() below) */
#define NGX_HTTP_TOTP_SESSION_FIELD_LEN  (2 + 2 * TOTP_NONCE_LEN)


/* a totp_fail_limit* directive's values; limit 0: not counted */
typedef struct {
    ngx_uint_t                   limit;
    time_t                       window;
} ngx_http_totp_limit_t;


/* how failures are counted, and how long what reaches a limit is locked */
typedef struct {
    ngx_http_totp_limit_t        pair;        /* one user, one client */
    ngx_http_totp_limit_t        user;        /* one user, every client */
    ngx_http_totp_limit_t        client;      /* one client, every user */
    time_t                       lockout;
    time_t                       trust;       /* how long trust lasts */
} ngx_http_totp_limits_t;


/* what a failure locked, or what holds: bits of a tally */
#define NGX_HTTP_TOTP_LOCK_PAIR    1
#define NGX_HTTP_TOTP_LOCK_USER    2          /* for untrusted browsers */
#define NGX_HTTP_TOTP_LOCK_CLIENT  4
#define NGX_HTTP_TOTP_LOCK_TRUST   8          /* the browser's trust ended */


/*
 * One attempt, as it is counted: by which client (its key, see
 * ngx_http_totp_client.h), as which browser, and what Redis said.
 */
typedef struct {
    ngx_str_t                    client;
    u_char                       field[NGX_HTTP_TOTP_SESSION_FIELD_LEN];

    /* the seconds the longest lock that holds still lasts, or 0 */
    ngx_int_t                    wait;

    /* settle of a failure: what it locked, what holds, tries left */
    ngx_uint_t                   locked;
    ngx_uint_t                   held;
    ngx_int_t                    left;

    unsigned                     exempt:1;    /* not held by the client limit */
    unsigned                     trust:1;     /* field is a trust cookie's */
    unsigned                     trusted:1;   /* counted as that browser */
    unsigned                     counted:1;   /* to be settled */
} ngx_http_totp_tally_t;


/*
 * Called once per operation, with the data its caller gave: rc is NGX_OK
 * with the operation's result in *result (see each function), or
 * NGX_ERROR when Redis failed, timed out or answered something the module
 * did not write: the caller denies.
 */
typedef void (*ngx_http_totp_store_pt)(ngx_http_request_t *r, void *data,
    ngx_int_t rc);


/*
 * Every operation takes the keyspace, where its keys begin (totp_redis_prefix
 * and the realm), and the user's name as the client gave it.
 */

/*
 * A user name as it is written in keys, percent-encoded; dst holds three
 * bytes per byte of user.  Returns the end of what it wrote.
 */
u_char *ngx_http_totp_store_encode(u_char *dst, ngx_str_t *user);

/*
 * Sessions and trusted browsers live in NAME's hash KEYSPACE
 * "user:{NAME}:sessions", a field each: the token's purpose, ":" and its
 * id (the nonce) in hex; the value "EXPIRES LINE", the unix time it ends
 * and a digest of the user's password line when it was made ("-" for
 * none).  A token whose field is gone was ended.
 */

void ngx_http_totp_store_session_field(u_char *dst, totp_token_t *t);

/*
 * Reads NAME's enrollment into rec, rec->enrolled 0 when there is none,
 * and with a field, that session's entry into rec->session.
 */
ngx_int_t ngx_http_totp_store_fetch(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_str_t *field,
    ngx_http_totp_record_t *rec, ngx_http_totp_store_pt done, void *data);

/*
 * Registers entries (field, value, ... n strings in all) if NAME is still
 * enrolled with epoch, the hash kept for ttl at least; *result 1 when
 * registered, 0 when the enrollment changed.
 */
ngx_int_t ngx_http_totp_store_sessions_add(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, u_char *epoch, ngx_str_t *entries,
    ngx_uint_t n, time_t ttl, ngx_int_t *result, ngx_http_totp_store_pt done,
    void *data);

/* ends the n sessions of fields, or all of NAME's with n 0 */
ngx_int_t ngx_http_totp_store_sessions_end(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_str_t *fields, ngx_uint_t n,
    ngx_int_t *result, ngx_http_totp_store_pt done, void *data);

/*
 * A pending enrollment, NAME's key KEYSPACE "user:{NAME}:enroll" (one at
 * a time: a newer one ends it), lasts an hour and belongs to one browser:
 * owner, the TOTP_NONCE_LEN-byte id of its pre-session.  A first
 * enrollment has no base; a change of device has as base the epoch of
 * the enrollment it replaces, and is void once that is gone.  With an
 * invitation (its id, TOTP_EPOCH_LEN bytes), the invitation
 * KEYSPACE "user:{NAME}:invite" must still be open; the confirmation
 * uses it up.
 */
typedef struct {
    u_char                      *owner;
    u_char                      *base;
    u_char                      *invite;
} ngx_http_totp_pending_t;

/* what a begin or a confirmation found: *result */
#define NGX_HTTP_TOTP_PENDING_OURS        1   /* begin: in *pending */
#define NGX_HTTP_TOTP_PENDING_MOVED       0   /* enrolled, or changed */
#define NGX_HTTP_TOTP_PENDING_NONE       -1   /* expired, or never begun */
#define NGX_HTTP_TOTP_PENDING_ELSEWHERE  -2   /* another browser's now */
#define NGX_HTTP_TOTP_PENDING_UNINVITED  -3   /* the invitation is gone */

/*
 * This browser's pending secret: the one it began, or else candidate,
 * stored for ttl, ending any other browser's; with candidate NULL, only
 * looks.
 */
ngx_int_t ngx_http_totp_store_enroll_begin(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_http_totp_pending_t *who,
    ngx_str_t *candidate, time_t ttl, ngx_str_t *pending, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data);

/*
 * Stores rec as NAME's enrollment if pending is still this browser's,
 * atomically: a first enrollment with the recovery codes' hashes (an
 * array of ngx_str_t, or NULL), a change in place of its base, keeping
 * the codes.  *result NGX_HTTP_TOTP_PENDING_OURS (1) when stored, or
 * why not, as for a begin.
 */
ngx_int_t ngx_http_totp_store_enroll_confirm(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_http_totp_pending_t *who,
    ngx_str_t *pending, ngx_http_totp_record_t *rec, ngx_array_t *codes,
    ngx_int_t *result, ngx_http_totp_store_pt done, void *data);

/* *result 1 while NAME's invitation of this id is open, 0 if not */
ngx_int_t ngx_http_totp_store_invite_open(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, u_char *invite, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data);


/*
 * The replay rule: accepts step if NAME is still enrolled with epoch and
 * step is greater than the last accepted one, and records it, with the
 * secret resealed under the current key if given.  *result 1 accepted,
 * 0 the enrollment changed, -1 a replayed code.
 */
ngx_int_t ngx_http_totp_store_accept(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, u_char *epoch, uint64_t step,
    ngx_str_t *resealed, ngx_int_t *result, ngx_http_totp_store_pt done,
    void *data);


/*
 * Failure counting (see the scripts in ngx_http_totp_store.c).  attempt,
 * before a password or code is checked, counts it for tally's client and
 * NAME, or as a trusted browser of NAME if tally->trust names a trust
 * cookie that Redis still holds (tally->trusted); tally->wait the seconds
 * a lock still lasts instead.  settle, after the check, with outcome
 * "fail" keeps the count and locks what reached its limit (tally->locked,
 * ->held, ->left); "back" gives the count back (a check that judged
 * nothing), "pass" too and clears the failures of this client, or of this
 * trusted browser, with NAME.
 */
ngx_int_t ngx_http_totp_store_attempt(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_http_totp_limits_t *limits,
    ngx_http_totp_tally_t *tally, u_char *trust_epoch,
    ngx_http_totp_store_pt done, void *data);
ngx_int_t ngx_http_totp_store_settle(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_http_totp_limits_t *limits,
    ngx_http_totp_tally_t *tally, const char *outcome,
    ngx_http_totp_store_pt done, void *data);

/*
 * Removes a recovery code, given as its hash under each configured key
 * (n of them); *result the codes left, -1 for no such code, -2 when NAME
 * is not enrolled.
 */
ngx_int_t ngx_http_totp_store_recovery_use(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_str_t *hashes, ngx_uint_t n,
    ngx_int_t *result, ngx_http_totp_store_pt done, void *data);

/* the most a kept set of recovery codes may take in Redis */
#define NGX_HTTP_TOTP_SHOWN_MAX  4096

/*
 * What the account and codes pages say: result[0] when NAME enrolled
 * (unix seconds, 0 when Redis does not say), result[1] the recovery
 * codes left, *shown the set last shown as ngx_http_totp_store_shown()
 * kept it, or "".
 */
ngx_int_t ngx_http_totp_store_summary(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_int_t *result,
    ngx_str_t *shown, ngx_http_totp_store_pt done, void *data);

/*
 * Keeps sealed, the recovery codes just shown, for ttl seconds, or with
 * sealed NULL forgets the set forget, if it is still the one kept;
 * *result 1 kept, or 1 forgotten and 0 not.
 */
ngx_int_t ngx_http_totp_store_shown(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, ngx_str_t *sealed, time_t ttl,
    ngx_str_t *forget, ngx_int_t *result, ngx_http_totp_store_pt done,
    void *data);

/* a new set of recovery codes if NAME is still enrolled with epoch */
ngx_int_t ngx_http_totp_store_codes_replace(ngx_http_request_t *r,
    ngx_str_t *keyspace, ngx_str_t *user, u_char *epoch, ngx_array_t *codes,
    ngx_int_t *result, ngx_http_totp_store_pt done, void *data);


#endif /* _NGX_HTTP_TOTP_STORE_H_INCLUDED_ */
