// CLBlast GEMM backend (the GPU path): row-major SGEMM on the device's queue.
// CLBlast compiles its kernels per device and shape class on first use and
// keeps them for the life of the process.
#include <stdio.h>

#include <clblast_c.h>

#include "device/gemm_internal.h"

const char *lc_clblast_status_name(int code) {
    switch (code) {
#define S(x)                                                                                       \
    case x: return #x;
        S(CLBlastSuccess)
        S(CLBlastOpenCLCompilerNotAvailable)
        S(CLBlastTempBufferAllocFailure)
        S(CLBlastOpenCLOutOfResources)
        S(CLBlastOpenCLOutOfHostMemory)
        S(CLBlastOpenCLBuildProgramFailure)
        S(CLBlastInvalidValue)
        S(CLBlastInvalidCommandQueue)
        S(CLBlastInvalidMemObject)
        S(CLBlastInvalidBinary)
        S(CLBlastInvalidBuildOptions)
        S(CLBlastInvalidProgram)
        S(CLBlastInvalidProgramExecutable)
        S(CLBlastInvalidKernelName)
        S(CLBlastInvalidKernelDefinition)
        S(CLBlastInvalidKernel)
        S(CLBlastInvalidArgIndex)
        S(CLBlastInvalidArgValue)
        S(CLBlastInvalidArgSize)
        S(CLBlastInvalidKernelArgs)
        S(CLBlastInvalidLocalNumDimensions)
        S(CLBlastInvalidLocalThreadsTotal)
        S(CLBlastInvalidLocalThreadsDim)
        S(CLBlastInvalidGlobalOffset)
        S(CLBlastInvalidEventWaitList)
        S(CLBlastInvalidEvent)
        S(CLBlastInvalidOperation)
        S(CLBlastInvalidBufferSize)
        S(CLBlastInvalidGlobalWorkSize)
        S(CLBlastNotImplemented)
        S(CLBlastInvalidMatrixA)
        S(CLBlastInvalidMatrixB)
        S(CLBlastInvalidMatrixC)
        S(CLBlastInvalidVectorX)
        S(CLBlastInvalidVectorY)
        S(CLBlastInvalidDimension)
        S(CLBlastInvalidLeadDimA)
        S(CLBlastInvalidLeadDimB)
        S(CLBlastInvalidLeadDimC)
        S(CLBlastInvalidIncrementX)
        S(CLBlastInvalidIncrementY)
        S(CLBlastInsufficientMemoryA)
        S(CLBlastInsufficientMemoryB)
        S(CLBlastInsufficientMemoryC)
        S(CLBlastInsufficientMemoryX)
        S(CLBlastInsufficientMemoryY)
        S(CLBlastInsufficientMemoryTemp)
        S(CLBlastInvalidBatchCount)
        S(CLBlastInvalidOverrideKernel)
        S(CLBlastMissingOverrideParameter)
        S(CLBlastInvalidLocalMemUsage)
        S(CLBlastNoHalfPrecision)
        S(CLBlastNoDoublePrecision)
        S(CLBlastInvalidVectorScalar)
        S(CLBlastInsufficientMemoryScalar)
        S(CLBlastDatabaseError)
        S(CLBlastUnknownError)
        S(CLBlastUnexpectedError)
#undef S
    }
    // Other OpenCL codes pass through CLBlast unchanged.
    const char *cl = lc_cl_error_name(code);
    if (cl[0] == 'C' && cl[3] != 'U') return cl; // not "CL_UNKNOWN_ERROR(...)"
    static _Thread_local char unknown[48];
    snprintf(unknown, sizeof unknown, "CLBlastUnknownStatus(%d)", code);
    return unknown;
}

static lc_status clblast_fail(CLBlastStatusCode st, const char *call, const lc_device *dev) {
    return lc_fail(LC_ERR_OPENCL, "%s failed: %s (%d) on '%s'", call, lc_clblast_status_name(st),
                   (int)st, dev->info.name);
}

lc_status lc_gemm_run_clblast(lc_device *dev, const lc_gemm_call *g) {
    CLBlastTranspose ta = g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    cl_command_queue queue = lc_device_queue(dev);
    cl_event ev = NULL;
    cl_event *evp = dev->profiling ? &ev : NULL;
    CLBlastStatusCode st;
    if (g->batch == 1) {
        st = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, g->m, g->n, g->k, g->alpha, g->a.buf,
                          g->a.offset, g->a.ld, g->b.buf, g->b.offset, g->b.ld, g->beta, g->c.buf,
                          g->c.offset, g->c.ld, &queue, evp);
        if (st != CLBlastSuccess) return clblast_fail(st, "CLBlastSgemm", dev);
    } else {
        st = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, g->m, g->n, g->k, g->alpha,
                                        g->a.buf, g->a.offset, g->a.ld, g->stride_a, g->b.buf,
                                        g->b.offset, g->b.ld, g->stride_b, g->beta, g->c.buf,
                                        g->c.offset, g->c.ld, g->stride_c, g->batch, &queue, evp);
        if (st != CLBlastSuccess) return clblast_fail(st, "CLBlastSgemmStridedBatched", dev);
    }
    if (ev) lc_device_profile_event(dev, "gemm (clblast)", ev);
    return LC_OK;
}
