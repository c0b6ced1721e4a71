
/*
 * totp_render_check() and totp_render() (src/ngx_http_totp_render.c)
 * with hostile values and hostile templates.
 *
 * The built-in templates are read at start-up from the *.html files of
 * html/ (the directory compiled in as TOTP_FUZZ_HTML_DIR, or
 * $TOTP_FUZZ_HTML_DIR); each must pass totp_render_check().
 *
 * Input:
 *
 *     byte 0 even:  a built-in template, number byte0 / 2 (mod their
 *                   count); the rest is the variables' values
 *     byte 0 odd:   bytes 1-2 the length T of a template (big-endian,
 *                   clamped), then T bytes of template, then the values
 *
 * Values are separated by NUL bytes and given, in order, to the names
 * found in the built-in templates (then "a", "b"); names past the last
 * value have no variable.
 *
 * Properties, for every rendering:
 *
 *  - the length pass equals what the writing pass writes, into a buffer
 *    of exactly that length (ASan sees a byte more);
 *  - no raw '<', '>', '"' or '\'' of an escaped variable's value reaches
 *    the output: the output has exactly as many of them as the same
 *    template rendered with neutral values ('x' repeated, same lengths,
 *    so that the same sections show; a variable that the template also
 *    uses raw, {{{name}}}, keeps its value in both);
 *  - the same with every value made of those characters only;
 *  - a built-in page rendered into layout.html as its {{{body}}}, as the
 *    module does, keeps both properties;
 *  - a fuzzed template: totp_render_check() either rejects it with an
 *    offset inside it, or accepts it; render() never crashes and its two
 *    passes agree either way.
 */


#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ngx_http_totp_render.h"
#include "fuzz_common.h"


#ifndef TOTP_FUZZ_HTML_DIR
#define TOTP_FUZZ_HTML_DIR  "html"
#endif

#define MAX_TEMPLATES  32
#define MAX_NAMES      64


typedef struct {
    char            name[64];
    unsigned char  *data;
    size_t          len;
} tpl_t;


static tpl_t    templates[MAX_TEMPLATES];
static size_t   ntemplates;
static int      layout = -1;

static char    *names[MAX_NAMES];
static size_t   nnames;


static int
specials(const unsigned char *p, size_t n)
{
    int     count;
    size_t  i;

    count = 0;

    for (i = 0; i < n; i++) {
        if (p[i] == '<' || p[i] == '>' || p[i] == '"' || p[i] == '\'') {
            count++;
        }
    }

    return count;
}


/* renders with both passes into an exact buffer; returns it */

static unsigned char *
render(const unsigned char *tpl, size_t len, const totp_render_var_t *vars,
    size_t nvars, size_t *out_len)
{
    size_t          n, w;
    unsigned char  *dst;

    n = totp_render(NULL, tpl, len, vars, nvars);

    dst = malloc(n ? n : 1);
    w = totp_render(dst, tpl, len, vars, nvars);

    CHECK(w == n);

    *out_len = n;

    return dst;
}


/* 1 when the template has "{{{name}}}" somewhere */

static int
used_raw(const unsigned char *tpl, size_t len, const char *name)
{
    size_t                nl;
    const unsigned char  *p, *end;

    nl = strlen(name);
    p = tpl;
    end = tpl + len;

    while ((size_t) (end - p) >= nl + 6) {
        p = memchr(p, '{', end - p - (nl + 5));
        if (p == NULL) {
            return 0;
        }

        if (p[1] == '{' && p[2] == '{' && memcmp(p + 3, name, nl) == 0
            && memcmp(p + 3 + nl, "}}}", 3) == 0)
        {
            return 1;
        }

        p++;
    }

    return 0;
}


/*
 * Fills neutral[] with vars' neutral twins: the same names and lengths,
 * values of 'x' (buffers from the arena `xs`), raw ones unchanged.
 */

