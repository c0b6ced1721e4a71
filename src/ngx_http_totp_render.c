
/*
 * The gate's template engine; the syntax is described in the header.
 */


#include <string.h>

#include "ngx_http_totp_render.h"


typedef enum {
    TOTP_TAG_VAR = 0,
    TOTP_TAG_RAW,
    TOTP_TAG_SECTION,
    TOTP_TAG_INVERTED,
    TOTP_TAG_CLOSE,
    TOTP_TAG_WORD
} totp_tag_kind_t;


typedef struct {
    totp_tag_kind_t       kind;
    const unsigned char  *name;
    size_t                name_len;
    size_t                end;        /* offset just past the tag */
} totp_tag_t;


/* dst is NULL in the length pass; len counts in both passes */
typedef struct {
    unsigned char        *dst;
    size_t                len;
} totp_out_t;


static size_t totp_render_next(const unsigned char *tpl, size_t len,
    size_t pos);
static int totp_render_tag(const unsigned char *tpl, size_t len, size_t pos,
    totp_tag_t *tag);
static const totp_render_var_t *totp_render_lookup(
    const totp_render_var_t *vars, size_t nvars, const unsigned char *name,
    size_t name_len);
static size_t totp_render_out(unsigned char *dst, const unsigned char *tpl,
    size_t len, const totp_render_var_t *vars, size_t nvars, int escape);
static void totp_render_put(totp_out_t *out, const void *s, size_t n);
static void totp_render_escape(totp_out_t *out, const unsigned char *s,
    size_t n);
static void totp_render_word(totp_out_t *out, const unsigned char *s,
    size_t n);


int
totp_render_check(const unsigned char *tpl, size_t len, size_t *err_offset)
{
    size_t      pos, depth;
    totp_tag_t  tag;

    /* the sections open so far, innermost last */
    struct {
        const unsigned char  *name;
        size_t                name_len;
        size_t                offset;
    } sections[TOTP_RENDER_DEPTH_MAX];

    depth = 0;

    for (pos = totp_render_next(tpl, len, 0);
         pos < len;
         pos = totp_render_next(tpl, len, tag.end))
    {
        if (totp_render_tag(tpl, len, pos, &tag) != 0) {
            *err_offset = pos;
            return -1;
        }

        switch (tag.kind) {

        case TOTP_TAG_SECTION:
        case TOTP_TAG_INVERTED:

            if (depth == TOTP_RENDER_DEPTH_MAX) {
                *err_offset = pos;
                return -1;
            }

            sections[depth].name = tag.name;
            sections[depth].name_len = tag.name_len;
            sections[depth].offset = pos;
            depth++;
            break;

        case TOTP_TAG_CLOSE:

            if (depth == 0
                || sections[depth - 1].name_len != tag.name_len
                || memcmp(sections[depth - 1].name, tag.name, tag.name_len)
                   != 0)
            {
                *err_offset = pos;
                return -1;
            }

            depth--;
            break;

        default:
            break;
        }
    }

    if (depth) {
        *err_offset = sections[depth - 1].offset;
        return -1;
    }

    return 0;
}


int
totp_render_raw_only(const unsigned char *tpl, size_t len,
    const char *allowed, size_t *err_offset)
{
    size_t      pos;
    totp_tag_t  tag;

    for (pos = totp_render_next(tpl, len, 0);
         pos < len;
         pos = totp_render_next(tpl, len, tag.end))
    {
        if (totp_render_tag(tpl, len, pos, &tag) != 0) {
            *err_offset = pos;
            return -1;
        }

        if (tag.kind == TOTP_TAG_RAW
            && (allowed == NULL
                || tag.name_len != strlen(allowed)
                || memcmp(tag.name, allowed, tag.name_len) != 0))
        {
            *err_offset = pos;
            return -1;
        }
    }

    return 0;
}


size_t
totp_render(unsigned char *dst, const unsigned char *tpl, size_t len,
    const totp_render_var_t *vars, size_t nvars)
{
    return totp_render_out(dst, tpl, len, vars, nvars, 1);
}


size_t
totp_render_text(unsigned char *dst, const unsigned char *tpl, size_t len,
    const totp_render_var_t *vars, size_t nvars)
{
    return totp_render_out(dst, tpl, len, vars, nvars, 0);
}


static size_t
totp_render_out(unsigned char *dst, const unsigned char *tpl, size_t len,
    const totp_render_var_t *vars, size_t nvars, int escape)
{
    int                       shown;
    size_t                    pos, next, skip;
    totp_tag_t                tag;
    totp_out_t                out;
    const totp_render_var_t  *var;

    out.dst = dst;
    out.len = 0;

    /*
     * skip counts the sections entered since the outermost hidden one,
     * that one included: nothing is written while it is not 0.  A checked
     * template nests properly, so counting is enough to find where the
     * hidden section ends.
     */

    skip = 0;
    pos = 0;

    while (pos < len) {
        next = totp_render_next(tpl, len, pos);

        if (skip == 0) {
            totp_render_put(&out, tpl + pos, next - pos);
        }

        if (next == len) {
            break;
        }

        if (totp_render_tag(tpl, len, next, &tag) != 0) {

            /* only an unchecked template gets here: the brace is text */

            if (skip == 0) {
                totp_render_put(&out, tpl + next, 1);
            }

            pos = next + 1;
            continue;
        }

        pos = tag.end;

        if (skip) {
            if (tag.kind == TOTP_TAG_SECTION
                || tag.kind == TOTP_TAG_INVERTED)
            {
                skip++;

            } else if (tag.kind == TOTP_TAG_CLOSE) {
                skip--;
            }

            continue;
        }

        var = totp_render_lookup(vars, nvars, tag.name, tag.name_len);

        switch (tag.kind) {

        case TOTP_TAG_VAR:
            if (var && escape) {
                totp_render_escape(&out, var->value, var->value_len);

            } else if (var) {
                totp_render_put(&out, var->value, var->value_len);
            }
            break;

        case TOTP_TAG_RAW:
            if (var) {
                totp_render_put(&out, var->value, var->value_len);
            }
            break;

        case TOTP_TAG_WORD:
            /* put in before, by totp_render_words() */
            break;

        case TOTP_TAG_SECTION:
        case TOTP_TAG_INVERTED:
            shown = (var != NULL && var->value_len > 0);

            if (tag.kind == TOTP_TAG_INVERTED) {
                shown = !shown;
            }

            if (!shown) {
                skip = 1;
            }

            break;

        default: /* TOTP_TAG_CLOSE of a section that was shown */
            break;
        }
    }

    return out.len;
}


