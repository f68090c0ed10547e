/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the process-wide table of layer kinds. Built-in kinds live
 * in a static array; custom kinds in a mutex-protected list with reference
 * counts, so a kind can be unregistered while layers of it still exist.
 */
#include <pthread.h>
#include <string.h>

#include "core/core.h"
#include "layer.h"

typedef struct custom_kind {
    ae__kind kind;
    size_t refs;      /* the registration counts as one */
    int registered;
    struct custom_kind *next;
} custom_kind;

static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static custom_kind *customs;

static void builtin_fill(ae__kind *k, const ae_layer_vtable *vt)
{
    memset(k, 0, sizeof *k);
    k->vt = *vt;
    strncpy(k->name, vt->type_name, AE_LAYER_NAME_MAX);
    k->builtin = 1;
}

/* The catalogue's kinds as registry entries, in catalogue order. */
static void builtins_init(void)
{
    for (size_t i = 0; i < ae__builtin_count; i++)
        builtin_fill(&ae__builtin_kinds[i], ae__builtins[i].vt);
}

static ae__kind *builtin_find(const char *name)
{
    const ae__builtin *b = ae__builtin_find(name);
    if (b == NULL)
        return NULL;
    pthread_once(&builtins_once, builtins_init);
    return &ae__builtin_kinds[b - ae__builtins];
}

/* Caller holds the lock. */
static custom_kind *custom_find(const char *name)
{
    for (custom_kind *c = customs; c != NULL; c = c->next)
        if (c->registered && strcmp(c->kind.name, name) == 0)
            return c;
    return NULL;
}

static int name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > AE_LAYER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* Drops one reference with the lock held. When none is left, unlinks the
 * kind and returns it: the caller frees it with custom_free() after
 * unlocking, so a user_free that calls back into libae cannot deadlock. */
