
/*
 * TAP unit tests for src/ngx_http_totp_render.c, and for html/'s
 * templates through it.
 *
 *     render_test [HTML_DIR]      HTML_DIR defaults to "html"
 */


#define _POSIX_C_SOURCE  200809L

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_totp_render.h"
#include "tap.h"


#define S(s)  (const unsigned char *) (s), (sizeof(s) - 1)
#define V(n, v)  { (n), sizeof(n) - 1, (const unsigned char *) (v),           \
                   sizeof(v) - 1 }
#define NV(a)  (a), (sizeof(a) / sizeof((a)[0]))


/*
 * Renders into a buffer of exactly the announced length followed by
 * guard bytes, so that a write past the length shows.  Returns a
 * NUL-terminated malloc()ed copy, or NULL when the two passes disagree or
 * a guard byte changed.
 */
static char *
render(const char *tpl, size_t len, const totp_render_var_t *vars,
    size_t nvars, size_t *out_len)
{
    size_t          need, got, i;
    unsigned char  *buf;

    need = totp_render(NULL, (const unsigned char *) tpl, len, vars, nvars);

    buf = malloc(need + 16 + 1);
    if (buf == NULL) {
        abort();
    }

    memset(buf, 0xa5, need + 16);

    got = totp_render(buf, (const unsigned char *) tpl, len, vars, nvars);

    for (i = need; i < need + 16; i++) {
        if (buf[i] != 0xa5) {
            diag("wrote past the announced length %zu", need);
            free(buf);
            return NULL;
        }
    }

    if (got != need) {
        diag("length pass %zu, write pass %zu", need, got);
        free(buf);
        return NULL;
    }

    buf[got] = '\0';
    *out_len = got;

    return (char *) buf;
}


static void
render_is(const char *tpl, const totp_render_var_t *vars, size_t nvars,
    const char *want, const char *name)
{
    int     rc;
    char   *got;
    size_t  len, off;

    off = 0;
    rc = totp_render_check((const unsigned char *) tpl, strlen(tpl), &off);

    if (!ok(rc == 0, "%s: template is well formed", name)) {
        diag("check failed at offset %zu of \"%s\"", off, tpl);
    }

    got = render(tpl, strlen(tpl), vars, nvars, &len);

    if (!ok(got != NULL && len == strlen(want) && strcmp(got, want) == 0,
            "%s", name))
    {
        diag("template \"%s\"", tpl);
        diag("     got \"%s\"", got ? got : "(passes disagree)");
        diag("    want \"%s\"", want);
    }

    free(got);
}


static void
check_fails(const char *tpl, size_t want_off, const char *name)
{
    int     rc;
    size_t  off;

    off = (size_t) -1;
    rc = totp_render_check((const unsigned char *) tpl, strlen(tpl), &off);

    if (!ok(rc == -1 && off == want_off, "check rejects %s", name)) {
        diag("\"%s\": rc %d, offset %zu, want -1 at %zu",
             tpl, rc, off, want_off);
    }
}


static void
test_vars(void)
{
    static const totp_render_var_t  v[] = {
        V("name", "alice"),
        V("amp", "&"),
        V("lt", "<"),
        V("gt", ">"),
        V("quot", "\""),
        V("apos", "'"),
        V("all", "<a href=\"x\" title='y'>&amp;</a>"),
        V("plain", "caf\xc3\xa9 {{name}} 100%"),
        V("empty", ""),
        V("dup", "first"),
        V("dup", "second"),
        V("under_score", "u")
    };

    render_is("", NV(v), "", "empty template");
    render_is("just text", NV(v), "just text", "text only");
    render_is("Hi {{name}}!", NV(v), "Hi alice!", "a variable");
    render_is("{{name}}{{name}}", NV(v), "alicealice", "twice, adjacent");
    render_is("{{amp}}", NV(v), "&amp;", "escapes &");
    render_is("{{lt}}", NV(v), "&lt;", "escapes <");
    render_is("{{gt}}", NV(v), "&gt;", "escapes >");
    render_is("{{quot}}", NV(v), "&quot;", "escapes \"");
    render_is("{{apos}}", NV(v), "&#39;", "escapes '");
    render_is("[{{all}}]", NV(v),
              "[&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;"
              "&amp;amp;&lt;/a&gt;]",
              "escapes a mix, text between kept");
    render_is("{{plain}}", NV(v), "caf\xc3\xa9 {{name}} 100%",
              "UTF-8 and braces in a value are left alone");
    render_is("{{{all}}}", NV(v), "<a href=\"x\" title='y'>&amp;</a>",
              "a raw variable");
    render_is("{{{plain}}}", NV(v), "caf\xc3\xa9 {{name}} 100%",
              "a raw value is not rendered again");
    render_is("a{{nope}}b{{{nope}}}c", NV(v), "abc", "unknown names: empty");
    render_is("a{{empty}}b", NV(v), "ab", "an empty value");
    render_is("{{dup}}", NV(v), "first", "the first of a name wins");
    render_is("{{under_score}}", NV(v), "u", "underscore in a name");
    render_is("{{name}}", NULL, 0, "", "no variables at all");

    render_is("{ } a{b }} {x}} {{name}}}", NV(v), "{ } a{b }} {x}} alice}",
              "single braces and a stray }} are text");
}


