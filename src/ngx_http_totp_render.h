
/*
 * The gate's template engine: a small subset of Mustache.
 *
 *     {{name}}              the value, HTML-escaped
 *     {{{name}}}            the value as it is (only for markup that the
 *                           module itself generates)
 *     {{#name}}...{{/name}} shown when the value is not empty
 *     {{^name}}...{{/name}} shown when the value is empty
 *     {{@name}}             a word of the page's language, put in once
 *                           per language by totp_render_words() before
 *                           any request; totp_render() writes nothing
 *
 * Names are [a-z_]+; a name without a value renders empty.  Sections
 * nest.  Plain C with no nginx types, so that it can be unit-tested and
 * fuzzed on its own.
 */


#ifndef _NGX_HTTP_TOTP_RENDER_H_INCLUDED_
#define _NGX_HTTP_TOTP_RENDER_H_INCLUDED_


#include <stddef.h>


/*
 * nginx loads modules with RTLD_GLOBAL: the core's plain names stay
 * inside the module's shared object.
 */
#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility push(hidden)
#endif


/* sections nested deeper than this are refused by totp_render_check() */
#define TOTP_RENDER_DEPTH_MAX  16


typedef struct {
    const char           *name;
    size_t                name_len;
    const unsigned char  *value;
    size_t                value_len;
} totp_render_var_t;


#define totp_render_var(name, value, len)                                    \
    { name, sizeof(name) - 1, (const unsigned char *) (value), len }


/*
 * 0 if the template is well formed (tags closed, sections balanced and
 * properly nested, at most TOTP_RENDER_DEPTH_MAX deep, names [a-z_]+),
 * else -1 and *err_offset set to the byte offset of the problem: the
 * start of the offending tag, or of the section left open.
 */
int totp_render_check(const unsigned char *tpl, size_t len,
    size_t *err_offset);

/*
 * 0 if every {{{name}}} of a checked template is {{{allowed}}} (none
 * when allowed is NULL), else -1 and *err_offset at the first other: a
 * value printed unescaped must be markup the module made, never what a
 * client sent.
 */
int totp_render_raw_only(const unsigned char *tpl, size_t len,
    const char *allowed, size_t *err_offset);

/*
 * Two passes: with dst NULL returns the exact length needed; otherwise
 * writes and returns the length.  The first variable of a name wins.
 * The template must have passed totp_render_check(); any other input is
 * still rendered safely (within tpl and dst), though not usefully.
 */
size_t totp_render(unsigned char *dst, const unsigned char *tpl, size_t len,
    const totp_render_var_t *vars, size_t nvars);

/*
 * The same for plain text (a message of the catalogs): {{name}} inserts
 * the value as it is, since the page that shows the text escapes it.
 */
size_t totp_render_text(unsigned char *dst, const unsigned char *tpl,
    size_t len, const totp_render_var_t *vars, size_t nvars);

/*
 * A template in one language: each {{@name}} becomes the text of name in
 * words, HTML-escaped but for the tags the text holds ({{n}},
 * {{#one}}...), which stay tags for totp_render().  Two passes as
 * totp_render().  The template and each text must have passed
 * totp_render_check(), so that the result does too.  (size_t) -1, with
 * *err_offset at the tag, when words has no such name.
 */
size_t totp_render_words(unsigned char *dst, const unsigned char *tpl,
    size_t len, const totp_render_var_t *words, size_t nwords,
    size_t *err_offset);


#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility pop
#endif


#endif /* _NGX_HTTP_TOTP_RENDER_H_INCLUDED_ */
