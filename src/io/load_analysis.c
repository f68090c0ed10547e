/* SPDX-License-Identifier: MIT */
/*
 * load_analysis.c - a PCA and an anomaly detector from an opened model file;
 * ae_pca_load(), ae_detector_load().
 */
#include <stdio.h>

#include "ae/io.h"
#include "io.h"

int ae_file_load_pca(ae_pca **out, const ae_file *f)
{
    static const char who[] = "ae_file_load_pca";
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS(who, "file, out", f, out);
    if (!f->has_pca)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no PCA", who);
    const size_t d = f->pca_features, k = f->pca_components, kd = k * d; /* < 2^62 */
    float *mean = ae__alloc(d * sizeof *mean), *comp = ae__alloc(kd * sizeof *comp);
    double *var = ae__alloc(k * sizeof *var);
    ae_pca *pca = NULL;
    int rc = AE_ERR_NOMEM;
    if (mean == NULL || comp == NULL || var == NULL)
        goto done;
    ae__copy_f32le(mean, f->pca_mean, d);
    ae__copy_f32le(comp, f->pca_comp, kd);
    for (size_t i = 0; i < k; i++)
        var[i] = ae__rdf64(f->pca_var + 8 * i);
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = f->pca_components;
    if ((rc = ae_pca_create(&pca, &po)) < 0)
        goto done;
    if ((rc = ae_pca_set_state(pca, d, k, mean, comp, var, f->pca_total)) < 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", ae_last_error());
        if (rc != AE_ERR_NOMEM)
            rc = ae__error(AE_ERR_FORMAT, "%s: the stored PCA was refused: %s", who, detail);
        goto done;
    }
    *out = pca;
    pca = NULL;
done:
    ae_pca_destroy(pca);
    ae__free(mean);
    ae__free(comp);
    ae__free(var);
    return rc;
}

int ae_file_load_detector(ae_detector **out, const ae_file *f)
{
    static const char who[] = "ae_file_load_detector";
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS(who, "file, out", f, out);
    if (!f->has_detector)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no detector", who);
    ae_detector *det = NULL;
    int rc = ae_detector_create(&det, &f->det);
    if (rc == AE_OK && f->det_fitted)
        rc = ae_detector_set_threshold(det, f->det_threshold);
    if (rc < 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", ae_last_error());
        ae_detector_destroy(det);
        return rc == AE_ERR_NOMEM ? rc
                                  : ae__error(AE_ERR_FORMAT, "%s: the stored detector was refused: "
                                              "%s", who, detail);
    }
    *out = det;
    return AE_OK;
}

int ae_pca_load_v(ae_pca **out, const char *path, unsigned header_version)
{
    AE__LOAD_SHORTCUT(ae_pca, ae_file_load_pca, "ae_pca_load");
}

int ae_detector_load_v(ae_detector **out, const char *path, unsigned header_version)
{
    AE__LOAD_SHORTCUT(ae_detector, ae_file_load_detector, "ae_detector_load");
}
