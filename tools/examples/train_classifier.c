// Trains the Fashion-MNIST MLP (784-512-256-10, ReLU; Adam 1e-3, batch 128) with
// latentcl's one training loop, then prints its test accuracy and confusion matrix.
//   cc train_classifier.c $(pkg-config --cflags --libs latentcl) -o train_classifier
//   ./train_classifier [EPOCHS [TRAIN_IMAGES]]    (defaults: 5 epochs on all 60,000)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <latentcl/classifier.h>
#include <latentcl/latentcl.h>

// Progress from the loop: a line every 100 steps. Returning non-zero would stop it.
static int progress(void *user, const lc_progress *p) {
    (void)user;
    if (p->step % 100 == 0 || p->step == p->total)
        fprintf(stderr, "step %lld/%lld  loss %.4f\n", (long long)p->step, (long long)p->total,
                p->loss);
    return 0;
}

int main(int argc, char **argv) {
    long epochs = argc > 1 ? atol(argv[1]) : 5, n_train = argc > 2 ? atol(argv[2]) : 0;
    lc_data train = {0}, test = {0};
    lc_device *dev = NULL;
    lc_classifier *model = NULL;
    int64_t confusion[10 * 10];
    double accuracy = 0;

    lc_data_options data = {.split = LC_SPLIT_TRAIN};
    lc_status s = lc_data_open(&train, "fashion-mnist", &data); // or $LATENTCL_DATA
    data.split = LC_SPLIT_TEST;
    if (s == LC_OK) s = lc_data_open(&test, "fashion-mnist", &data);
    lc_dataset head = train.images; // the first n_train images: a view, no copy
    if (n_train > 0 && n_train < head.n) head.n = n_train;

    if (s == LC_OK) s = lc_device_open(&dev, NULL); // $LATENTCL_DEVICE, else GPU, else CPU
    if (s == LC_OK) s = lc_classifier_for_dataset(&model, dev, LC_CLASSIFIER_MLP, &head, 0);

    lc_train_options opts;
    lc_train_options_default(&opts); // Adam 1e-3, batch 128, seed 0; no run folder
    opts.epochs = epochs;
    lc_train_result result;
    if (s == LC_OK)
        s = lc_classifier_train(&result, model, &head, &test.images, &opts, progress, NULL);
    if (s == LC_OK) s = lc_classifier_evaluate(model, &accuracy, NULL, confusion, &test.images);

    if (s == LC_OK) {
        printf("%lld steps in %.1f s: test accuracy %.4f\n", (long long)result.steps,
               result.seconds, accuracy);
        for (int r = 0; r < 10; r++) {
            printf("%12s", lc_classifier_class_name(model, r));
            for (int c = 0; c < 10; c++)
                printf(" %5lld", (long long)confusion[r * 10 + c]);
            printf("\n");
        }
    } else {
        fprintf(stderr, "train_classifier: %s\n", lc_last_error());
    }
    lc_classifier_free(model);
    lc_device_close(dev);
    lc_data_free(&train);
    lc_data_free(&test);
    return s == LC_OK ? 0 : 1;
}
