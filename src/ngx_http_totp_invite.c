
/*
 * The invitation page.  The link's token is base64url(NAME) "."
 * base64url(SECRET), SECRET 32 random bytes; Redis holds, for a day, only
 * the invitation's id: the first 16 bytes of HMAC-SHA256 of SECRET under
 * an empty key, in hex, at KEYSPACE "user:{NAME}:invite".  Opening the
 * link uses nothing up (a link preview must not spend it): it gives the
 * browser a pre-session that names NAME and carries the id, and the
 * enrollment confirmed with it deletes the invitation.  The password is
 * still asked: the link alone enrolls nobody, nor the password alone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_invite.h"
#include "ngx_http_totp_log.h"


static void ngx_http_totp_invite_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_invite_gone(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


ngx_int_t
ngx_http_totp_invite(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    u_char     *dot, *name, mac[TOTP_MAC_LEN],
                secret[NGX_HTTP_TOTP_INVITE_SECRET_LEN + 3];
    size_t      len, name_len;
    ngx_str_t   token;
    ngx_int_t   rc;

    if (ngx_http_arg(r, (u_char *) "t", 1, &token) != NGX_OK) {
        return ngx_http_totp_invite_gone(r, ctx);
    }

    dot = ngx_strlchr(token.data, token.data + token.len, '.');

    if (dot == NULL
        || (size_t) (token.data + token.len - dot - 1)
           != totp_b64url_encoded_len(NGX_HTTP_TOTP_INVITE_SECRET_LEN)
        || (size_t) (dot - token.data)
           > totp_b64url_encoded_len(TOTP_USER_MAX))
    {
        return ngx_http_totp_invite_gone(r, ctx);
    }

    name = ngx_pnalloc(r->pool, totp_b64url_decoded_max(dot - token.data));
    if (name == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (totp_b64url_decode(name, &name_len, token.data, dot - token.data)
        != 0
        || totp_b64url_decode(secret, &len, dot + 1,
                              token.data + token.len - dot - 1)
           != 0)
    {
        return ngx_http_totp_invite_gone(r, ctx);
    }

    ctx->user.data = name;
    ctx->user.len = name_len;

    if (!ngx_http_totp_user_valid(&ctx->user)) {
        ngx_str_null(&ctx->user);
        return ngx_http_totp_invite_gone(r, ctx);
    }

    rc = totp_hmac_sha256(NULL, 0, secret, len, mac);

    totp_wipe(secret, sizeof(secret));

    if (rc != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the id waits in ctx->who until Redis says the invitation is open */

    ngx_memcpy(ctx->base, mac, TOTP_EPOCH_LEN);
    ctx->who.invite = ctx->base;

    if (ngx_http_totp_store_invite_open(r, &ctx->conf->keyspace, &ctx->user,
                                        ctx->who.invite, &ctx->result,
                                        ngx_http_totp_invite_checked, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_invite_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->result != 1) {
        rc = ngx_http_totp_invite_gone(r, ctx);

    } else if (ngx_http_totp_issue_pre(r, ctx->conf, &ctx->user,
                                       NGX_HTTP_TOTP_PRE_INVITED, NULL,
                                       ctx->who.invite, &ctx->pre)
               != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        ctx->has_pre = 1;
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_INVITATION_OPENED,
                                 "opened an invitation");
        rc = ngx_http_totp_flow_go(r, ctx, "login");
    }

    ngx_http_totp_flow_done(r, rc);
}


/* a link that is malformed, used, expired or replaced: all look alike */

static ngx_int_t
ngx_http_totp_invite_gone(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->user.len) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client opened an invitation of user \"%V\" "
                      "that is not open",
                      ngx_http_totp_log_escape(r->pool, &ctx->user));

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client opened a malformed invitation link");
    }

    return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_NOT_FOUND,
                                      NGX_HTTP_TOTP_MSG_INVITE_GONE_HEADING,
                                      NGX_HTTP_TOTP_MSG_INVITE_GONE);
}