/* messages of the catalogs: plain text in, plain text out */

static void
text_is(const char *tpl, const totp_render_var_t *vars, size_t nvars,
    const char *want, const char *name)
{
    size_t          need, got;
    unsigned char   buf[256];

    need = totp_render_text(NULL, (const unsigned char *) tpl, strlen(tpl),
                            vars, nvars);
    got = totp_render_text(buf, (const unsigned char *) tpl, strlen(tpl),
                           vars, nvars);

    if (!ok(need == got && got == strlen(want)
            && memcmp(buf, want, got) == 0, "text: %s", name))
    {
        diag("want \"%s\", got %zu of %zu bytes", want, got, need);
    }
}


static void
test_text(void)
{
    static const totp_render_var_t  v[] = {
        V("minutes", "15"),
        V("one", ""),
        V("quoted", "<\"it's\">"),
        V("n", "1"),
    };

    text_is("Try again in {{minutes}} {{#one}}minute{{/one}}"
            "{{^one}}minutes{{/one}}.", NV(v), "Try again in 15 minutes.",
            "a value and a plural");
    text_is("{{quoted}} & {{{quoted}}}", NV(v), "<\"it's\"> & <\"it's\">",
            "values as they are: the page escapes the whole text");
    text_is("{{#n}}one{{/n}}", NV(v), "one", "a section shown");
    text_is("a{{nope}}b", NV(v), "ab", "an unknown name: empty");
}


/* expands words into tpl and renders the result with vars */
static void
words_is(const char *tpl, const totp_render_var_t *words, size_t nwords,
    const totp_render_var_t *vars, size_t nvars, const char *want,
    const char *name)
{
    char           *got;
    size_t          need, len, off;
    unsigned char  *buf;

    need = totp_render_words(NULL, (const unsigned char *) tpl, strlen(tpl),
                             words, nwords, &off);

    if (!ok(need != (size_t) -1, "%s: every word is there", name)) {
        diag("no word at offset %zu of \"%s\"", off, tpl);
        return;
    }

    buf = calloc(1, need + 1);
    if (buf == NULL) {
        abort();
    }

    len = totp_render_words(buf, (const unsigned char *) tpl, strlen(tpl),
                            words, nwords, &off);

    ok(len == need, "%s: both passes agree", name);

    if (!ok(totp_render_check(buf, len, &off) == 0,
            "%s: the result is well formed", name))
    {
        diag("\"%s\" at %zu", buf, off);
    }

    got = render((const char *) buf, len, vars, nvars, &len);

    if (!ok(got != NULL && strcmp(got, want) == 0, "%s", name)) {
        diag("expanded \"%s\"", buf);
        diag("     got \"%s\"", got ? got : "(passes disagree)");
        diag("    want \"%s\"", want);
    }

    free(got);
    free(buf);
}


