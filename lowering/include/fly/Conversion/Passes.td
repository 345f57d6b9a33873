//===- Passes.td - fly conversion passes -------------------*- tablegen -*-===//

#ifndef FLY_CONVERSION_PASSES_TD
#define FLY_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertFlyToLinalg : Pass<"convert-fly-to-linalg"> {
  let summary = "Lower every fly op to linalg, tensor, arith and math";
  let description = [{
    The reference lowering: each fly op becomes a few `linalg.generic` ops
    written straight from the op's formula, computing in f32 (f16/bf16
    operands are extended, the result truncated). Batch dimensions are
    collapsed into one. It fails, naming the op, if any fly op is left.

    Before:
    ```mlir
    %y = fly.lowrank_matmul %x, %u, %v : (tensor<4x64xf32>, tensor<8x64xf32>,
                                          tensor<32x8xf32>) -> tensor<4x32xf32>
    ```
    After:
    ```mlir
    %t = linalg.generic {... iterator_types = ["parallel", "parallel",
        "reduction"]} ins(%x, %u : ...) outs(%zero : tensor<4x8xf32>) {...}
    %y = linalg.generic {...} ins(%t, %v : ...) outs(%zero2 : tensor<4x32xf32>)
    ```
  }];
  let options = [
    Option<"keepKernelOps", "keep-kernel-ops", "bool", /*default=*/"false",
           "Leave fly.linear, fly.lowrank_matmul, fly.attention, "
           "fly.local_attention and fly.monarch_matmul for the GPU kernel "
           "passes">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FlyMemRefCopyToLinalg : Pass<"fly-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy (lowered to loops later)";
  let description = [{
    finalize-memref-to-llvm turns a copy between strided memrefs into a call
    to `memrefCopy` from libmlir_c_runner_utils, a library that compiled
    artifacts must not need at run time. As a `linalg.copy` the copy becomes
    plain loops.

    Before: `memref.copy %a, %b : memref<2x1x64xf32, strided<...>> to ...`
    After:  `linalg.copy ins(%a : ...) outs(%b : ...)`

    First, a copy that only moves a function's result into its output
    argument is removed where that is safe: the source is a `memref.alloc`
    of the same block (or an expand/collapse_shape view of one) used only
    before the copy (and by its deallocation), and the output argument has no
    other use. The alloc becomes a view of the output argument, so the ops
    (kernels) that filled it write the output directly: one pass over the
    result less (on the GPU a whole copy kernel).

    Before: `%a = memref.alloc() ... ; call @k(%x, %a) ;`
            `%e = memref.expand_shape %a ... ; memref.copy %e, %out`
    After:  `%a = memref.collapse_shape %out ... ; call @k(%x, %a)`
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FlyCpuTileAndVectorize : Pass<"fly-cpu-tile-and-vectorize", "ModuleOp"> {
  let summary = "Tile, parallelise and vectorise contractions for the CPU";
  let description = [{
    Applies fly's transform-dialect schedule for x86 CPUs with AVX-512 to
    every `linalg.matmul` and `linalg.batch_matmul`: an `scf.forall` over
    `num-threads` row blocks, cache tiles of 64x256x256 (loop order n, k, m),
    then 8x32 register tiles with k innermost, vectorised (masked at ragged
    edges) and lowered to broadcast + FMA outer products. The accumulator
    tile is hoisted out of the k loop, so it stays in 16 zmm registers.

    Before: `linalg.matmul ins(%a, %b : tensor<128x768xf32>, ...)`
    After: `scf.forall (%i) in (2)` around `scf.for` nests of
    `vector.transfer_read` / `vector.fma` on `vector<32xf32>`.
  }];
  let options = [
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"2",
           "Row blocks run in parallel (OpenMP threads)">
  ];
  let dependentDialects = ["::mlir::transform::TransformDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def FlyFoldWeightTransposes : Pass<"fly-fold-weight-transposes"> {
  let summary = "Transpose constant weights at compile time";
  let description = [{
    nn.Linear stores W as [out, in], so importers emit
    `linalg.transpose(W)` before a matmul; GPT-2's tied LM head transposes
    the whole token embedding. Done at run time that is a full copy of the
    weight per call (154 MB for GPT-2's vocabulary). This pass replaces a
    `linalg.transpose` of an `arith.constant dense_resource<key>` by a new
    constant `dense_resource<key.T>` holding the transposed data, so the
    artifact stores the weight in the layout the kernels read.

    Before:
    ```mlir
    %w = arith.constant dense_resource<wte> : tensor<512x64xf32>
    %t = linalg.transpose ins(%w : tensor<512x64xf32>) outs(%e : ...)
        permutation = [1, 0]
    ```
    After:
    ```mlir
    %t = arith.constant dense_resource<wte.T> : tensor<64x512xf32>
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// GPU
//===----------------------------------------------------------------------===//

def FlyGpuMapParallelLoops
    : Pass<"fly-gpu-map-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Run each linalg op and outermost scf.parallel as a gpu.launch";
  let description = [{
    The generic GPU path for everything that no dedicated kernel covers
    (elementwise ops, reductions, copies, gathers). Each linalg op on
    buffers first becomes parallel loops (reductions as sequential inner
    loops); each outermost `scf.parallel` outside a `gpu.launch` then
    becomes a launch over the loop's
    iteration space linearised: `block-size` threads per block, one thread
    per iteration, the innermost loop dimension varying fastest across
    threads so that neighbouring threads touch neighbouring elements
    (coalesced). Reduction loops run inside each thread, except for
    generics whose innermost loop is their only reduction, into one f32
    output with an add or max (LayerNorm, softmax): those get one warp per
    output element (lanes stride the row, shuffles combine). Kernels are named
    `<func>_<index>_<kind>` (kind: the named op, `reduce` or `elementwise`)
    and outlined into one module `<func>_kernels`.

    Before:
    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c768) step (%c1, %c1) {
      ... body(%i, %j) ...
    }
    ```
    After:
    ```mlir
    gpu.launch blocks(%bx, ...) in (%gx = %c24, ...) threads(%tx, ...) in (%c256, ...) {
      %lin = bx * 256 + tx
      scf.if %lin < 6144 { %i = lin / 768, %j = lin % 768, ... body(%i, %j) ... }
    }
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def FlyGpuHostBuffers : Pass<"fly-gpu-host-buffers", "::mlir::func::FuncOp"> {
  let summary = "Put the buffers of host functions in device memory";
  let description = [{
    After bufferization a model function allocates its intermediates with
    `memref.alloc` and reads small constants through `memref.get_global`:
    host memory, which kernels cannot touch. This pass rewrites, outside
    `gpu.launch` bodies, `memref.alloc`/`memref.dealloc` into
    `gpu.alloc`/`gpu.dealloc` (device memory, served by the runtime's
    caching pool) and each `memref.get_global` into a device buffer filled
    by `gpu.memcpy` from the global (freed before the function returns).
    The model's weights are not globals: fly-compile turns them into
    arguments, uploaded once by the runtime.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def FlyGpuWeightGemms : Pass<"fly-gpu-weight-gemms", "::mlir::ModuleOp"> {
  let summary = "Lower fly.linear with constant weights to wgmma GEMM kernels";
  let description = [{
    On tensors, after `fly-convert-float-storage`: each `fly.linear(x, w,
    bias?)` with a 16-bit [M, K] input and a constant [N, K] weight (the
    nn.Linear layout) becomes a call of a generated Hopper GEMM (TMA loads
    into a shared-memory ring on mbarriers, `wgmma` with f32 accumulation;
    see WgmmaGemm.h). Its epilogue takes the bias, the GELU (tanh form) that
    `fly-raise-linear` marked with `fly.activation`, and a residual add
    that consumes the result. A 16-bit `fly.lowrank_matmul` becomes two
    such linears first. The tensors cross into the launcher's buffers
    through `bufferization.to_buffer` / `to_tensor`. A linear the kernel
    does not support (f32, K not a multiple of 64, N not a multiple of 64)
    stays for the generic path; `remarks` says which kernel each got.

    Before:
    ```mlir
    %y = fly.linear %x, %w, %b {fly.activation = "gelu_tanh"} : ...
    %g = linalg.generic ... ins(%y) ...   // GELU
    ```
    After:
    ```mlir
    %c = memref.alloc() : memref<8192x3072xf16>
    call @fly_gemm_m8192_n3072_k768_f16_bias_gelu_launch(%xm, %wm, %bm, %c)
    %g = bufferization.to_tensor %c restrict writable : ...
    ```
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "Target chip; the generated kernels need sm_90a (an error names "
           "the first op that would get one on another chip)">,
    Option<"schedule", "schedule", "std::string", /*default=*/"\"auto\"",
           "GEMM kernel schedule: multistage (one warpgroup per tile, "
           "several CTAs per SM), warp-specialized (a producer warp and "
           "two ping-pong consumer warpgroups, persistent grid) or auto "
           "(whichever WgmmaGemm.h's gemmWarpSpecializationPays picks for "
           "the shape)">,
    Option<"epilogue", "epilogue", "std::string", /*default=*/"\"auto\"",
           "Warp-specialised GEMM epilogue: register (values finished in "
           "the accumulator fragments, residual and output moved by TMA), "
           "staging (through an f32 staging tile, as the multistage "
           "kernel) or auto (WgmmaGemm.h's gemmRegisterEpiloguePays: "
           "register where the epilogue adds a residual or applies GELU)">,
    Option<"producer", "producer", "std::string", /*default=*/"\"warpgroup\"",
           "Warp-specialised GEMM producer: warpgroup (384 threads; "
           "setmaxnreg moves its registers to the consumers: 232 each; "
           "measured 1-5% faster on an H100) or warp (288 threads, ptxas "
           "gives every thread 168 registers)">,
    Option<"persistentCtas", "persistent-ctas", "int64_t", /*default=*/"0",
           "CTAs of a warp-specialised GEMM's persistent grid (0: 132, an "
           "H100 SXM's SMs); fewer make each CTA take more tiles (tests)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per matmul saying which kernel it got and why">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FlyGpuAttentionKernels
    : Pass<"fly-gpu-attention-kernels", "::mlir::ModuleOp"> {
  let summary = "Lower fly.attention, fly.local_attention and non-causal "
                "fly.scatterbrain_attention to flash kernels";
  let description = [{
    On tensors, after `fly-convert-float-storage`: each dense
    `fly.attention(q, k, v)` (no explicit mask, one [B, H, T, D] shape,
    16-bit storage) becomes a call of a generated flash-attention kernel
    (FlashAttention.h): scores, online softmax and P·V per query tile on
    chip, never a T×T matrix in memory. Causal masking and the scale come
    from the op. `fly.local_attention {window w}` under the same conditions
    gets the sliding-window variant, which visits only the key tiles of
    each query tile's band (O(T·w) work). Non-causal
    `fly.scatterbrain_attention` (head dim and features 64, T a multiple of
    64) becomes three kernels: key features (φ(K) and per-group φ(K)ᵀ[V 1]),
    a combine kernel, and the sliding-window kernel with the feature
    correction in the band and the linear part. Other attentions stay for
    the generic path; `remarks` says which kernel each got, or why none.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "Target chip; the generated kernels need sm_90a (an error names "
           "the first op that would get one on another chip)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per attention saying which kernel it got and why">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def FlyGpuFoldLayerNorm
    : Pass<"fly-gpu-fold-layernorm", "::mlir::ModuleOp"> {
  let summary = "Fold a LayerNorm into the GEMM it feeds";
  let description = [{
    On tensors, after `fly-convert-float-storage`, while weights are
    constants: for `fly.linear(LayerNorm(x; gamma, beta), W, bias?)` with
    the LayerNorm's output used only there,

      LayerNorm(x) W^T + bias = rstd (x W'^T - mean colsum) + bias'
      W' = W diag(gamma), bias' = bias + W beta, colsum[n] = sum_k W'[n, k]

    (mean and rstd per row of x). The linear becomes `fly.linear(x, W')`
    followed by one elementwise generic (marked `fly.layernorm_epilogue`)
    that applies the row statistics (the LayerNorm's own `mean` and `rstd`
    generics) and bias'. W', bias' (rounded to the storage type) and the f32
    colsum are new weight constants (`<W>.ln_scaled`, `<W>.ln_bias`,
    `<W>.ln_colsum`); the LayerNorm's normalising generic goes away.
    `fly-gpu-weight-gemms` then fuses the generic into the GEMM kernel,
    which takes the row statistics from a small row-statistics kernel (it
    reads x once and writes 8 bytes per row): the LayerNorm's write of the
    normalised activation and the GEMM's read of it disappear. Only where
    that GEMM kernel takes the shape (a remark says why not).
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per LayerNorm-fed linear saying what happened">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def FlyGpuMonarchKernels
    : Pass<"fly-gpu-monarch-kernels", "::mlir::ModuleOp"> {
  let summary = "Lower fly.monarch_matmul to the fused Monarch kernel";
  let description = [{
    On tensors, after `fly-convert-float-storage`: each
    `fly.monarch_matmul(x, w1, w2)` on a 16-bit [M, n] input becomes one
    launch of a generated kernel (MonarchKernel.h) that runs both
    block-diagonal factors with the permutation between them on chip, and
    takes the bias add that `fly-structure-linear` made explicit and, for
    an MLP up projection (`fly.activation`), the GELU into its epilogue.

    Chains (`chain-layout`, on by default): when the up projection's fused
    result feeds only a second `fly.monarch_matmul` (an MLP), the tensor
    between them is stored blocked (each of the producer's l output groups
    contiguous), so the producer runs one CTA per (64 rows, group) with a
    quarter of the on-chip intermediate; both kernels read w1 through
    permutations folded into new weight constants (`<name>.blocked_rows`,
    `<name>.blocked_cols`; the producer's bias `<name>.blocked`). These
    weights must be constants; otherwise, and
    when either kernel would reject the blocked shapes, the natural layout
    is kept (a remark says so).

    LayerNorm (`fold-layernorm`, on by default): when such an up
    projection's input is a LayerNorm used only there (with constant gamma,
    beta, w2 and bias), the kernel takes the LayerNorm's input instead and
    applies the row statistics of a row-statistics kernel in its epilogue
    (MonarchSpec::layerNormInput): w1 is
    scaled by gamma (`<w1>.ln_scaled.blocked_rows`), the bias becomes
    bias + monarch(beta) (`<bias>.ln_bias.blocked`) and monarch'(ones) is a
    new f32 weight (`<w1>.ln_colsum.blocked`); the LayerNorm kernel and its
    round trip of the activation through memory disappear.

    Split factors (`split-factors`, on by default): a kernel with the
    natural output (an MLP's down projection), a constant w1 and few rows
    (at most 2048: the fused kernel's CTA per 64 rows would leave most of
    the GPU idle; gen::monarchSplitFactorsPay) runs as two kernels
    (MonarchSpec::splitFactors): factor 1, one CTA per 128 rows and block
    kk, writes h in g order to a temporary; factor 2 reads its G tile back
    by TMA. w1 gets its q axis permuted too (`<name>.split_rows`, or
    `<name>.split_blocked_cols` in a chain).

    Hidden kernel (`hidden-kernel`, on by default): a chain (an MLP: up
    projection with
    bias and GELU, down projection) becomes one launcher call of three
    kernels (MonarchMlpSpec): the up projection's factor 1 into g' (as wide
    as x), a hidden kernel that runs the up projection's factor 2, bias,
    GELU (and the folded LayerNorm) and the down projection's factor 1 per
    64 hidden columns without storing the hidden layer, writing h' (as wide
    as y), and the down projection's factor 2 with its epilogue. The
    weights are laid out as for the chain with split factors. Shapes the
    hidden kernel cannot take (gen::verifyMonarchMlpSpec) keep the chain's
    two kernels, with a remark.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "Target chip; the generated kernels need sm_90a (an error names "
           "the first op that would get one on another chip)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per op saying which kernel it got and why">,
    Option<"chainLayout", "chain-layout", "bool", /*default=*/"true",
           "Store the tensor between two chained Monarch kernels blocked "
           "(see the description)">,
    Option<"foldLayerNorm", "fold-layernorm", "bool", /*default=*/"true",
           "Fold a LayerNorm feeding a blocked up projection into its "
           "kernel (see the description)">,
    Option<"splitFactors", "split-factors", "bool", /*default=*/"true",
           "Run a natural-output Monarch matmul with a constant w1 and few "
           "rows as two kernels, factor 1 and factor 2 (see the "
           "description)">,
    Option<"hiddenKernel", "hidden-kernel", "bool", /*default=*/"true",
           "Run a chained Monarch MLP as three kernels whose hidden layer "
           "stays on chip (see the description)">,
    Option<"hiddenSchedule", "hidden-schedule", "std::string",
           /*default=*/"\"producer\"",
           "How the hidden kernel's warps work: producer (the default: a "
           "third warpgroup streams the tiles, per-slot empty barriers), "
           "lockstep (two computing warpgroups that also refill the weight "
           "ring, a CTA barrier per step) or pingpong (producer, and the "
           "computing warpgroups take turns issuing wgmmas); "
           "gen::MonarchMlpSpec">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def FlyGpuProducerRowStatistics
    : Pass<"fly-gpu-producer-row-statistics", "::mlir::ModuleOp"> {
  let summary = "Let the kernel writing a folded LayerNorm's input also "
                "write its row statistics";
  let description = [{
    After the kernel passes (on tensors, launcher calls not yet
    bufferized): a folded LayerNorm's row statistics come from a call of the
    row-statistics kernel on x. Where x is the output of a GEMM or Monarch
    launcher call that can write them itself (GemmSpec / MonarchSpec
    `rowStatistics`: each CTA column tile, or each warpgroup of a Monarch
    kernel with a natural output stored from registers, writes the mean and
    variance of its slice of every row it stores), that producer is
    redeclared with the extra output, every consumer (GEMM or Monarch
    launchers with a folded LayerNorm) is redeclared to merge that many
    partials, and the row-statistics call goes away: one launch and one
    read of x less per LayerNorm. Anything else (another kind of producer
    or consumer) keeps the row-statistics kernel; `remarks` says why.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per row-statistics call saying what happened">,
    Option<"producers", "producers", "std::string", /*default=*/"\"all\"",
           "Which producer kernels may write the statistics: all, gemm or "
           "monarch (to measure each kind's share)">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def FlyGpuLayerNormKernels
    : Pass<"fly-gpu-layernorm-kernels", "::mlir::ModuleOp"> {
  let summary = "Lower LayerNorm's linalg form to the row LayerNorm kernel";
  let description = [{
    On tensors, after `fly-convert-float-storage`: the six generics the
    importers emit for a LayerNorm over the last dimension of a 16-bit
    [rows, cols] matrix (row sum, mean, centre, sum of squares, 1/std,
    scale and shift by gamma and beta) become one launch of a generated
    kernel (LayerNormKernel.h): one warp per row, the row in registers, f32
    throughout. Anything else in that shape (other constants, a statistic
    used elsewhere) stays as it is.

    Before: `%s = linalg.generic {reduction} ins(%x)`, ... ,
            `%y = linalg.generic ins(%centred, %rstd, %gamma, %beta)`
    After:  `call @fly_layernorm_r..._launch(%x, %gamma, %beta, %y)`
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "Target chip; like the other kernel passes, only sm_90a (an "
           "error names the first LayerNorm that would get a kernel)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per LayerNorm saying which kernel it got">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect"];
}

def FlyGpuDefineKernels
    : Pass<"fly-gpu-define-kernels", "::mlir::ModuleOp"> {
  let summary = "Define the kernel launchers the fly-gpu-*-kernels passes declared";
  let description = [{
    `fly-gpu-weight-gemms`, `fly-gpu-attention-kernels`,
    `fly-gpu-monarch-kernels` and `fly-gpu-layernorm-kernels` call launcher
    declarations that carry their kernel's spec (`fly.gemm`,
    `fly.attention_kernel`, `fly.scatterbrain_keys`,
    `fly.scatterbrain_combine`, `fly.monarch_kernel`,
    `fly.layernorm_kernel`), so that bufferization and its deallocation
    analysis see plain calls. After bufferization this pass parses each
    generator's text: the launcher body (TMA descriptors, launch) and the
    kernel's `gpu.module`.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def FlyConvertFloatStorage
    : Pass<"fly-convert-float-storage", "::mlir::func::FuncOp"> {
  let summary = "Store f32 tensors as f16/bf16, compute in f32";
  let description = [{
    `fly-compile --dtype f16|bf16`: every f32 tensor of the function
    (arguments, results, constants, intermediates) becomes `type`, except
    the results of ops that reduce (their output is an accumulator: sums of
    LayerNorm and softmax, matmul outputs that no dedicated kernel
    accumulates): they stay f32. Bodies of linalg ops compute in f32: each
    16-bit operand is extended when read and each 16-bit result truncated
    when written, so only storage is rounded. Weight constants are
    converted at compile time.
  }];
  let options = [
    Option<"storageType", "type", "std::string", /*default=*/"\"f16\"",
           "f16 or bf16">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FlyCheckLowered : Pass<"fly-check-lowered", "::mlir::ModuleOp"> {
  let summary = "Fail on the first op a lowering pipeline left behind";
  let description = [{
    The last pass of fly's pipelines. MLIR's conversions to LLVM are
    partial: an op no pattern took stays in the module (often behind a
    `builtin.unrealized_conversion_cast`), and the failure would surface
    only in LLVM IR translation, far from its cause. This pass reports the
    first op outside `dialects` (the module itself excepted) with the
    pipeline's name, and fails.
  }];
  let options = [
    ListOption<"dialects", "dialects", "std::string",
               "Dialects the lowered module may contain (default: llvm)">,
    Option<"pipeline", "pipeline", "std::string",
           /*default=*/"\"fly-check-lowered\"",
           "Name of the pipeline, for the error message">
  ];
}

#endif // FLY_CONVERSION_PASSES_TD
