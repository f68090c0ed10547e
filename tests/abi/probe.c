/* SPDX-License-Identifier: MIT */
/* probe.c - the small library scripts/abi-selftest.sh builds to test the ABI
 * gate's policy: its functions reach the public types the cases edit (a
 * versioned struct, the layer vtable, a library-filled struct, a plain
 * struct, an enum), so abidiff sees every edit. Not part of libae. */
#include <ae.h>
#include <ae/sys/layer.h>

#ifndef PROBE_COUNT_T
#define PROBE_COUNT_T size_t
#endif

__attribute__((visibility("default"))) int probe_train(const ae_train_options *o,
                                                       PROBE_COUNT_T count);
__attribute__((visibility("default"))) int probe_layer(const ae_layer_vtable *vt);
__attribute__((visibility("default"))) int probe_file(ae_file_info *info);
__attribute__((visibility("default"))) int probe_shape(const ae_shape *s, enum ae_loss loss);

int probe_train(const ae_train_options *o, PROBE_COUNT_T count)
{
    return (int)o->epochs + (int)count;
}

int probe_layer(const ae_layer_vtable *vt)
{
    return (int)vt->struct_size;
}

int probe_file(ae_file_info *info)
{
    return (int)info->struct_size;
}

#ifndef PROBE_REMOVE_FUNCTION
int probe_shape(const ae_shape *s, enum ae_loss loss)
{
    return (int)s->rank + (int)loss;
}
#endif

#ifdef PROBE_NEW_FUNCTION
__attribute__((visibility("default"))) int probe_added(int x);
int probe_added(int x)
{
    return x + 1;
}
#endif