static void
test_words(void)
{
    size_t  off;

    static const totp_render_var_t  words[] = {
        V("lang", "fr"),
        V("sign_in", "Se connecter"),
        V("quote", "l'\"appli\" & <co>"),
        V("who", "Connect\xc3\xa9 : {{user}}"),
        V("left", "{{n}} {{#one}}code{{/one}}{{^one}}codes{{/one}} {x}"),
        V("empty", "")
    };

    static const totp_render_var_t  vars[] = {
        V("user", "<b>bob</b>"),
        V("n", "1"),
        V("one", "1")
    };

    words_is("<html lang=\"{{@lang}}\"><h1>{{@sign_in}}</h1>",
             NV(words), NV(vars), "<html lang=\"fr\"><h1>Se connecter</h1>",
             "words put in");
    words_is("<a title=\"{{@quote}}\">{{@quote}}</a>", NV(words), NV(vars),
             "<a title=\"l&#39;&quot;appli&quot; &amp; &lt;co&gt;\">"
             "l&#39;&quot;appli&quot; &amp; &lt;co&gt;</a>",
             "a word is escaped, in text and in attributes");
    words_is("<p>{{@who}}</p>", NV(words), NV(vars),
             "<p>Connect\xc3\xa9 : &lt;b&gt;bob&lt;/b&gt;</p>",
             "a word's {{tag}} stays a tag, its value escaped per request");
    words_is("{{@left}}", NV(words), NV(vars), "1 code {x}",
             "sections inside a word; a lone brace is text");
    words_is("{{#user}}[{{@empty}}]{{/user}}{{{user}}}", NV(words), NV(vars),
             "[]<b>bob</b>", "the template's own tags stay as they were");
    words_is("a { b } c", NV(words), NV(vars), "a { b } c",
             "lone braces are text");
    words_is("{{@sign_in}}", NV(words), NULL, 0, "Se connecter",
             "a word left to render needs no value");

    render_is("a{{@sign_in}}b", NULL, 0, "ab",
              "a word not put in renders as nothing");

    off = 0;
    ok(totp_render_words(NULL, S("ok {{@nope}}"), NV(words), &off)
       == (size_t) -1 && off == 3, "an unknown word: refused at its tag");
    check_fails("{{@}}", 0, "a word without a name");
    check_fails("{{@Bad}}", 0, "a word with a capital");
}


static void
test_sections(void)
{
    static const totp_render_var_t  v[] = {
        V("yes", "1"),
        V("no", ""),
        V("user", "bob"),
        V("error", "bad <code>")
    };

    render_is("[{{#yes}}shown{{/yes}}]", NV(v), "[shown]", "section shown");
    render_is("[{{#no}}hidden{{/no}}]", NV(v), "[]", "empty: hidden");
    render_is("[{{#nope}}hidden{{/nope}}]", NV(v), "[]", "unknown: hidden");
    render_is("[{{^yes}}hidden{{/yes}}]", NV(v), "[]", "inverted, non-empty");
    render_is("[{{^no}}shown{{/no}}]", NV(v), "[shown]", "inverted, empty");
    render_is("[{{^nope}}shown{{/nope}}]", NV(v), "[shown]",
              "inverted, unknown");
    render_is("{{#user}}Signed in as {{user}}{{/user}}", NV(v),
              "Signed in as bob", "a variable inside a section");
    render_is("{{#error}}<p role=\"alert\">{{error}}</p>{{/error}}", NV(v),
              "<p role=\"alert\">bad &lt;code&gt;</p>",
              "escaped inside a section");

    render_is("{{#yes}}a{{#user}}b{{/user}}c{{/yes}}", NV(v), "abc",
              "nested, both shown");
    render_is("{{#yes}}a{{#no}}b{{/no}}c{{/yes}}", NV(v), "ac",
              "nested, inner hidden");
    render_is("{{#no}}a{{#yes}}b{{/yes}}c{{/no}}d", NV(v), "d",
              "nested, outer hidden hides the inner too");
    render_is("{{#no}}a{{^yes}}b{{/yes}}{{^no}}c{{/no}}{{/no}}d", NV(v), "d",
              "inverted sections inside a hidden one stay hidden");
    render_is("{{#yes}}{{^no}}{{#user}}{{user}}{{/user}}{{/no}}{{/yes}}",
              NV(v), "bob", "three deep");
    render_is("{{#yes}}1{{#yes}}2{{/yes}}3{{/yes}}", NV(v), "123",
              "the same name nested, shown");
    render_is("{{#no}}1{{#no}}2{{/no}}3{{/no}}4", NV(v), "4",
              "the same name nested, hidden");
    render_is("{{#link}}<a>{{#text}}{{text}}{{/text}}"
              "{{^text}}Continue{{/text}}</a>{{/link}}", NV(v), "",
              "message page's link, no link");
    render_is("{{#no}}{{{error}}}{{nope}}{{/no}}x", NV(v), "x",
              "variables inside a hidden section are skipped");
    render_is("{{#yes}}{{/yes}}{{^no}}{{/no}}", NV(v), "", "empty sections");
}


