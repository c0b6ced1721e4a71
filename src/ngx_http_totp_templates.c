
/*
 * The gate's pages.  html/ is compiled in (tools/embed-html writes it into
 * objs/ngx_http_totp_html.c when nginx is configured), so the module needs
 * no files at run time; "totp_templates dir" replaces any of them.  Every
 * template is checked at configuration time, so that a broken one fails
 * "nginx -t" and rendering cannot fail on syntax later.  Each template is
 * then put into every language once, its {{@words}} replaced by the
 * words of that language's catalog, so that a request only picks one.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_render.h"
#include "ngx_http_totp_templates.h"


/* far above any page; keeps a wrong path from reading a huge file */
#define NGX_HTTP_TOTP_TEMPLATE_MAX  (256 * 1024)

/* the slots after the pages in ngx_http_totp_template_files */
#define NGX_HTTP_TOTP_SLOT_LAYOUT   NGX_HTTP_TOTP_PAGE_COUNT
#define NGX_HTTP_TOTP_SLOT_CSS      (NGX_HTTP_TOTP_PAGE_COUNT + 1)
#define NGX_HTTP_TOTP_SLOTS         (NGX_HTTP_TOTP_PAGE_COUNT + 2)

/* how much of a malformed template an error message quotes */
#define NGX_HTTP_TOTP_QUOTE_MAX     40

/* a language's catalog beside the pages in html/: "messages." and code */
#define NGX_HTTP_TOTP_CATALOG_FILE  "messages."
#define NGX_HTTP_TOTP_CATALOG_NAME  (sizeof(NGX_HTTP_TOTP_CATALOG_FILE) + 1)


static ngx_str_t *ngx_http_totp_templates_slot(ngx_http_totp_templates_t *t,
    ngx_uint_t slot);
static ngx_int_t ngx_http_totp_templates_check(ngx_conf_t *cf,
    ngx_str_t *tpl, ngx_uint_t slot, const char *what, ngx_str_t *name);
static ngx_int_t ngx_http_totp_templates_translate(ngx_conf_t *cf,
    ngx_http_totp_templates_t *t, const char *what, ngx_str_t *dir);
static void ngx_http_totp_templates_quote(ngx_str_t *tpl, size_t off,
    ngx_str_t *quote, ngx_uint_t *line);
static ngx_int_t ngx_http_totp_templates_read(ngx_conf_t *cf,
    ngx_str_t *path, ngx_str_t *data);
static void ngx_http_totp_templates_wipe(void *data);


/* indexed by slot: the pages in ngx_http_totp_page_e order, then the rest */
static ngx_str_t  ngx_http_totp_template_files[] = {
    ngx_string("login.html"),
    ngx_string("verify.html"),
    ngx_string("enroll.html"),
    ngx_string("reset.html"),
    ngx_string("logout.html"),
    ngx_string("message.html"),
    ngx_string("recovery.html"),
    ngx_string("codes.html"),
    ngx_string("forget.html"),
    ngx_string("account.html"),
    ngx_string("layout.html"),
    ngx_string("style.css")
};


/*
 * The built-in set is made once per configuration, in its pool, since
 * its pages in every language are memory of its own; it is checked as a
 * totp_templates directory is, so that a broken html/ file fails
 * "nginx -t" rather than a page.
 */

