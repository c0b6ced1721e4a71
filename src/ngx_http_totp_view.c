
/*
 * What the pages send: templates filled with their values, the headers
 * the pages carry (nothing cached, framed, referred or scripted), message
 * pages and redirects.  The values of a page are the caller's; this file
 * knows no sign-in step.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_form.h"
#include "ngx_http_totp_view.h"


void
ngx_http_totp_view_var(ngx_http_totp_view_t *v, const char *name,
    u_char *value, size_t len)
{
    totp_render_var_t  *var;

    if (v->nvars == NGX_HTTP_TOTP_VARS_MAX) {
        return;
    }

    var = &v->vars[v->nvars++];

    var->name = name;
    var->name_len = ngx_strlen(name);
    var->value = value;
    var->value_len = len;
}


ngx_int_t
ngx_http_totp_view_url(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    char *page, ngx_str_t *url)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   next;

    ngx_str_null(&next);

    if (v->next.len > 1
        && ngx_http_totp_escape(r->pool, &v->next, &next) != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = v->path.len + (page ? ngx_strlen(page) : 0)
          + sizeof("?next=") - 1 + next.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    url->data = p;
    p = ngx_cpymem(p, v->path.data, v->path.len);

    if (page) {
        p = ngx_cpymem(p, page, ngx_strlen(page));
    }

    if (next.len) {
        p = ngx_sprintf(p, "?next=%V", &next);
    }

    url->len = p - url->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_form(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    char *page, ngx_str_t *csrf, ngx_str_t *user)
{
    ngx_str_t  action;

    action.len = v->path.len + ngx_strlen(page);
    action.data = ngx_pnalloc(r->pool, action.len);
    if (action.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(action.data, "%V%s", &v->path, page);

    v->nvars = 0;

    ngx_http_totp_view_var(v, "action", action.data, action.len);
    ngx_http_totp_view_var(v, "csrf", csrf->data, csrf->len);
    ngx_http_totp_view_var(v, "next", v->next.data, v->next.len);
    ngx_http_totp_view_var(v, "user", user->data, user->len);

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_trust_for(ngx_http_request_t *r, ngx_http_totp_view_t *v)
{
    time_t     ttl;
    ngx_str_t  text;
    ngx_int_t  rc;

    ttl = v->conf->trust_ttl;

    if (ttl == 0) {
        return NGX_OK;
    }

    if (ttl >= 86400) {
        rc = ngx_http_totp_view_count(r, v, NGX_HTTP_TOTP_MSG_TRUST_DAYS, "n",
                                      ttl / 86400, &text);

    } else if (ttl >= 3600) {
        rc = ngx_http_totp_view_count(r, v, NGX_HTTP_TOTP_MSG_TRUST_HOURS,
                                      "n", ttl / 3600, &text);

    } else {
        rc = ngx_http_totp_view_count(r, v, NGX_HTTP_TOTP_MSG_TRUST_MINUTES,
                                      "n", (ttl + 59) / 60, &text);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_totp_view_var(v, "trust_for", text.data, text.len);

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_text(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    ngx_uint_t id, ngx_str_t *text)
{
    return ngx_http_totp_catalog_text(r->pool, ngx_http_totp_view_catalog(v),
                                      id, NULL, 0, text);
}


ngx_int_t
ngx_http_totp_view_say(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    const char *name, ngx_uint_t id)
{
    ngx_str_t  text;

    if (id == NGX_HTTP_TOTP_MSG_NONE) {
        return NGX_OK;
    }

    if (ngx_http_totp_view_text(r, v, id, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_totp_view_var(v, name, text.data, text.len);

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_count(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    ngx_uint_t id, const char *name, ngx_int_t n, ngx_str_t *out)
{
    u_char             *p;
    totp_render_var_t   vars[2];

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    vars[0].name = name;
    vars[0].name_len = ngx_strlen(name);
    vars[0].value = p;
    vars[0].value_len = ngx_sprintf(p, "%i", n) - p;

    vars[1].name = "one";
    vars[1].name_len = sizeof("one") - 1;
    vars[1].value = (u_char *) "1";
    vars[1].value_len = (n == 1) ? 1 : 0;

    return ngx_http_totp_catalog_text(r->pool, ngx_http_totp_view_catalog(v),
                                      id, vars, 2, out);
}


ngx_int_t
ngx_http_totp_view_date(ngx_http_request_t *r, time_t t, ngx_str_t *out)
{
    ngx_tm_t  tm;

    /* a far totp_trust_ttl may reach past the year 9999 */

    out->data = ngx_pnalloc(r->pool, NGX_INT_T_LEN + sizeof("-12-03") - 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_gmtime(t, &tm);

    out->len = ngx_sprintf(out->data, "%4d-%02d-%02d", tm.ngx_tm_year,
                           tm.ngx_tm_mon, tm.ngx_tm_mday)
               - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_time(ngx_http_request_t *r, time_t t, ngx_str_t *out)
{
    ngx_tm_t  tm;

    out->data = ngx_pnalloc(r->pool, sizeof("14:30 UTC") - 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_gmtime(t, &tm);

    out->len = ngx_sprintf(out->data, "%02d:%02d UTC", tm.ngx_tm_hour,
                           tm.ngx_tm_min)
               - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_issuer(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *issuer)
{
    ngx_http_core_srv_conf_t  *cscf;

    if (conf->issuer) {
        return ngx_http_complex_value(r, conf->issuer, issuer);
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    if (cscf->server_name.len) {
        *issuer = cscf->server_name;
        return NGX_OK;
    }

    if (r->headers_in.server.len) {
        *issuer = r->headers_in.server;
        return NGX_OK;
    }

    ngx_str_set(issuer, "nginx");

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_send(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    ngx_http_totp_page_e page, ngx_uint_t status)
{
    u_char     *p;
    ngx_str_t   html, css, issuer;

    css.len = v->path.len + sizeof("style.css") - 1;
    p = ngx_pnalloc(r->pool, css.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    css.data = p;
    ngx_sprintf(p, "%Vstyle.css", &v->path);

    if (ngx_http_totp_view_issuer(r, v->conf, &issuer) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(v, "css", css.data, css.len);
    ngx_http_totp_view_var(v, "issuer", issuer.data, issuer.len);

    if (ngx_http_totp_render_page(r->pool, v->conf->templates, v->lang, page,
                                  v->vars, v->nvars, &html)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_totp_view_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_output(r, status, "text/html; charset=utf-8",
                                     &html);
}


ngx_int_t
ngx_http_totp_view_message(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    ngx_uint_t status, ngx_uint_t heading, ngx_uint_t message)
{
    ngx_str_t  text;

    ngx_str_null(&text);

    if (message != NGX_HTTP_TOTP_MSG_NONE
        && ngx_http_totp_view_text(r, v, message, &text) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_message_text(r, v, status, heading, &text);
}


ngx_int_t
ngx_http_totp_view_message_text(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, ngx_uint_t status, ngx_uint_t heading,
    ngx_str_t *message)
{
    ngx_str_t  link;

    v->nvars = 0;

    if (ngx_http_totp_view_say(r, v, "title", heading) != NGX_OK
        || ngx_http_totp_view_say(r, v, "heading", heading) != NGX_OK
        || ngx_http_totp_view_url(r, v, "login", &link) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (message->len) {
        ngx_http_totp_view_var(v, "message", message->data, message->len);
    }

    ngx_http_totp_view_var(v, "link", link.data, link.len);

    /* after a lockout, signing in again is not the next thing to do */

    if (status == NGX_HTTP_TOO_MANY_REQUESTS) {
        if (ngx_http_totp_view_say(r, v, "link_text",
                                   NGX_HTTP_TOTP_MSG_LINK_BACK)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_totp_view_var(v, "subdued", (u_char *) "1", 1);

    } else if (ngx_http_totp_view_say(r, v, "link_text",
                                      NGX_HTTP_TOTP_MSG_LINK_SIGN_IN)
               != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_MESSAGE, status);
}


ngx_int_t
ngx_http_totp_view_output(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = (off_t) body->len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = body->len ? 1 : 0;

    /* a refused subrequest's page is only part of its main request's */

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_totp_view_headers(ngx_http_request_t *r)
{
    if (ngx_http_totp_view_header(r, "Cache-Control", "no-store")
        != NGX_OK
        || ngx_http_totp_view_header(r, "Content-Security-Policy",
               "default-src 'none'; style-src 'self'; img-src data:; "
               "form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")
           != NGX_OK
        || ngx_http_totp_view_header(r, "X-Frame-Options", "DENY")
           != NGX_OK
        || ngx_http_totp_view_header(r, "Referrer-Policy", "no-referrer")
           != NGX_OK
        || ngx_http_totp_view_header(r, "X-Content-Type-Options", "nosniff")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_header(ngx_http_request_t *r, char *name, char *value)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_http_totp_view_push(r, name, &v) ? NGX_OK : NGX_ERROR;
}


ngx_table_elt_t *
ngx_http_totp_view_push(ngx_http_request_t *r, char *name, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return h;
}


ngx_int_t
ngx_http_totp_view_retry_after(ngx_http_request_t *r, ngx_int_t seconds)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "%i%Z", seconds);

    return ngx_http_totp_view_header(r, "Retry-After", (char *) p);
}


ngx_int_t
ngx_http_totp_view_redirect(ngx_http_request_t *r, ngx_str_t *location)
{
    ngx_table_elt_t  *h;

    ngx_http_clear_location(r);

    h = ngx_http_totp_view_push(r, "Location", location);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.location = h;

    return NGX_HTTP_MOVED_TEMPORARILY;
}


/*
 * The small page of a refusal the gate sends itself, worded as nginx's
 * own.  A status not in the table is a server error.
 */

ngx_int_t
ngx_http_totp_view_refusal(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_str_t   body;
    ngx_uint_t  i;

    static struct {
        ngx_uint_t               status;
        ngx_str_t                body;
    } refusals[] = {

#define ngx_http_totp_refusal(status, line)                                  \
        { status, ngx_string("<html>\n<head><title>" line                    \
                             "</title></head>\n<body>\n<center><h1>" line     \
                             "</h1></center>\n</body>\n</html>\n") }

        ngx_http_totp_refusal(NGX_HTTP_MOVED_TEMPORARILY, "302 Found"),
        ngx_http_totp_refusal(NGX_HTTP_BAD_REQUEST, "400 Bad Request"),
        ngx_http_totp_refusal(NGX_HTTP_UNAUTHORIZED,
                              "401 Authorization Required"),
        ngx_http_totp_refusal(NGX_HTTP_FORBIDDEN, "403 Forbidden"),
        ngx_http_totp_refusal(NGX_HTTP_SERVICE_UNAVAILABLE,
                              "503 Service Temporarily Unavailable"),
        ngx_http_totp_refusal(NGX_HTTP_INTERNAL_SERVER_ERROR,
                              "500 Internal Server Error")

#undef ngx_http_totp_refusal
    };

    for (i = 0; refusals[i].status != NGX_HTTP_INTERNAL_SERVER_ERROR; i++) {
        if (refusals[i].status == status) {
            break;
        }
    }

    body = refusals[i].body;

    /* whatever the refusal, no cache keeps it for the page itself */

    if (ngx_http_totp_view_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_totp_view_output(r, refusals[i].status, "text/html",
                                     &body);
}