static void
test_check(void)
{
    int     rc;
    char    tpl[1024];
    size_t  i, off;

    check_fails("{{", 0, "a lone {{");
    check_fails("ab{{name", 2, "an unclosed tag");
    check_fails("ab{{name}", 2, "a tag closed by one brace");
    check_fails("{{{name}}", 0, "a raw tag closed by two braces");
    check_fails("x {{{name}} y", 2, "a raw tag closed by two, then text");
    check_fails("{{}}", 0, "an empty name");
    check_fails("{{#}}", 0, "an empty section name");
    check_fails("{{/}}", 0, "an empty close");
    check_fails("{{Name}}", 0, "upper case in a name");
    check_fails("12{{na-me}}", 2, "a dash in a name");
    check_fails("{{ name }}", 0, "spaces in a tag");
    check_fails("{{name1}}", 0, "a digit in a name");
    check_fails("{{&name}}", 0, "mustache's & form");
    check_fails("{{!comment}}", 0, "mustache's comments");
    check_fails("{{>partial}}", 0, "mustache's partials");
    check_fails("{{{#name}}}", 0, "a raw section");
    check_fails("{{a{{b}}", 0, "a tag inside a tag");
    check_fails("ok {{#a}}x", 3, "a section left open");
    check_fails("{{#a}}{{#b}}x{{/b}}", 0, "an outer section left open");
    check_fails("{{#a}}{{#b}}x", 6, "the innermost open section named");
    check_fails("x{{/a}}", 1, "a close without an open");
    check_fails("{{#a}}{{/b}}", 6, "a close of another name");
    check_fails("{{#a}}{{#b}}{{/a}}{{/b}}", 12, "misnested sections");
    check_fails("{{#a}}{{/a}}{{/a}}", 12, "one close too many");
    check_fails("{{^a}}{{/b}}", 6, "an inverted section closed wrongly");

    /* the deepest nesting allowed, and one more */

    tpl[0] = '\0';

    for (i = 0; i < TOTP_RENDER_DEPTH_MAX; i++) {
        strcat(tpl, "{{#a}}");
    }

    for (i = 0; i < TOTP_RENDER_DEPTH_MAX; i++) {
        strcat(tpl, "{{/a}}");
    }

    off = 0;
    rc = totp_render_check((unsigned char *) tpl, strlen(tpl), &off);
    ok(rc == 0, "%d nested sections pass", TOTP_RENDER_DEPTH_MAX);

    tpl[0] = '\0';

    for (i = 0; i <= TOTP_RENDER_DEPTH_MAX; i++) {
        strcat(tpl, "{{#a}}");
    }

    for (i = 0; i <= TOTP_RENDER_DEPTH_MAX; i++) {
        strcat(tpl, "{{/a}}");
    }

    check_fails(tpl, TOTP_RENDER_DEPTH_MAX * 6, "one section too deep");

    /* the length is honoured: a tag cut off by it is not read past it */

    off = 0;
    rc = totp_render_check(S("{{a}}"), &off);
    ok(rc == 0, "control: {{a}} passes");

    off = 0;
    rc = totp_render_check((const unsigned char *) "{{a}}", 4, &off);
    ok(rc == -1 && off == 0, "{{a} at the end of the length fails");

    off = 0;
    rc = totp_render_check(NULL, 0, &off);
    ok(rc == 0, "an empty template passes");
}