ngx_http_totp_templates_t *
ngx_http_totp_templates_builtin(ngx_conf_t *cf,
    ngx_http_totp_templates_t **builtin)
{
    u_char                      name[NGX_HTTP_TOTP_CATALOG_NAME];
    ngx_str_t                   file, *slot;
    ngx_uint_t                  i, lang;
    ngx_http_totp_catalog_t    *en;
    ngx_http_totp_templates_t  *t;
    ngx_http_totp_html_file_t  *f;

    if (*builtin) {
        /* cppcheck-suppress identicalInnerCondition ; set below, once */
        return *builtin;
    }

    t = ngx_pcalloc(cf->pool, sizeof(ngx_http_totp_templates_t));
    if (t == NULL) {
        return NULL;
    }

    /* html/ may hold more files than the gate uses (its README) */

    for (f = ngx_http_totp_html_files; f->name.len; f++) {
        for (i = 0; i < NGX_HTTP_TOTP_SLOTS; i++) {
            if (ngx_http_totp_template_files[i].len == f->name.len
                && ngx_strncmp(ngx_http_totp_template_files[i].data,
                               f->name.data, f->name.len)
                   == 0)
            {
                *ngx_http_totp_templates_slot(t, i) = f->data;
                break;
            }
        }
    }

    for (i = 0; i < NGX_HTTP_TOTP_SLOTS; i++) {
        slot = ngx_http_totp_templates_slot(t, i);

        if (slot->data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ngx_http_totp_module was built without "
                               "its page \"html/%V\"",
                               &ngx_http_totp_template_files[i]);
            return NULL;
        }

        if (i != NGX_HTTP_TOTP_SLOT_CSS
            && ngx_http_totp_templates_check(cf, slot, i, "built-in template",
                                             &ngx_http_totp_template_files[i])
               != NGX_OK)
        {
            return NULL;
        }
    }

    /* English first: it says which words there are */

    en = &t->lang[NGX_HTTP_TOTP_LANG_EN].messages;

    for (lang = 0; lang < NGX_HTTP_TOTP_LANGS; lang++) {
        file.data = name;
        file.len = ngx_sprintf(name, NGX_HTTP_TOTP_CATALOG_FILE "%V",
                               &ngx_http_totp_catalog_langs[lang])
                   - name;

        for (f = ngx_http_totp_html_files; f->name.len; f++) {
            if (f->name.len == file.len
                && ngx_strncmp(f->name.data, file.data, file.len) == 0)
            {
                break;
            }
        }

        if (f->name.len == 0
            || ngx_http_totp_catalog_read(cf, "built-in message catalog",
                                          &file, &f->data,
                                          lang ? en : NULL,
                                          &t->lang[lang].messages)
               != NGX_OK
            || ngx_http_totp_catalog_complete(cf, "built-in message catalog",
                                              &file, &t->lang[lang].messages,
                                              lang ? en : NULL)
               != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ngx_http_totp_module was built without a "
                               "complete \"html/%V\"", &file);
            return NULL;
        }
    }

    if (ngx_http_totp_templates_translate(cf, t, "built-in template", NULL)
        != NGX_OK)
    {
        return NULL;
    }

    *builtin = t;

    return t;
}


