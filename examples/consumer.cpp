/* SPDX-License-Identifier: MIT */
// consumer.cpp - libae used from C++11, as an installed library.
//
// `make check` builds it against the installed headers and libae.so:
//     c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror consumer.cpp
//         $(pkg-config --cflags --libs ae)
// runs it (LD_LIBRARY_PATH pointing at the install) and expects status 0.
// It includes the umbrella header and the extender's header, so both must
// compile cleanly as C++11.
//
// It prints the library version, checks it matches the header, trains a
// 8 -> 3 -> 8 dense autoencoder on random in-memory data for 2 epochs and
// prints the reconstruction loss.
#include <ae.h>
#include <ae/sys/layer.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

const std::size_t kSamples = 64;
const std::uint32_t kFeatures = 8;
const std::uint32_t kLatent = 3;

// Owns the libae handles; destroys whatever is left (destructors take NULL).
struct Handles {
    ae_dataset *ds = nullptr;
    ae_encoder *enc = nullptr;
    ae_decoder *dec = nullptr;
    ae_model *model = nullptr;
    ae_optimizer *opt = nullptr;
    Handles() = default;
    Handles(const Handles &) = delete;
    Handles &operator=(const Handles &) = delete;
    ~Handles()
    {
        ae_optimizer_destroy(opt);
        ae_model_destroy(model);
        ae_decoder_destroy(dec);
        ae_encoder_destroy(enc);
        ae_dataset_destroy(ds);
    }
};

int report(const char *what, int rc)
{
    std::fprintf(stderr, "consumer: %s failed: %s: %s\n", what, ae_strerror(rc),
                 ae_last_error());
    return EXIT_FAILURE;
}

} // namespace

int main()
{
    std::printf("consumer: libae %s (header %s)\n", ae_version_string(),
                AE_VERSION_STRING);
    if (ae_version() != static_cast<unsigned>(AE_VERSION_NUMBER)) {
        std::fprintf(stderr, "consumer: library version %u, header %d\n",
                     ae_version(), AE_VERSION_NUMBER);
        return EXIT_FAILURE;
    }
    std::printf("consumer: built-in layer '%s' registered: %d\n", AE_LAYER_DENSE,
                ae_layer_is_registered(AE_LAYER_DENSE));

    std::mt19937 gen(42);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    std::vector<float> data(kSamples * kFeatures);
    for (float &x : data)
        x = uniform(gen);

    Handles h;
    const ae_shape input = {1, {kFeatures, 0, 0, 0}};
    const ae_shape latent = {1, {kLatent, 0, 0, 0}};
    int rc;
    if ((rc = ae_dataset_from_memory(&h.ds, data.data(), nullptr, kSamples, &input,
                                     AE_DATASET_COPY)) < 0)
        return report("ae_dataset_from_memory", rc);
    if ((rc = ae_encoder_create(&h.enc, &input, 1)) < 0 ||
        (rc = ae_encoder_add_dense(h.enc, kLatent, AE_ACT_TANH)) < 0)
        return report("encoder", rc);
    if ((rc = ae_decoder_create(&h.dec, &latent, 2)) < 0 ||
        (rc = ae_decoder_add_dense(h.dec, kFeatures, AE_ACT_SIGMOID)) < 0)
        return report("decoder", rc);
    if ((rc = ae_model_create(&h.model, h.enc, h.dec)) < 0)
        return report("ae_model_create", rc);
    h.enc = nullptr; // the model owns them now
    h.dec = nullptr;
    if ((rc = ae_optimizer_create(&h.opt, nullptr)) < 0)
        return report("ae_optimizer_create", rc);

    ae_train_options options = AE_TRAIN_OPTIONS_INIT;
    options.epochs = 2;
    options.batch_size = 16;
    options.seed = 7;
    if ((rc = ae_model_train(h.model, h.opt, h.ds, &options)) < 0)
        return report("ae_model_train", rc);

    std::vector<float> recon(data.size());
    if ((rc = ae_model_reconstruct(h.model, data.data(), kSamples, recon.data())) < 0)
        return report("ae_model_reconstruct", rc);
    double loss = 0.0;
    for (std::size_t i = 0; i < data.size(); i++) {
        const double d = static_cast<double>(recon[i]) - static_cast<double>(data[i]);
        loss += d * d;
    }
    loss /= static_cast<double>(data.size());
    if (!std::isfinite(loss)) {
        std::fprintf(stderr, "consumer: the loss is not finite\n");
        return EXIT_FAILURE;
    }
    std::printf("consumer: %zu parameters, 2 epochs, reconstruction MSE %.6f\n",
                ae_model_param_count(h.model), loss);
    return EXIT_SUCCESS;
}