/* {{{name}}} only for the one name a template may print unescaped */
static void
test_raw_only(void)
{
    int     rc;
    size_t  off;

    off = 99;
    rc = totp_render_raw_only(S("<p>{{user}} {{#a}}x{{/a}}</p>"), NULL, &off);
    ok(rc == 0 && off == 99, "escaped values and sections only: passes");

    rc = totp_render_raw_only(S("<p>{{{user}}}</p>"), NULL, &off);
    ok(rc == -1 && off == 3, "{{{user}}} with none allowed: fails at 3");

    rc = totp_render_raw_only(S("{{{qr}}}"), "qr", &off);
    ok(rc == 0, "{{{qr}}} where qr is allowed: passes");

    rc = totp_render_raw_only(S("{{{qr}}}{{{q}}}"), "qr", &off);
    ok(rc == -1 && off == 8, "{{{q}}}, a prefix of the allowed name: fails");

    rc = totp_render_raw_only(S("{{{qrx}}}"), "qr", &off);
    ok(rc == -1 && off == 0, "{{{qrx}}}, longer than the allowed name: fails");

    rc = totp_render_raw_only(S("{{#qr}}{{qr}}{{/qr}}{{{body}}}"), "qr",
                              &off);
    ok(rc == -1 && off == 20, "another raw name after a section: fails");

    rc = totp_render_raw_only(S("{{{"), NULL, &off);
    ok(rc == -1 && off == 0, "a tag left open: fails at it");
}


/*
 * Random templates, well formed or not: the two passes agree, nothing is
 * written past the length, and a template that passes the check renders
 * without a "{{" of its own.
 */
static void
test_random(void)
{
    char      tpl[512];
    char     *got;
    size_t    i, n, len, off, passed, agreed;
    uint32_t  seed;

    static const char  *frag[] = {
        "{{", "}}", "}", "{", "a", "b", "x", "_", "#", "^", "/", "{{{",
        "}}}", "{{a}}", "{{#a}}", "{{/a}}", "{{^b}}", "{{/b}}", "{{{a}}}",
        "<", "&", "\"", "'", "{{b}}", "{{#b}}", "{{^a}}", " "
    };

    static const totp_render_var_t  v[] = {
        V("a", "<&\"'>"),
        V("b", "")
    };

    seed = 12345;
    passed = 0;
    agreed = 0;

    for (i = 0; i < 20000; i++) {
        len = 0;
        n = 1 + (seed >> 16) % 24;

        while (n--) {
            seed = seed * 1103515245 + 12345;
            off = (seed >> 16) % (sizeof(frag) / sizeof(frag[0]));

            memcpy(tpl + len, frag[off], strlen(frag[off]));
            len += strlen(frag[off]);
        }

        got = render(tpl, len, NV(v), &n);
        if (got == NULL) {
            diag("template \"%.*s\"", (int) len, tpl);
            break;
        }

        if (totp_render_check((unsigned char *) tpl, len, &off) == 0) {
            passed++;

            if (strstr(got, "{{") != NULL) {
                diag("\"%.*s\" rendered \"%s\"", (int) len, tpl, got);
                free(got);
                break;
            }

        } else if (off >= len) {
            diag("\"%.*s\": offset %zu past the end", (int) len, tpl, off);
            free(got);
            break;
        }

        free(got);
        agreed++;
    }

    ok(agreed == 20000, "20000 random templates: passes agree, no overrun,"
       " offsets inside");
    ok(passed > 100, "and %zu of them were well formed", passed);
}


static char *
read_file(const char *dir, const char *name, size_t *len)
{
    char    path[4096];
    char   *buf;
    long    size;
    FILE   *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    buf = malloc((size_t) size + 1);
    if (buf == NULL) {
        abort();
    }

    *len = fread(buf, 1, (size_t) size, f);
    buf[*len] = '\0';

    fclose(f);

    return buf;
}


static int
contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}


/*
 * messages.en's "key: text" lines as words for totp_render_words(); the
 * names and values point into the file's text, which is kept.
 */
static totp_render_var_t *
read_words(const char *dir, size_t *n, char **file)
{
    char               *text, *line, *next, *colon, *end;
    size_t              len, max;
    totp_render_var_t  *w;

    text = read_file(dir, "messages.en", &len);
    *file = text;

    if (text == NULL) {
        *n = 0;
        return NULL;
    }

    max = 1024;
    w = calloc(max, sizeof(totp_render_var_t));
    if (w == NULL) {
        abort();
    }

    *n = 0;

    for (line = text; line && *line; line = next) {
        next = strchr(line, '\n');
        end = next ? next : line + strlen(line);

        if (next) {
            *next++ = '\0';
        }

        colon = strchr(line, ':');

        if (line[0] == '#' || colon == NULL || *n == max) {
            continue;
        }

        w[*n].name = line;
        w[*n].name_len = (size_t) (colon - line);

        for (colon++; *colon == ' '; colon++) { /* void */ }

        w[*n].value = (unsigned char *) colon;
        w[*n].value_len = (size_t) (end - colon);
        (*n)++;
    }

    return w;
}