size_t
totp_render_words(unsigned char *dst, const unsigned char *tpl, size_t len,
    const totp_render_var_t *words, size_t nwords, size_t *err_offset)
{
    size_t                    pos, next;
    totp_tag_t                tag;
    totp_out_t                out;
    const totp_render_var_t  *word;

    out.dst = dst;
    out.len = 0;

    for (pos = 0; pos < len; pos = tag.end) {
        next = totp_render_next(tpl, len, pos);

        totp_render_put(&out, tpl + pos, next - pos);

        if (next == len) {
            break;
        }

        if (totp_render_tag(tpl, len, next, &tag) != 0) {
            totp_render_put(&out, tpl + next, 1);
            tag.end = next + 1;
            continue;
        }

        if (tag.kind != TOTP_TAG_WORD) {
            totp_render_put(&out, tpl + next, tag.end - next);
            continue;
        }

        word = totp_render_lookup(words, nwords, tag.name, tag.name_len);

        if (word == NULL) {
            *err_offset = next;
            return (size_t) -1;
        }

        totp_render_word(&out, word->value, word->value_len);
    }

    return out.len;
}


/* a word's text: escaped as a value is, its own tags kept as tags */

static void
totp_render_word(totp_out_t *out, const unsigned char *s, size_t n)
{
    size_t      pos, next;
    totp_tag_t  tag;

    for (pos = 0; pos < n; pos = tag.end) {
        next = totp_render_next(s, n, pos);

        totp_render_escape(out, s + pos, next - pos);

        if (next == n) {
            break;
        }

        if (totp_render_tag(s, n, next, &tag) != 0) {
            totp_render_escape(out, s + next, 1);
            tag.end = next + 1;
            continue;
        }

        totp_render_put(out, s + next, tag.end - next);
    }
}


/* the offset of the next "{{" at or after pos, or len */

static size_t
totp_render_next(const unsigned char *tpl, size_t len, size_t pos)
{
    const unsigned char  *p;

    while (pos < len) {
        p = memchr(tpl + pos, '{', len - pos);
        if (p == NULL) {
            return len;
        }

        pos = p - tpl;

        if (pos + 1 < len && tpl[pos + 1] == '{') {
            return pos;
        }

        pos++;
    }

    return len;
}


/* tpl + pos starts with "{{"; 0 and *tag for a well formed tag, or -1 */

static int
totp_render_tag(const unsigned char *tpl, size_t len, size_t pos,
    totp_tag_t *tag)
{
    size_t  p, braces;

    p = pos + 2;
    braces = 2;
    tag->kind = TOTP_TAG_VAR;

    if (p < len) {
        switch (tpl[p]) {

        case '{':
            tag->kind = TOTP_TAG_RAW;
            braces = 3;
            p++;
            break;

        case '#':
            tag->kind = TOTP_TAG_SECTION;
            p++;
            break;

        case '^':
            tag->kind = TOTP_TAG_INVERTED;
            p++;
            break;

        case '/':
            tag->kind = TOTP_TAG_CLOSE;
            p++;
            break;

        case '@':
            tag->kind = TOTP_TAG_WORD;
            p++;
            break;
        }
    }

    tag->name = tpl + p;

    while (p < len && ((tpl[p] >= 'a' && tpl[p] <= 'z') || tpl[p] == '_')) {
        p++;
    }

    tag->name_len = (size_t) (tpl + p - tag->name);

    if (tag->name_len == 0 || len - p < braces) {
        return -1;
    }

    while (braces--) {
        if (tpl[p++] != '}') {
            return -1;
        }
    }

    tag->end = p;

    return 0;
}


static const totp_render_var_t *
totp_render_lookup(const totp_render_var_t *vars, size_t nvars,
    const unsigned char *name, size_t name_len)
{
    size_t  i;

    /* a dozen variables a page: a linear search is the fastest there is */

    for (i = 0; i < nvars; i++) {
        if (vars[i].name_len == name_len
            && memcmp(vars[i].name, name, name_len) == 0)
        {
            return &vars[i];
        }
    }

    return NULL;
}


static void
totp_render_put(totp_out_t *out, const void *s, size_t n)
{
    if (out->dst && n) {
        memcpy(out->dst + out->len, s, n);
    }

    out->len += n;
}


/*
 * The five characters that can end a text node or a quoted attribute
 * value, so that a value is safe in either place.
 */

static void
totp_render_escape(totp_out_t *out, const unsigned char *s, size_t n)
{
    size_t       i, start;
    const char  *entity;

    if (n == 0) {
        return;
    }

    start = 0;

    for (i = 0; i < n; i++) {

        switch (s[i]) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }

        totp_render_put(out, s + start, i - start);
        totp_render_put(out, entity, strlen(entity));
        start = i + 1;
    }

    totp_render_put(out, s + start, n - start);
}