static custom_kind *custom_unref_locked(custom_kind *c)
{
    if (--c->refs != 0)
        return NULL;
    for (custom_kind **p = &customs; *p != NULL; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    return c;
}

static void custom_free(custom_kind *c)
{
    if (c == NULL)
        return;
    if (c->kind.user_free != NULL)
        c->kind.user_free(c->kind.user_data);
    ae__free(c);
}

int ae_layer_register(const ae_layer_vtable *vt, void *user_data, void (*user_free)(void *))
{
    /* The first released layout ends with backward(). */
    const size_t min_size = offsetof(ae_layer_vtable, backward) + sizeof vt->backward;
    if (vt == NULL)
        return ae__error(AE_ERR_INVALID, "ae_layer_register: vtable is NULL");
    int rc = ae__check_struct(vt, vt->struct_size, min_size, sizeof *vt, "ae_layer_register");
    if (rc < 0)
        return rc;
    if (vt->abi_version != AE_LAYER_ABI_VERSION)
        return ae__error(AE_ERR_VERSION, "ae_layer_register: abi_version %u, this library speaks %d",
                         vt->abi_version, AE_LAYER_ABI_VERSION);
    if (vt->type_name == NULL || !name_valid(vt->type_name))
        return ae__error(AE_ERR_INVALID,
                         "ae_layer_register: type_name must be 1 to %d characters of [A-Za-z0-9_.:-]",
                         AE_LAYER_NAME_MAX);
    if (vt->create == NULL || vt->destroy == NULL || vt->forward == NULL)
        return ae__error(AE_ERR_INVALID, "ae_layer_register: %s: create, destroy and forward are required",
                         vt->type_name);
    if (vt->param_count != NULL && vt->param_get == NULL)
        return ae__error(AE_ERR_INVALID, "ae_layer_register: %s: param_count needs param_get",
                         vt->type_name);
    /* Read only the slots the caller's struct_size covers in full; the rest
     * (a slot it ends inside included) count as NULL. */
    ae_layer_vtable copy;
    size_t covered = vt->struct_size < sizeof copy ? vt->struct_size : sizeof copy;
    covered -= covered % sizeof(void *);
    memset(&copy, 0, sizeof copy);
    memcpy(&copy, vt, covered);
    if (copy.state_count != NULL && copy.state_get == NULL)
        return ae__error(AE_ERR_INVALID, "ae_layer_register: %s: state_count needs state_get",
                         vt->type_name);
    int extra = (copy.extra_size != NULL) + (copy.extra_save != NULL) + (copy.extra_load != NULL);
    if (extra != 0 && extra != 3)
        return ae__error(AE_ERR_INVALID,
                         "ae_layer_register: %s: extra_size, extra_save and extra_load go together"
                         " (set all three or none)", vt->type_name);
    if (builtin_find(vt->type_name) != NULL)
        return ae__error(AE_ERR_EXISTS, "ae_layer_register: '%s' is a built-in layer kind",
                         vt->type_name);

    custom_kind *c = ae__calloc(1, sizeof *c);
    if (c == NULL)
        return AE_ERR_NOMEM;
    c->kind.vt = copy;
    c->kind.vt.struct_size = sizeof *vt;
    strncpy(c->kind.name, vt->type_name, AE_LAYER_NAME_MAX);
    c->kind.vt.type_name = c->kind.name;
    c->kind.user_data = user_data;
    c->kind.user_free = user_free;
    c->refs = 1;
    c->registered = 1;

    pthread_mutex_lock(&lock);
    if (custom_find(vt->type_name) != NULL) {
        pthread_mutex_unlock(&lock);
        ae__free(c);
        return ae__error(AE_ERR_EXISTS, "ae_layer_register: '%s' is already registered", vt->type_name);
    }
    c->next = customs;
    customs = c;
    pthread_mutex_unlock(&lock);
    return AE_OK;
}

int ae_layer_unregister(const char *type_name)
{
    if (type_name == NULL)
        return ae__error(AE_ERR_INVALID, "ae_layer_unregister: type_name is NULL");
    if (builtin_find(type_name) != NULL)
        return ae__error(AE_ERR_UNSUPPORTED, "ae_layer_unregister: '%s' is built in", type_name);
    pthread_mutex_lock(&lock);
    custom_kind *c = custom_find(type_name);
    if (c == NULL) {
        pthread_mutex_unlock(&lock);
        return ae__error(AE_ERR_NOT_FOUND, "ae_layer_unregister: no layer kind '%s'", type_name);
    }
    c->registered = 0;
    custom_kind *dead = custom_unref_locked(c);
    pthread_mutex_unlock(&lock);
    custom_free(dead);
    return AE_OK;
}

int ae_layer_is_registered(const char *type_name)
{
    if (type_name == NULL)
        return 0;
    if (builtin_find(type_name) != NULL)
        return 1;
    pthread_mutex_lock(&lock);
    int found = custom_find(type_name) != NULL;
    pthread_mutex_unlock(&lock);
    return found;
}

int ae__kind_acquire(const char *name, ae__kind **out)
{
    ae__kind *b = builtin_find(name);
    if (b != NULL) {
        *out = b;
        return AE_OK;
    }
    pthread_mutex_lock(&lock);
    custom_kind *c = custom_find(name);
    if (c != NULL)
        c->refs++;
    pthread_mutex_unlock(&lock);
    if (c == NULL)
        return ae__error(AE_ERR_NOT_FOUND, "no layer kind '%s' is registered", name);
    *out = &c->kind;
    return AE_OK;
}

void ae__kind_release(ae__kind *kind)
{
    if (kind == NULL || kind->builtin)
        return;
    /* kind is the first member of custom_kind */
    custom_kind *c = (custom_kind *)(void *)kind;
    pthread_mutex_lock(&lock);
    custom_kind *dead = custom_unref_locked(c);
    pthread_mutex_unlock(&lock);
    custom_free(dead);
}
