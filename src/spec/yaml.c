/* yaml.c: a small YAML tree with marks, built from libyaml events (part of
 * the spec reader; the format is described in spec.c). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

/* ------------------------------------------------------------------ */
/* A small YAML tree with marks                                        */
/* ------------------------------------------------------------------ */

nm_status spec_oom(nm_err *err) { return nm_err_set(err, NM_ERR_RUNTIME, "out of memory"); }

void yfree(ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        yfree(n->kid[i]);
    free(n->kid);
    free(n->s);
    free(n);
}

ynode *ynew(int kind, const char *file, int line, int col, ycount *cnt)
{
    ynode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->file = file;
    n->line = line;
    n->col = col;
    n->seq = ++cnt->seq;
    cnt->nnodes++;
    return n;
}

bool ypush(ynode *parent, ynode *child)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? 2 * parent->cap : 8;
        ynode **k = realloc(parent->kid, cap * sizeof *k);
        if (!k)
            return false;
        parent->kid = k;
        parent->cap = cap;
    }
    parent->kid[parent->n++] = child;
    return true;
}

/* Removes entries [i, i+count) of kid, freeing them. */
void ydel(ynode *parent, size_t i, size_t count)
{
    for (size_t j = i; j < i + count; j++)
        yfree(parent->kid[j]);
    memmove(parent->kid + i, parent->kid + i + count,
            (parent->n - i - count) * sizeof *parent->kid);
    parent->n -= count;
}

/* Deep copy for an alias: marks kept, new sequence numbers. NULL on out of
 * memory or when the node limit is reached (*toomany set). */
ynode *ycopy(const ynode *src, ycount *cnt, bool *toomany)
{
    if (cnt->nnodes >= NODES_MAX) {
        *toomany = true;
        return NULL;
    }
    ynode *n = ynew(src->kind, src->file, src->line, src->col, cnt);
    if (!n)
        return NULL;
    n->plain = src->plain;
    if (src->s && !(n->s = strdup(src->s))) {
        yfree(n);
        return NULL;
    }
    for (size_t i = 0; i < src->n; i++) {
        ynode *k = ycopy(src->kid[i], cnt, toomany);
        if (!k || !ypush(n, k)) {
            yfree(k);
            yfree(n);
            return NULL;
        }
    }
    return n;
}

bool yis_null(const ynode *n)
{
    return n->kind == YN_SCALAR && n->plain &&
           (!n->s[0] || !strcmp(n->s, "~") || !strcmp(n->s, "null") || !strcmp(n->s, "Null") ||
            !strcmp(n->s, "NULL"));
}

bool ykey_is(const ynode *k, const char *name)
{
    return k->kind == YN_SCALAR && !strcmp(k->s, name);
}

/* Value of the first key `name` of mapping m, or NULL. */
ynode *ymap_get(const ynode *m, const char *name, size_t *at)
{
    for (size_t i = 0; i < YPAIRS(m); i++)
        if (ykey_is(YKEY(m, i), name)) {
            if (at)
                *at = i;
            return YVAL(m, i);
        }
    return NULL;
}

/* "2.5", "\"5\" (a quoted string)", "a list", "a mapping", "nothing". */
void ydescribe(const ynode *n, char *buf, size_t len)
{
    if (n->kind == YN_SEQ) {
        snprintf(buf, len, "a list");
    } else if (n->kind == YN_MAP) {
        snprintf(buf, len, "a mapping");
    } else if (yis_null(n)) {
        snprintf(buf, len, "nothing");
    } else {
        const char *dots = strlen(n->s) > 40 ? "..." : "";
        if (n->plain)
            snprintf(buf, len, "'%.40s%s'", n->s, dots);
        else
            snprintf(buf, len, "\"%.40s%s\" (a quoted string)", n->s, dots);
    }
}

/* Where `other` is, as seen from a message about `at`: "L:C", or
 * "FILE:L:C" when it is in another file (the spec vs a --set). */