/* a template of dir with its {{@words}} put in, or NULL */
static char *
read_page(const char *dir, const char *name, const totp_render_var_t *words,
    size_t nwords, size_t *len)
{
    char    *tpl, *out;
    size_t   need, off;

    tpl = read_file(dir, name, len);
    if (tpl == NULL) {
        return NULL;
    }

    need = totp_render_words(NULL, (unsigned char *) tpl, *len, words,
                             nwords, &off);

    if (need == (size_t) -1) {
        diag("%s: no word at offset %zu: \"%.30s\"", name, off, tpl + off);
        free(tpl);
        return NULL;
    }

    out = malloc(need + 1);
    if (out == NULL) {
        abort();
    }

    *len = totp_render_words((unsigned char *) out, (unsigned char *) tpl,
                             *len, words, nwords, &off);
    out[*len] = '\0';

    free(tpl);

    return out;
}


/*
 * html/'s templates: each is well formed, and renders, with every variable
 * set to a hostile value, into the layout without a "{{" left and with
 * no markup from a value.
 */
static void
test_html(const char *dir)
{
    int                 rc;
    char               *tpl, *layout, *page, *doc, *p, *catalog;
    size_t              i, len, layout_len, off, doc_len, nwords;
    unsigned            n;
    totp_render_var_t  *words;

    static const char  *files[] = {
        "login.html", "verify.html", "enroll.html", "reset.html",
        "logout.html", "message.html"
    };

    /* every name a page may use; "body" is set per page below */
    static totp_render_var_t  v[] = {
        V("body", ""),
        V("title", "T<i>"),
        V("issuer", "Acme \"Corp\" & <Co>"),
        V("css", "/_totp/style.css"),
        V("action", "/_totp/x?a=1&b=2"),
        V("csrf", "c\"s'r<f>"),
        V("next", "/n?x=\"><script>alert(1)</script>"),
        V("user", "<script>alert(1)</script>"),
        V("error", "<b>wrong</b>"),
        V("digits", "6"),
        V("trust_for", "30 days"),
        V("login", "/_totp/login"),
        V("recovery", "/_totp/recovery"),
        V("qr", "<svg id=\"raw-qr\"></svg>"),
        V("secret", "ABCD EFGH"),
        V("uri", "otpauth://totp/A:b?secret=X&issuer=A"),
        V("algorithm", "SHA1"),
        V("period", "30"),
        V("cancel", "/"),
        V("heading", "<h1>Heading</h1>"),
        V("message", "m&m"),
        V("link", "/"),
        V("link_text", "Back")
    };

    n = 0;

    words = read_words(dir, &nwords, &catalog);
    ok(nwords > 100, "messages.en has the pages' words (%zu)", nwords);

    layout = read_page(dir, "layout.html", words, nwords, &layout_len);

    if (!ok(layout != NULL, "%s/layout.html is there", dir)) {
        return;
    }

    rc = totp_render_check((unsigned char *) layout, layout_len, &off);
    if (!ok(rc == 0, "layout.html is well formed")) {
        diag("at offset %zu", off);
    }

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        tpl = read_page(dir, files[i], words, nwords, &len);

        if (!ok(tpl != NULL, "%s/%s is there", dir, files[i])) {
            continue;
        }

        rc = totp_render_check((unsigned char *) tpl, len, &off);
        if (!ok(rc == 0, "%s is well formed", files[i])) {
            diag("at offset %zu: \"%.30s\"", off, tpl + off);
        }

        page = render(tpl, len, NV(v), &len);
        ok(page != NULL, "%s: both passes agree", files[i]);

        if (page == NULL) {
            free(tpl);
            continue;
        }

        v[0].value = (unsigned char *) page;
        v[0].value_len = len;

        doc = render(layout, layout_len, NV(v), &doc_len);

        ok(doc != NULL && contains(doc, "<html lang=\"en\">")
           && contains(doc, page),
           "%s: the page sits in the layout", files[i]);

        if (doc == NULL) {
            free(page);
            free(tpl);
            continue;
        }

        ok(!contains(doc, "{{") && !contains(doc, "}}"),
           "%s: no tag left over", files[i]);

        ok(!contains(doc, "<script") && !contains(doc, "<b>")
           && !contains(doc, "<i>") && !contains(doc, "<Co>")
           && !contains(doc, "<h1>Heading"),
           "%s: no markup from a value", files[i]);

        ok(!contains(doc, "x=\"><") && !contains(doc, "c\"s"),
           "%s: no attribute broken out of", files[i]);

        ok(contains(doc, "<title>T&lt;i&gt; &ndash; Acme &quot;Corp&quot; "
                         "&amp; &lt;Co&gt;</title>"),
           "%s: the title, escaped", files[i]);

        if (strcmp(files[i], "message.html") != 0) {
            ok(contains(doc, "method=\"post\"")
               && contains(doc, "action=\"/_totp/x?a=1&amp;b=2\"")
               && contains(doc, "name=\"csrf\" value=\"c&quot;s&#39;r&lt;f"
                                "&gt;\""),
               "%s: posts, with the csrf token", files[i]);
        }

        if (contains(tpl, "{{error}}")) {
            ok(contains(doc, "role=\"alert\">&lt;b&gt;wrong&lt;/b&gt;<"),
               "%s: the error, in role=alert", files[i]);
        }

        /* "123 456" pasted whole: no pattern, room for the separators */

        if (contains(tpl, "name=\"code\"")) {
            ok(contains(doc, "maxlength=\"20\"")
               && !contains(doc, "pattern="),
               "%s: the code field takes spaces and dashes", files[i]);
        }

        if (contains(tpl, "trust_for")) {
            ok(contains(doc, "Trust this browser for 30 days"),
               "%s: the trust checkbox", files[i]);
        }

        if (strcmp(files[i], "enroll.html") == 0) {
            ok(contains(doc, "<svg id=\"raw-qr\"></svg>"),
               "enroll.html: qr is raw");
            ok(contains(doc, "id=\"totp-secret\">ABCD EFGH<"),
               "enroll.html: the secret in #totp-secret");
            ok(contains(doc, "href=\"otpauth://totp/A:b?secret=X&amp;"
                             "issuer=A\""),
               "enroll.html: the otpauth link");
        }

        if (strcmp(files[i], "message.html") == 0) {
            ok(contains(doc, "&lt;h1&gt;Heading&lt;/h1&gt;")
               && contains(doc, "m&amp;m") && contains(doc, ">Back</a>"),
               "message.html: heading, message, link text");
        }

        /* the same page with every variable empty */

        free(doc);
        free(page);

        {
            totp_render_var_t  none[] = { V("css", "/s.css") };

            page = render(tpl, strlen(tpl), NV(none), &len);
            ok(page != NULL && !contains(page, "{{")
               && !contains(page, "role=\"alert\"")
               && !contains(page, "name=\"trust\""),
               "%s: with no values, no error box and no trust checkbox",
               files[i]);

            if (page && strcmp(files[i], "message.html") == 0) {
                ok(!contains(page, "<a"), "message.html: no link, no <a>");
            }

            free(page);
        }

        n++;
        free(tpl);
    }

    ok(n == sizeof(files) / sizeof(files[0]), "all %u pages rendered", n);

    /* style.css is not a template, but the pages need it */

    p = read_file(dir, "style.css", &len);
    ok(p != NULL && len > 0 && contains(p, "prefers-color-scheme: dark"),
       "style.css is there, with a dark scheme");
    free(p);

    free(layout);
    free(words);
    free(catalog);
}


int
main(int argc, char **argv)
{
    test_vars();
    test_text();
    test_words();
    test_sections();
    test_check();
    test_raw_only();
    test_random();
    test_html(argc > 1 ? argv[1] : "html");

    printf("1..%u\n", tests);

    if (failures) {
        diag("%u of %u tests failed", failures, tests);
        return 1;
    }

    return 0;
}