char *
ngx_http_totp_templates_load(ngx_conf_t *cf,
    ngx_http_totp_templates_t *builtin, ngx_str_t *dir,
    ngx_http_totp_templates_t **tpls)
{
    u_char                     *p;
    size_t                      len, max;
    ngx_int_t                   rc;
    ngx_str_t                   path, file, catalog, *name, *tpl;
    ngx_uint_t                  i, found, lang;
    ngx_file_info_t             fi;
    ngx_http_totp_catalog_t    *cat;
    ngx_http_totp_templates_t  *t;

    path = *dir;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    max = NGX_HTTP_TOTP_CATALOG_NAME;

    for (i = 0; i < NGX_HTTP_TOTP_SLOTS; i++) {
        max = ngx_max(max, ngx_http_totp_template_files[i].len);
    }

    /* the directory, then each file's name in turn, NUL-terminated */

    file.data = ngx_pnalloc(cf->pool, path.len + 1 + max + 1);
    if (file.data == NULL) {
        return NGX_CONF_ERROR;
    }

    len = path.len;

    while (len > 1 && path.data[len - 1] == '/') {
        len--;
    }

    p = ngx_cpymem(file.data, path.data, len);
    *p = '\0';

    if (ngx_file_info(file.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"totp_templates\" directory \"%s\": "
                           ngx_file_info_n " failed", file.data);
        return NGX_CONF_ERROR;
    }

    if (!ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_templates\" \"%s\" is not a directory",
                           file.data);
        return NGX_CONF_ERROR;
    }

    t = ngx_palloc(cf->pool, sizeof(ngx_http_totp_templates_t));
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    *t = *builtin;

    found = 0;

    for (i = 0; i < NGX_HTTP_TOTP_SLOTS; i++) {
        name = &ngx_http_totp_template_files[i];
        tpl = ngx_http_totp_templates_slot(t, i);

        p = file.data + len;
        *p++ = '/';
        p = ngx_cpymem(p, name->data, name->len);
        *p = '\0';

        file.len = p - file.data;

        rc = ngx_http_totp_templates_read(cf, &file, tpl);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        found++;

        if (i == NGX_HTTP_TOTP_SLOT_CSS) {
            continue;
        }

        if (ngx_http_totp_templates_check(cf, tpl, i,
                                          "\"totp_templates\" file", &file)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    /* its catalogs, message by message over the built-in ones */

    for (lang = 0; lang < NGX_HTTP_TOTP_LANGS; lang++) {
        p = ngx_sprintf(file.data + len, "/" NGX_HTTP_TOTP_CATALOG_FILE "%V",
                        &ngx_http_totp_catalog_langs[lang]);
        *p = '\0';

        file.len = p - file.data;

        rc = ngx_http_totp_templates_read(cf, &file, &catalog);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        found++;

        cat = &t->lang[lang].messages;

        if (ngx_http_totp_catalog_copy(cf->pool, cat,
                                       &builtin->lang[lang].messages)
            != NGX_OK
            || ngx_http_totp_catalog_read(cf,
                                   "\"totp_templates\" message catalog",
                                   &file, &catalog,
                                   &builtin->lang[NGX_HTTP_TOTP_LANG_EN]
                                   .messages,
                                   cat)
               != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    /* most likely a wrong path: say so rather than quietly go on */

    if (found == 0) {
        file.data[len] = '\0';

        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"totp_templates\" directory \"%s\" holds none "
                           "of the gate's files (login.html, style.css, ...), "
                           "the built-in pages are used", file.data);

        *tpls = builtin;

        return NGX_CONF_OK;
    }

    if (ngx_http_totp_templates_translate(cf, t, "\"totp_templates\" file",
                                          dir)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    *tpls = t;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_totp_render_page(ngx_pool_t *pool, ngx_http_totp_templates_t *t,
    ngx_uint_t lang, ngx_http_totp_page_e page, totp_render_var_t *vars,
    size_t nvars, ngx_str_t *out)
{
    size_t                        len;
    ngx_str_t                    *tpl, *buf;
    totp_render_var_t            *all;
    ngx_pool_cleanup_t           *cln;
    ngx_http_totp_translation_t  *tr;

    if ((ngx_uint_t) page >= NGX_HTTP_TOTP_PAGE_COUNT
        || lang >= NGX_HTTP_TOTP_LANGS)
    {
        return NGX_ERROR;
    }

    tr = &t->lang[lang];

    /*
     * The enrollment page holds the new secret: both the page and the
     * whole document are wiped when the request's pool goes away.
     */

    cln = ngx_pool_cleanup_add(pool, 2 * sizeof(ngx_str_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    buf = cln->data;
    ngx_memzero(buf, 2 * sizeof(ngx_str_t));
    cln->handler = ngx_http_totp_templates_wipe;

    tpl = &tr->page[page];

    len = totp_render(NULL, tpl->data, tpl->len, vars, nvars);

    buf[0].data = ngx_pnalloc(pool, len);
    if (buf[0].data == NULL) {
        return NGX_ERROR;
    }

    buf[0].len = totp_render(buf[0].data, tpl->data, tpl->len, vars, nvars);

    /* "body" first: the first variable of a name wins */

    all = ngx_palloc(pool, (nvars + 1) * sizeof(totp_render_var_t));
    if (all == NULL) {
        return NGX_ERROR;
    }

    all[0].name = "body";
    all[0].name_len = sizeof("body") - 1;
    all[0].value = buf[0].data;
    all[0].value_len = buf[0].len;

    if (nvars) {
        ngx_memcpy(&all[1], vars, nvars * sizeof(totp_render_var_t));
    }

    tpl = &tr->layout;

    len = totp_render(NULL, tpl->data, tpl->len, all, nvars + 1);

    buf[1].data = ngx_pnalloc(pool, len);
    if (buf[1].data == NULL) {
        return NGX_ERROR;
    }

    buf[1].len = totp_render(buf[1].data, tpl->data, tpl->len, all,
                             nvars + 1);

    *out = buf[1];

    return NGX_OK;
}


/*
 * Each template in each language, its {{@words}} put in.  A word that
 * the English catalog lacks fails "nginx -t"; every other catalog has
 * all of English's words (ngx_http_totp_catalog_complete() for the
 * built-in ones, the built-in one beneath a directory's).
 */

static ngx_int_t
ngx_http_totp_templates_translate(ngx_conf_t *cf,
    ngx_http_totp_templates_t *t, const char *what, ngx_str_t *dir)
{
    size_t              off, nwords;
    ngx_str_t          *src, *dst, quote, none = ngx_null_string;
    ngx_uint_t          i, lang, line;
    totp_render_var_t  *words;

    for (lang = 0; lang < NGX_HTTP_TOTP_LANGS; lang++) {

        if (ngx_http_totp_catalog_words(cf->pool, &t->lang[lang].messages,
                                        &words, &nwords)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i <= NGX_HTTP_TOTP_SLOT_LAYOUT; i++) {
            src = ngx_http_totp_templates_slot(t, i);
            dst = (i == NGX_HTTP_TOTP_SLOT_LAYOUT) ? &t->lang[lang].layout
                                                   : &t->lang[lang].page[i];

            dst->len = totp_render_words(NULL, src->data, src->len, words,
                                         nwords, &off);

            if (dst->len == (size_t) -1) {
                ngx_http_totp_templates_quote(src, off, &quote, &line);

                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%s \"%V%s%V\" names an unknown word at "
                                   "offset %uz (line %ui): \"%V\" (the words "
                                   "are the keys of messages.en)",
                                   what, dir ? dir : &none,
                                   dir ? "/" : "",
                                   &ngx_http_totp_template_files[i],
                                   off, line, &quote);
                return NGX_ERROR;
            }

            dst->data = ngx_pnalloc(cf->pool, dst->len);
            if (dst->data == NULL) {
                return NGX_ERROR;
            }

            (void) totp_render_words(dst->data, src->data, src->len, words,
                                     nwords, &off);

            /*
             * A word's text next to the template's braces could make a
             * tag neither held alone ("{" then "{{x}}}"): the result is
             * checked as its parts were.
             */

            if (ngx_http_totp_templates_check(cf, dst, i, what,
                                              &ngx_http_totp_template_files[i])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_str_t *
ngx_http_totp_templates_slot(ngx_http_totp_templates_t *t, ngx_uint_t slot)
{
    return (slot == NGX_HTTP_TOTP_SLOT_CSS) ? &t->css : &t->source[slot];
}


/*
 * A template must be well formed, and may print unescaped only the markup
 * the module makes: the page inside the layout ({{{body}}}) and the QR
 * code on the enrollment page ({{{qr}}}).  A {{{user}}} or {{{next}}}
 * would hand the page to whoever chose the value.  An error quotes the
 * template from the offending offset to the end of that line, so that the
 * message shows what is wrong, not only where.
 */

static ngx_int_t
ngx_http_totp_templates_check(ngx_conf_t *cf, ngx_str_t *tpl,
    ngx_uint_t slot, const char *what, ngx_str_t *name)
{
    size_t       off;
    ngx_str_t    quote;
    ngx_uint_t   line;
    const char  *raw;

    if (totp_render_check(tpl->data, tpl->len, &off) != 0) {
        ngx_http_totp_templates_quote(tpl, off, &quote, &line);

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s \"%V\" is malformed at offset %uz (line %ui): "
                           "\"%V\" (tags are {{name}}, {{{name}}}, "
                           "{{#name}}, {{^name}}, {{/name}}; names [a-z_]+; "
                           "sections closed innermost first)",
                           what, name, off, line, &quote);
        return NGX_ERROR;
    }

    raw = (slot == NGX_HTTP_TOTP_SLOT_LAYOUT) ? "body"
          : (slot == NGX_HTTP_TOTP_PAGE_ENROLL) ? "qr" : NULL;

    if (totp_render_raw_only(tpl->data, tpl->len, raw, &off) != 0) {
        ngx_http_totp_templates_quote(tpl, off, &quote, &line);

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s \"%V\" prints a value unescaped at offset "
                           "%uz (line %ui): \"%V\"; write {{name}}, which "
                           "escapes it (only {{{body}}} in layout.html and "
                           "{{{qr}}} in enroll.html may be unescaped)",
                           what, name, off, line, &quote);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the line of off, and the template from off to that line's end */

static void
ngx_http_totp_templates_quote(ngx_str_t *tpl, size_t off, ngx_str_t *quote,
    ngx_uint_t *line)
{
    u_char  *p, *last, *eol;

    *line = 1;

    for (p = tpl->data; p < tpl->data + off; p++) {
        if (*p == '\n') {
            (*line)++;
        }
    }

    p = tpl->data + off;
    last = p + ngx_min(tpl->len - off, NGX_HTTP_TOTP_QUOTE_MAX);

    eol = ngx_strlchr(p, last, '\n');
    if (eol) {
        last = eol;
    }

    quote->data = p;
    quote->len = last - p;
}


/* NGX_OK and *data read in full, NGX_DECLINED if path does not exist */

static ngx_int_t
ngx_http_totp_templates_read(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *data)
{
    u_char           *buf;
    off_t             size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_int_t         rc;
    ngx_err_t         err;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        err = ngx_errno;

        if (err == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, err,
                           "\"totp_templates\" " ngx_open_file_n
                           " \"%V\" failed", path);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *path;
    file.log = cf->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"totp_templates\" " ngx_fd_info_n
                           " \"%V\" failed", path);
        goto done;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_templates\" \"%V\" is not a regular file",
                           path);
        goto done;
    }

    size = ngx_file_size(&fi);

    if (size > NGX_HTTP_TOTP_TEMPLATE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_templates\" file \"%V\" is larger than "
                           "%d bytes", path, NGX_HTTP_TOTP_TEMPLATE_MAX);
        goto done;
    }

    buf = ngx_pnalloc(cf->pool, (size_t) size);
    if (buf == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, buf, (size_t) size, 0);

    if (n == NGX_ERROR) {
        goto done;
    }

    if (n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_templates\" " ngx_read_file_n
                           " \"%V\" returned only %z bytes instead of %O",
                           path, n, size);
        goto done;
    }

    data->data = buf;
    data->len = (size_t) size;

    rc = NGX_OK;

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", path);
    }

    return rc;
}


static void
ngx_http_totp_templates_wipe(void *data)
{
    ngx_str_t  *buf = data;

    totp_wipe(buf[0].data, buf[0].len);
    totp_wipe(buf[1].data, buf[1].len);
}