static void
neutralize(const unsigned char *tpl, size_t len, const totp_render_var_t *vars,
    totp_render_var_t *neutral, size_t nvars, unsigned char *xs)
{
    size_t  i;

    for (i = 0; i < nvars; i++) {
        neutral[i] = vars[i];

        if (!used_raw(tpl, len, vars[i].name)) {
            neutral[i].value = xs;
        }
    }
}


/* renders with vars and with their neutral twins: same specials */

static void
check_escaped(const unsigned char *tpl, size_t len,
    const totp_render_var_t *vars, size_t nvars, unsigned char *xs)
{
    size_t              n1, n2;
    unsigned char      *out, *ref;
    totp_render_var_t   neutral[MAX_NAMES];

    neutralize(tpl, len, vars, neutral, nvars, xs);

    out = render(tpl, len, vars, nvars, &n1);
    ref = render(tpl, len, neutral, nvars, &n2);

    CHECK(specials(out, n1) == specials(ref, n2));

    free(ref);
    free(out);
}


/* a built-in page, then layout.html around it */

static void
check_page(size_t t, const totp_render_var_t *vars, size_t nvars,
    unsigned char *xs)
{
    size_t              i, n1, n2, l1, l2;
    unsigned char      *page, *npage, *out, *ref;
    totp_render_var_t   lv[MAX_NAMES + 1], nlv[MAX_NAMES + 1];
    totp_render_var_t   neutral[MAX_NAMES];

    check_escaped(templates[t].data, templates[t].len, vars, nvars, xs);

    if (layout < 0 || (size_t) layout == t) {
        return;
    }

    neutralize(templates[t].data, templates[t].len, vars, neutral, nvars, xs);

    page = render(templates[t].data, templates[t].len, vars, nvars, &n1);
    npage = render(templates[t].data, templates[t].len, neutral, nvars, &n2);

    /* body first: the first variable of a name wins */

    lv[0].name = "body";
    lv[0].name_len = 4;
    lv[0].value = page;
    lv[0].value_len = n1;

    nlv[0] = lv[0];
    nlv[0].value = npage;
    nlv[0].value_len = n2;

    neutralize(templates[layout].data, templates[layout].len, vars, neutral,
               nvars, xs);

    for (i = 0; i < nvars; i++) {
        lv[i + 1] = vars[i];
        nlv[i + 1] = neutral[i];
    }

    out = render(templates[layout].data, templates[layout].len, lv,
                 nvars + 1, &l1);
    ref = render(templates[layout].data, templates[layout].len, nlv,
                 nvars + 1, &l2);

    CHECK(specials(out, l1) == specials(ref, l2));

    free(ref);
    free(out);
    free(npage);
    free(page);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc;
    size_t              i, t, tlen, nvars, start, maxv, err;
    const uint8_t      *tpl, *v, *end;
    unsigned char      *xs, *sp;
    totp_render_var_t   vars[MAX_NAMES], hostile[MAX_NAMES];

    if (size == 0 || ntemplates == 0) {
        return 0;
    }

    tpl = NULL;
    tlen = 0;
    t = 0;

    if (data[0] % 2 == 0) {
        t = (data[0] / 2) % ntemplates;
        start = 1;

    } else {
        tlen = size >= 3 ? (size_t) data[1] << 8 | data[2] : 0;
        start = size >= 3 ? 3 : size;

        if (tlen > size - start) {
            tlen = size - start;
        }

        tpl = data + start;
        start += tlen;
    }

    /* the values, NUL-separated */

    nvars = 0;
    maxv = 0;
    v = data + start;
    end = data + size;

    while (v < end && nvars < nnames) {
        const uint8_t  *nul = memchr(v, '\0', end - v);
        size_t          vlen = nul ? (size_t) (nul - v) : (size_t) (end - v);

        vars[nvars].name = names[nvars];
        vars[nvars].name_len = strlen(names[nvars]);
        vars[nvars].value = v;
        vars[nvars].value_len = vlen;

        if (vlen > maxv) {
            maxv = vlen;
        }

        nvars++;

        if (nul == NULL) {
            break;
        }

        v = nul + 1;
    }

    xs = malloc(maxv + 1);
    memset(xs, 'x', maxv + 1);

    /* the same values, each byte made one of the specials */

    sp = malloc(size + 1);
    for (i = 0; i < size; i++) {
        sp[i] = (unsigned char) "<>\"'&"[data[i] % 5];
    }

    for (i = 0; i < nvars; i++) {
        hostile[i] = vars[i];
        hostile[i].value = sp + (vars[i].value - data);
    }

    if (tpl == NULL) {
        check_page(t, vars, nvars, xs);
        check_page(t, hostile, nvars, xs);

    } else {
        err = (size_t) -1;
        rc = totp_render_check(tpl, tlen, &err);

        CHECK(rc == 0 || rc == -1);
        CHECK(rc == 0 || err < tlen);

        check_escaped(tpl, tlen, vars, nvars, xs);
        check_escaped(tpl, tlen, hostile, nvars, xs);
    }

    free(sp);
    free(xs);

    return 0;
}