void ywhere(const ynode *at, const ynode *other, char *buf, size_t len)
{
    if (!strcmp(at->file, other->file))
        snprintf(buf, len, "%d:%d", other->line, other->col);
    else
        snprintf(buf, len, "%s:%d:%d", other->file, other->line, other->col);
}

nm_status ybad(nm_err *err, const ynode *n, const char *fmt, ...)
{
    char msg[NM_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nm_err_at(err, n->file, n->line, n->col, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* libyaml events -> tree                                              */
/* ------------------------------------------------------------------ */

static void ymark(const ysrc *src, yaml_mark_t m, int *line, int *col)
{
    if (m.index >= src->len && m.line > 0 && m.column == 0 && src->len &&
        src->text[src->len - 1] != '\n') {
        /* libyaml ends a text without a final newline with a line break of
         * its own: report the end of the last line instead. */
        size_t start = src->len;
        while (start > 0 && src->text[start - 1] != '\n')
            start--;
        m.line--;
        m.column = src->len - start;
    }
    *line = (int)m.line + 1;
    *col = (int)m.column + 1 + (m.line == 0 ? src->coloff : 0);
}

static nm_status ysyntax(const ysrc *src, const yaml_parser_t *ps, nm_err *err)
{
    const char *problem = ps->problem ? ps->problem : "unknown error";
    int line, col;
    if (ps->error == YAML_MEMORY_ERROR)
        return spec_oom(err);
    if (ps->error == YAML_READER_ERROR) {
        size_t off = ps->problem_offset < src->len ? ps->problem_offset : src->len;
        line = 1;
        col = 1 + src->coloff;
        for (size_t i = 0; i < off; i++) {
            if (src->text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        if (ps->problem_value != -1)
            return nm_err_at(err, src->file, line, col, "cannot read YAML: %s (byte 0x%02X)",
                             problem, (unsigned)ps->problem_value & 0xFFu);
        return nm_err_at(err, src->file, line, col, "cannot read YAML: %s", problem);
    }
    ymark(src, ps->problem_mark, &line, &col);
    if (ps->context) {
        int cl, cc;
        ymark(src, ps->context_mark, &cl, &cc);
        return nm_err_at(err, src->file, line, col, "YAML syntax error: %s (%s at %d:%d)", problem,
                         ps->context, cl, cc);
    }
    return nm_err_at(err, src->file, line, col, "YAML syntax error: %s", problem);
}

typedef struct {
    char *name;
    ynode *node;
} yanchor;

/* Takes name (freed on failure). */
static nm_status add_anchor(yanchor **anch, size_t *n, size_t *cap, char *name, ynode *node,
                            nm_err *err)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        yanchor *a = realloc(*anch, c * sizeof *a);
        if (!a) {
            free(name);
            return spec_oom(err);
        }
        *anch = a;
        *cap = c;
    }
    (*anch)[*n].name = name;
    (*anch)[(*n)++].node = node;
    return NM_OK;
}

/* Parses src into a tree (*out; NULL for an empty stream). */
nm_status yload(const ysrc *src, ycount *cnt, ynode **out, nm_err *err)
{
    yaml_parser_t ps;
    yaml_event_t ev;
    struct {
        ynode *node;
        char *anchor;
    } stack[DEPTH_MAX];
    size_t depth = 0;
    yanchor *anch = NULL;
    size_t nanch = 0, capanch = 0;
    ynode *root = NULL;
    int ndocs = 0;
    nm_status st = NM_OK;

    *out = NULL;
    if (!yaml_parser_initialize(&ps))
        return spec_oom(err);
    yaml_parser_set_input_string(&ps, (const unsigned char *)src->text, src->len);
    for (bool done = false; !done && !st;) {
        if (!yaml_parser_parse(&ps, &ev)) {
            st = ysyntax(src, &ps, err);
            break;
        }
        int line, col;
        ymark(src, ev.start_mark, &line, &col);
        ynode *nn = NULL;
        const char *tag = NULL, *anchor = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > 1)
                st = nm_err_at(err, src->file, line, col,
                               "expected a single YAML document, found a second one");
            break;
        case YAML_ALIAS_EVENT: {
            const char *name = (const char *)ev.data.alias.anchor;
            ynode *target = NULL;
            for (size_t i = nanch; i-- > 0;)
                if (!strcmp(anch[i].name, name)) {
                    target = anch[i].node;
                    break;
                }
            if (!target) {
                st = nm_err_at(err, src->file, line, col, "unknown alias '*%s'%s", name,
                               " (an alias must follow its complete &anchor)");
                break;
            }
            bool toomany = false;
            nn = ycopy(target, cnt, &toomany);
            if (!nn)
                st = toomany ? nm_err_at(err, src->file, line, col,
                                         "too many YAML nodes (more than %u, aliases included)",
                                         NODES_MAX)
                             : spec_oom(err);
            break;
        }
        case YAML_SCALAR_EVENT:
            tag = (const char *)ev.data.scalar.tag;
            anchor = (const char *)ev.data.scalar.anchor;
            if (tag)
                break;
            if (strlen((const char *)ev.data.scalar.value) != ev.data.scalar.length) {
                st = nm_err_at(err, src->file, line, col, "NUL characters are not allowed");
                break;
            }
            if (!(nn = ynew(YN_SCALAR, src->file, line, col, cnt)) ||
                !(nn->s = strdup((const char *)ev.data.scalar.value))) {
                yfree(nn);
                nn = NULL;
                st = spec_oom(err);
                break;
            }
            nn->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_SEQUENCE_START_EVENT) {
                tag = (const char *)ev.data.sequence_start.tag;
                anchor = (const char *)ev.data.sequence_start.anchor;
            } else {
                tag = (const char *)ev.data.mapping_start.tag;
                anchor = (const char *)ev.data.mapping_start.anchor;
            }
            if (tag)
                break;
            if (depth == DEPTH_MAX) {
                st = nm_err_at(err, src->file, line, col, "nested too deeply (more than %d levels)",
                               DEPTH_MAX);
                break;
            }
            nn = ynew(ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP, src->file, line, col,
                      cnt);
            if (!nn)
                st = spec_oom(err);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            /* Registered only now, so an alias cannot point into its own
             * anchor (no cycles). */
            if (stack[depth].anchor)
                st = add_anchor(&anch, &nanch, &capanch, stack[depth].anchor, stack[depth].node,
                                err);
            break;
        default:
            break;
        }
        if (!st && tag)
            st = nm_err_at(err, src->file, line, col,
                           "YAML tags (here '%s') are not supported; write the plain value", tag);
        if (!st && cnt->nnodes > NODES_MAX)
            st = nm_err_at(err, src->file, line, col, "too many YAML nodes (more than %u)",
                           NODES_MAX);
        if (st && nn) {
            yfree(nn);
            nn = NULL;
        }
        if (!st && nn) {
            if (depth == 0) {
                root = nn;
            } else if (!ypush(stack[depth - 1].node, nn)) {
                yfree(nn);
                st = spec_oom(err);
            }
            char *a = NULL;
            if (!st && anchor && !(a = strdup(anchor)))
                st = spec_oom(err);
            if (!st && nn->kind != YN_SCALAR && ev.type != YAML_ALIAS_EVENT) {
                stack[depth].node = nn; /* anchor registered when complete */
                stack[depth++].anchor = a;
            } else if (!st && a) {
                st = add_anchor(&anch, &nanch, &capanch, a, nn, err);
            }
        }
        yaml_event_delete(&ev);
    }
    for (size_t i = 0; i < depth; i++)
        free(stack[i].anchor);
    for (size_t i = 0; i < nanch; i++)
        free(anch[i].name);
    free(anch);
    yaml_parser_delete(&ps);
    if (st) {
        yfree(root);
        return st;
    }
    *out = root;
    return NM_OK;
}
