// Self-checks of every tensor op (`latentcl selftest`): the cases of
// op_cases.c on their default sizes, forward against the double-precision
// host reference and backward against central finite differences.
#include "selftest/selftest.h"
#include "tensor/gradcheck.h"
#include "tensor/selftest_ops.h"

static lc_status check_named(lc_device *dev, lc_selftest_result *r, const char *name) {
    const lc_op_case *oc = lc_op_case_find(name);
    if (!oc) return lc_fail(LC_ERR_INVALID_ARG, "no op case named %s", name);
    lc_ctx *ctx;
    LC_TRY(lc_ctx_create(&ctx, dev));
    lc_case_result res;
    lc_status s = lc_run_case(ctx, oc, NULL, 1234, &res);
    lc_ctx_free(ctx);
    if (s != LC_OK) return s;
    r->fwd_err = res.fwd_err;
    r->grad_err = res.grad_err;
    r->tolerance = oc->grad_tol;
    r->ok = res.fwd_err <= oc->fwd_tol &&
            (res.grad_checked ? res.grad_err >= 0 && res.grad_err <= oc->grad_tol : 1);
    r->detail = "fwd_err relative to max(1,|ref|) (tol 1e-5, 1e-6 for exact ops); grad_err vs "
                "central differences in double, relative to max|fd| (tol = tolerance)";
    return LC_OK;
}

#define LC_OP_CHECK(op)                                                                            \
    lc_status lc_check_op_##op(lc_device *dev, lc_selftest_result *r) {                            \
        return check_named(dev, r, #op);                                                           \
    }
LC_OP_CHECK_LIST(LC_OP_CHECK)