static void
add_name(const unsigned char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < nnames; i++) {
        if (strlen(names[i]) == n && memcmp(names[i], p, n) == 0) {
            return;
        }
    }

    if (nnames < MAX_NAMES) {
        names[nnames] = strndup((const char *) p, n);
        nnames++;
    }
}


static int
by_name(const void *a, const void *b)
{
    return strcmp(((const tpl_t *) a)->name, ((const tpl_t *) b)->name);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char            path[4096];
    size_t          i, j, k, n, err;
    FILE           *f;
    DIR            *d;
    const char     *dir;
    unsigned char  *p;
    struct dirent  *de;

    dir = getenv("TOTP_FUZZ_HTML_DIR");
    if (dir == NULL) {
        dir = TOTP_FUZZ_HTML_DIR;
    }

    d = opendir(dir);
    if (d == NULL) {
        perror(dir);
        exit(1);
    }

    while ((de = readdir(d)) != NULL && ntemplates < MAX_TEMPLATES) {
        n = strlen(de->d_name);

        if (n < 6 || n >= sizeof(templates[0].name)
            || strcmp(de->d_name + n - 5, ".html") != 0)
        {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);

        f = fopen(path, "rb");
        if (f == NULL) {
            perror(path);
            exit(1);
        }

        p = malloc(1 << 20);
        n = fread(p, 1, 1 << 20, f);
        fclose(f);

        strcpy(templates[ntemplates].name, de->d_name);
        templates[ntemplates].data = p;
        templates[ntemplates].len = n;
        ntemplates++;
    }

    closedir(d);

    if (ntemplates == 0) {
        fprintf(stderr, "no templates in %s\n", dir);
        exit(1);
    }

    /* a stable order, whatever readdir() says */
    qsort(templates, ntemplates, sizeof(tpl_t), by_name);

    for (i = 0; i < ntemplates; i++) {
        p = templates[i].data;
        n = templates[i].len;

        if (totp_render_check(p, n, &err) != 0) {
            fprintf(stderr, "%s: rejected at %zu\n", templates[i].name, err);
            exit(1);
        }

        if (strcmp(templates[i].name, "layout.html") == 0) {
            layout = (int) i;
        }

        /* the names inside "{{" tags, in order of appearance */

        for (j = 0; j + 1 < n; j++) {
            if (p[j] != '{' || p[j + 1] != '{') {
                continue;
            }

            k = j + 2;
            while (k < n && strchr("{#^/", p[k]) && p[k] != '\0') {
                k++;
            }

            j = k;
            while (k < n && ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '_')) {
                k++;
            }

            if (k > j) {
                add_name(p + j, k - j);
            }
        }
    }

    add_name((const unsigned char *) "a", 1);
    add_name((const unsigned char *) "b", 1);

    return 0;
}
