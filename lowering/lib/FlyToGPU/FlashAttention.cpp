//===- FlashAttention.cpp - fused causal attention kernel generator -------===//
//
// FlashAttention-2 style forward kernel for sm_90a built from sm_80 tensor
// core ops (MLIR 22 has no register-A wgmma and the warpgroup accumulator is
// opaque, see /work/shared/gpu-codegen-notes.md):
//
//   CTA = one BM-row query tile (BM = 64 or 128) of one batch*head,
//         BM/16 warps, warp w owning query rows 16w .. 16w+15.
//   grid = (ceil(T/BM), BH); causal: CTAs take their (query tile, head)
//         in longest-first order across groups of heads
//         (attentionHeadsPerTileGroup), so that the short tiles end the
//         grid; a window or no mask: every tile has the same work.
//   prologue: cp.async Q tile, K/V tiles 0 .. stages-2 -> smem (rows >= T
//         zero-filled); wait for Q; Q fragments via ldmatrix.x4 (kept in
//         registers).
//   key loop j (64-key tiles; causal: only up to the diagonal; window:
//         only the tiles of the band, below):
//         wait for K of tile j (K and V are separate cp.async groups by
//         default), bar.sync, cp.async K of tile j+stages-1;
//         S = Q.K^T: mma.sync m16n8k16, K fragments via ldmatrix.x4;
//         masked tiles (the diagonal, or the ragged last tile) only: -inf;
//         online softmax per row (max / rescale / exp2 with scale*log2e
//         folded in; quad reduction with gpu.shuffle xor 1, 2);
//         P (f32 -> f16/bf16) reused directly as the A operand of P.V;
//         wait for V of tile j, bar.sync, cp.async V of tile j+stages-1;
//         V fragments via ldmatrix.x4.trans; O += P.V.
//   The unmasked and masked key tiles are two scf.for loops over the same
//   emitted body (without and with the mask), so full tiles pay nothing.
//   epilogue: row sums reduced across the quad, O / l; by default staged in
//         the warp's own rows of the Q tile, then 16-byte stores predicated
//         on row < T.
//   packedQkv: only the global addresses change (row b*T + t, column
//         h*D (+ H*D for K, 2*H*D for V) of the fused qkv projection).
//
// Sliding window (spec.window = w > 0, fly.local_attention): query i sees
// keys [i - loOff, i + hiOff] (causal: loOff = w-1, hiOff = 0; non-causal:
// loOff = w/2, hiOff = w - w/2 - 1), clipped to [0, T). A CTA with rows
// [q0, qLast] visits only the key tiles meeting the union of its rows'
// bands, so the work is O(T w) instead of O(T^2):
//   visited  [first_tile, total): keys max(0, q0 - loOff) ..
//            min(T, qLast + hiOff + 1) - 1;
//   inside   [fullBegin, fullEnd): tiles whose every key is in every row's
//            band (keys >= qLast - loOff, < min(T, q0 + hiOff + 1)).
//   The K/V prefetch pipeline starts at first_tile (tile j in stage
//   j % stages). There is one key loop (an i32 scf.for over the visited
//   tiles): edge tiles (outside [fullBegin, fullEnd): the band's lower edge,
//   the diagonal / upper edge, the ragged end) take a CTA-uniform scf.if
//   that sets scores outside the band (key - row < -loOff, > hiOff, or
//   key > T-1; i32 arithmetic) to -inf; inside tiles pay the branch only.
//   (Three loops, edge / inside / edge, made ptxas spill at the 128-register
//   cap.) Edge tiles can mask a row entirely: the running max starts at
//   -FLT_MAX rather than -inf, so that such a tile gives p = 0 and alpha = 1
//   instead of NaN. K/V rows >= T are clamped to row T-1 rather
//   than zero-filled (the ragged tile is always an edge tile, where they are
//   masked). Grid order is natural (every tile has about the same work).
//   With w = 256, BM = 64: 5 tiles per CTA (320 keys per row for 256
//   allowed), 2 of them edges; BM = 128 would visit 6 tiles per 128 rows.
//
//   Measured variants and times: tools/gpu/attention-selftest/NOTES.md.
//
// Hopper form (Plan::wgmma, the default for D = 64 without Scatterbrain):
//   the two GEMMs of a key tile run on wgmma m64n64k16, one warpgroup per
//   64 query rows. Q, K and V tiles are unpadded 128-byte rows in the
//   128-byte swizzle (16-byte chunk c of row r at c ^ (r % 8); cp.async
//   writes them so, the tiles start on 1024-byte boundaries, found at run
//   time). S = Q.K^T: A = Q and B = K from shared memory (both K-major),
//   4 k16 steps, the first without accumulate. O += P.V: A = P from
//   registers (wgmma's register-A layout per warp is mma.sync's A fragment,
//   so P is the S accumulator converted in place, as below), B = V
//   MN-major (imm-trans-b). The accumulator of m64n64 f32 holds, per warp,
//   exactly the C fragments of 8 mma.sync n-tiles, so the softmax code is
//   shared. MLIR 22 has no register-A wgmma (nvvm.wgmma.mma_async takes a
//   descriptor for A) and nvgpu's accumulator is opaque, so each GEMM is
//   one inline-asm block (fence; 4 wgmmas; commit; wait 0): the compiler
//   sees its outputs defined once the MMAs are complete. cp.async writes
//   are made visible to wgmma (async proxy) by fence.proxy.async before
//   each barrier. H100, GPT-2 b8 causal: 45 us vs 62 for mma.sync
//   (tools/gpu/attention-selftest/NOTES.md).
//
// Fragment layouts (PTX ISA, mma.m16n8k16, g = lane / 4, t = lane % 4):
//   A (vector<4x2xT>): [0] (g, 2t..2t+1)  [1] (g+8, 2t..)  [2] (g, 2t+8..)
//                      [3] (g+8, 2t+8..)
//   B (vector<2x2xT>): [0] (k 2t..2t+1, n g)  [1] (k 2t+8.., n g)
//   C (vector<2x2xf32>): [0] (g, 2t..2t+1)  [1] (g+8, 2t..)
// so the C fragments of n-tiles 2kk and 2kk+1 of S are exactly the A
// fragment of k-step kk of P.
//
// nvgpu.mma.sync of MLIR 22 rejects bf16 ("failed to deduce operand PTX
// types"), so bf16 uses nvvm.mma.sync on the packed i32 registers.
//
// Shared memory rows are padded from D to D+8 elements (row stride = 4 words
// mod 32 banks), which makes every ldmatrix phase (8 rows x 16 bytes) and the
// cp.async writes conflict-free without a swizzle.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/FlashAttention.h"
#include "KernelText.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fly::gpu {
namespace {

constexpr int64_t kBlockN = 64;      // keys per tile
constexpr int64_t kRowsPerWarp = 16; // one m16 mma row block per warp
constexpr int64_t kPad = 8;          // elements of smem row padding
constexpr int64_t kCopyElems = 8;    // 16-byte cp.async
constexpr int64_t kMaxDynamicSmem = 227 * 1024;
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kDefaultBlockM = 64;
/// wgmma path: 8 rows x 128 bytes, the period of the 128-byte swizzle (the
/// tiles' smem base is aligned to it).
constexpr int64_t kSwizzleAtom = 1024;
constexpr int64_t kWgmmaRows = 64; // rows of one warpgroup's wgmma (M)
/// Threads of the Scatterbrain combine kernel (one (d, f) entry each).
constexpr int64_t kCombineThreads = 256;
/// Windowed kernels mask in i32 (values within a few T of 0).
constexpr int64_t kMaxWindowSeq = int64_t(1) << 28;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Plan {
  AttentionSpec spec;
  bool bf16 = false;
  bool packed = false;
  int64_t stages = 2;
  bool splitKV = false, stagedEpilogue = false, qInRegisters = true;
  /// S and P.V on wgmma (AttentionEmitOptions::wgmma); Q/K/V smem rows are
  /// then unpadded and 128-byte swizzled.
  bool wgmma = false;
  /// Scatterbrain (spec.features > 0): phi(K) tiles ride with K, proj has
  /// its own smem tile.
  bool sb = false;
  int64_t projBytes = 0;
  int64_t blockM = 0, warps = 0, threads = 0;
  int64_t d = 0, ld = 0; // head dim, padded smem row length
  int64_t numQTiles = 0, numKTiles = 0;
  int64_t qBytes = 0, kvStageBytes = 0, dynamicSmemBytes = 0;
  double scaleLog2 = 0;
  /// Launch bound (.minnctapersm): caps registers at 64K / (threads * this).
  int64_t minBlocksPerSM = 0;

  explicit Plan(const AttentionSpec &s, const AttentionEmitOptions &opts = {})
      : spec(s) {
    bf16 = s.elementType == "bf16";
    packed = s.packedQkv;
    stages = opts.kvStages;
    splitKV = opts.splitKVGroups;
    stagedEpilogue = opts.stagedEpilogue;
    qInRegisters = opts.qInRegisters;
    blockM = s.blockM ? s.blockM : kDefaultBlockM;
    warps = blockM / kRowsPerWarp;
    threads = warps * 32;
    d = s.headDim;
    ld = d + kPad;
    numQTiles = ceilDiv(s.seq, blockM);
    numKTiles = ceilDiv(s.seq, kBlockN);
    sb = s.features > 0;
    // wgmma: one 128-byte swizzle row per Q/K/V row (D = 64), whole
    // warpgroups of query rows.
    wgmma = opts.wgmma && d == 64 && !sb && blockM % kWgmmaRows == 0;
    qBytes = blockM * ld * 2;
    kvStageBytes = kBlockN * (wgmma ? d : ld) * 2;
    // Q (reused for the staged epilogue, padded rows), then K[stages], then
    // V[stages] (Scatterbrain: then phi(K)[stages] and proj). wgmma: every
    // region starts on a swizzle atom, plus one atom of slack to align the
    // base at run time.
    if (wgmma)
      qBytes = ceilDiv(qBytes, kSwizzleAtom) * kSwizzleAtom;
    projBytes = sb ? s.features * ld * 2 : 0;
    dynamicSmemBytes = qBytes + (sb ? 3 : 2) * stages * kvStageBytes +
                       projBytes + (wgmma ? kSwizzleAtom : 0);
    double scale = s.scale > 0 ? s.scale : 1.0 / std::sqrt(double(d));
    scaleLog2 = scale * 1.4426950408889634;
    // D=64, BM=64: four CTAs (16 warps) per SM, i.e. at most 128 registers,
    // which fits without spills (ptxas -v). BM=128 would spill 36 bytes at
    // 128, so it gets no bound (137 registers: one CTA, 8 warps per SM).
    // D=128 needs ~200 registers (O alone is 64): no bound either.
    // Three K/V stages (64.5 KB) fit three CTAs per SM, not four: cap at
    // 168 registers instead.
    minBlocksPerSM = (d == 64 && blockM == 64) ? (stages == 3 ? 3 : 4) : 1;
    // Scatterbrain keeps phi(Q) fragments and the feature scores F next to
    // S: with Q re-read from smem for every key tile, three CTAs per SM (168
    // registers; 158 used, no spills) rather than two with Q in registers
    // (238 registers).
    if (sb && opts.minBlocksPerSM == 0) {
      qInRegisters = false;
      minBlocksPerSM = 3;
    }
    if (opts.minBlocksPerSM > 0)
      minBlocksPerSM = opts.minBlocksPerSM;
  }
};

//===----------------------------------------------------------------------===//
// Text building
//===----------------------------------------------------------------------===//

using detail::fmtF32;
using detail::FuncWriter;

struct Types {
  std::string elem, global, smemBytes, qSmem, kvSmem;
  /// wgmma: Q as loaded (unpadded, swizzled rows); qSmem stays the padded
  /// view the staged epilogue writes O through.
  std::string qLoadSmem;
  /// Scatterbrain operands (see FlashAttention.h) and the proj smem tile.
  std::string proj, phik, mc, kvt, zl, stab, projSmem;
  /// Scatterbrain key-feature kernel outputs.
  std::string kvg, zg, mg;
  /// packed: the qkv and o operand types.
  std::string qkvGlobal, oGlobal;
  std::string fragA = "", fragB, fragC = "vector<2x2xf32>", pair, pairF32;
  explicit Types(const Plan &p) {
    const AttentionSpec &s = p.spec;
    elem = s.elementType;
    std::string space = "#gpu.address_space<workgroup>";
    global = "memref<" + std::to_string(s.batchHeads) + "x" +
             std::to_string(s.seq) + "x" + std::to_string(p.d) + "x" + elem +
             ">";
    smemBytes = "memref<?xi8, " + space + ">";
    qSmem = "memref<" + std::to_string(p.blockM) + "x" + std::to_string(p.ld) +
            "x" + elem + ", " + space + ">";
    if (p.packed) {
      int64_t hd = s.heads * p.d, rows = (s.batchHeads / s.heads) * s.seq;
      qkvGlobal = "memref<" + std::to_string(rows) + "x" +
                  std::to_string(3 * hd) + "x" + elem + ">";
      oGlobal = "memref<" + std::to_string(rows) + "x" + std::to_string(hd) +
                "x" + elem + ">";
    }
    int64_t kvRow = p.wgmma ? p.d : p.ld;
    kvSmem = "memref<" + std::to_string(p.stages) + "x" +
             std::to_string(kBlockN) + "x" + std::to_string(kvRow) + "x" +
             elem + ", " + space + ">";
    qLoadSmem = p.wgmma
                    ? "memref<" + std::to_string(p.blockM) + "x" +
                          std::to_string(p.d) + "x" + elem + ", " + space + ">"
                    : qSmem;
    if (p.sb) {
      std::string bh = std::to_string(s.batchHeads),
                  f = std::to_string(s.features);
      std::string d = std::to_string(p.d);
      proj = "memref<" + f + "x" + d + "x" + elem + ">";
      phik = "memref<" + bh + "x" + std::to_string(s.seq) + "x" + f + "x" +
             elem + ">";
      mc = "memref<" + bh + "x" + std::to_string(p.numKTiles) + "xf32>";
      kvt = "memref<" + bh + "x" + d + "x" + f + "x" + elem + ">";
      zl = "memref<" + bh + "x" + f + "xf32>";
      stab = "memref<" + bh + "xf32>";
      projSmem = "memref<" + f + "x" + std::to_string(p.ld) + "x" + elem +
                 ", " + space + ">";
      std::string groups = std::to_string(scatterbrainGroups(s));
      kvg = "memref<" + bh + "x" + groups + "x" + d + "x" + f + "xf32>";
      zg = "memref<" + bh + "x" + groups + "x" + f + "xf32>";
      mg = "memref<" + bh + "x" + groups + "xf32>";
    }
    fragA = "vector<4x2x" + elem + ">";
    fragB = "vector<2x2x" + elem + ">";
    pair = "vector<2x" + elem + ">";
    pairF32 = "vector<2xf32>";
  }
};

/// "(%q: T, %k: T, %v: T, %o: T)" or, packed, "(%qkv: .., %o: ..)"; with
/// `sep` " : " for gpu.launch_func args(...).
std::string argList(const Plan &p, const Types &t, const std::string &sep) {
  if (p.packed)
    return "(%qkv" + sep + t.qkvGlobal + ", %o" + sep + t.oGlobal + ")";
  std::string sb;
  if (p.sb)
    sb = ", %proj" + sep + t.proj + ", %phik" + sep + t.phik + ", %mc" + sep +
         t.mc + ", %kvt" + sep + t.kvt + ", %zl" + sep + t.zl + ", %stab" +
         sep + t.stab;
  return "(%q" + sep + t.global + ", %k" + sep + t.global + ", %v" + sep +
         t.global + sb + ", %o" + sep + t.global + ")";
}

/// The Scatterbrain key-feature kernel's arguments (FlashAttention.h).
std::string keyFeatureArgs(const Types &t, const std::string &sep) {
  return "(%k" + sep + t.global + ", %v" + sep + t.global + ", %proj" + sep +
         t.proj + ", %phik" + sep + t.phik + ", %mc" + sep + t.mc + ", %kvg" +
         sep + t.kvg + ", %zg" + sep + t.zg + ", %mg" + sep + t.mg + ")";
}

/// The Scatterbrain combine kernel's arguments (FlashAttention.h).
std::string combineArgs(const Types &t, const std::string &sep) {
  return "(%mg" + sep + t.mg + ", %kvg" + sep + t.kvg + ", %zg" + sep + t.zg +
         ", %kvt" + sep + t.kvt + ", %zl" + sep + t.zl + ", %stab" + sep +
         t.stab + ")";
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

/// Where a global operand lives: memref, its type, and (packed) the column
/// of element 0 of this batch*head.
struct Operand {
  std::string mem, type, colBase;
};

/// The loop-carried state of one thread: O accumulators (D/8 n-tiles), the
/// running row max (log2 domain, scaled) and the thread-partial row sums of
/// its two rows (g and g+8).
struct State {
  std::vector<std::string> o;
  std::string m[2], l[2];
};

class KernelEmitter {
public:
  KernelEmitter(const Plan &plan, const Types &types)
      : p(plan), t(types), w(/*indent=*/2) {}

  std::string emit() {
    emitSetup();
    emitPrologue();
    emitLoops();
    emitEpilogue();
    w.line("gpu.return");

    std::ostringstream os;
    os << "    gpu.func @" << attentionKernelName(p.spec) << argList(p, t, ": ")
       << " kernel attributes {known_block_size = array<i32: " << p.threads
       << ", 1, 1>, nvvm.minctasm = " << p.minBlocksPerSM << " : i32} {\n";
    os << w.finish();
    os << "    }\n";
    return os.str();
  }

  /// The Scatterbrain key-feature kernel (FlashAttention.h, step 1): CTA =
  /// one group of scatterbrainChunksPerGroup 64-key chunks of one
  /// batch*head, 4 warps; the next chunk's K and V are copied (cp.async)
  /// while this one is computed. Per chunk: L = log2 phi(K) from K.proj^T
  /// (warp w: keys 16w..16w+15); the running group max m (over this and
  /// the group's earlier chunks); phi = 2^(L - m) to smem, from there to
  /// global (16-byte rows) with mc = m; kv = kv 2^(m_old - m) +
  /// phi^T [V | 1] on the tensor cores (warp w: features 16w..16w+15, A
  /// operand by ldmatrix.trans of the [key][feature] tile; the ones column
  /// gives z).
  std::string emitKeyFeatures() {
    const AttentionSpec &s = p.spec;
    int64_t f = s.features, r = scatterbrainChunksPerGroup(s);
    std::string tile = t.projSmem; // every smem tile is [64][ld]
    std::string stages = "memref<2x" + std::to_string(kBlockN) + "x" +
                         std::to_string(p.ld) + "x" + t.elem +
                         ", #gpu.address_space<workgroup>>";
    tid = w.def("tid", "gpu.thread_id x");
    std::string group = w.def("group", "gpu.block_id x");
    bh = w.def("bh", "gpu.block_id y");
    emitLaneSetup();
    opK = {"%k", t.global, ""};
    opV = {"%v", t.global, ""};
    opPhiK = {"%phik", t.phik, ""};
    std::string smem =
        w.def("smem", "gpu.dynamic_shared_memory : " + t.smemBytes);
    auto view = [&](int64_t offset, const std::string &type) {
      return w.def("view", "memref.view " + smem + "[" + idx(offset) +
                               "][] : " + t.smemBytes + " to " + type);
    };
    int64_t tileBytes = kBlockN * p.ld * 2;
    projS = view(0, tile);
    phiS = view(tileBytes, tile);
    kS = view(2 * tileBytes, stages);
    vS = view(4 * tileBytes, stages);
    std::string redType = "memref<4xf32, #gpu.address_space<workgroup>>";
    std::string red = view(6 * tileBytes, redType);

    std::string c0 = mul(group, r);
    std::string c1 = w.def("c1", "arith.minsi " + addc(c0, r) + ", " +
                                     idx(p.numKTiles) + " : index");
    auto copyChunk = [&](const std::string &chunk, const std::string &stage) {
      std::string row0 = mul(chunk, kBlockN);
      emitTileCopy(opK, kS, stages, stage + ", ", row0, kBlockN, false);
      emitTileCopy(opV, vS, stages, stage + ", ", row0, kBlockN, false);
    };
    w.line("// Prologue: proj and chunk c0 (stage 0).");
    Operand proj{"%proj", t.proj, ""};
    emitTileCopy(proj, projS, tile, "", idx(0), f, false, true,
                 /*global2D=*/true);
    copyChunk(c0, idx(0));
    commit();

    std::string featCol = add(kCol, mul(warp, 16));
    std::string first =
        w.def("first", "arith.cmpi eq, " + tid + ", " + idx(0) + " : index");
    std::string ones = w.def("ones", "arith.constant dense<1.0> : " + t.fragB);
    // Loop state: kv accumulators (D/8 n-tiles), z (the ones column), the
    // running max.
    std::string types;
    for (int64_t n = 0; n <= p.d / 8; ++n)
      types += t.fragC + ", ";
    types += "f32";
    std::string res = w.fresh("kv");
    std::string c = w.fresh("c");
    std::vector<std::string> acc;
    std::string header = res + ":" + std::to_string(p.d / 8 + 2) +
                         " = scf.for " + c + " = " + c0 + " to " + c1 +
                         " step " + idx(1) + " iter_args(";
    for (int64_t n = 0; n <= p.d / 8; ++n) {
      acc.push_back(w.fresh("acc_in"));
      header += acc.back() + " = " + w.zeros(t.fragC) + ", ";
    }
    std::string mRun = w.fresh("m_in");
    header += mRun + " = " + w.f32Lowest() + ") -> (" + types + ")";
    w.open(header);
    std::string row0 = mul(c, kBlockN);
    std::string stage =
        remc(w.def("i", "arith.subi " + c + ", " + c0 + " : index"), 2);
    w.line("// Chunk c is in: wait, then prefetch chunk c + 1 into the "
           "other stage (everyone is done with it after the barrier).");
    waitGroups(0);
    w.line("gpu.barrier");
    std::string next = addc(c, 1);
    std::string hasNext =
        w.def("has_next", "arith.cmpi slt, " + next + ", " + c1 + " : index");
    w.open("scf.if " + hasNext);
    copyChunk(next,
              w.def("i", "arith.subi " + idx(1) + ", " + stage + " : index"));
    w.close();
    commit();
    std::string prefix = stage + ", ";
    std::vector<std::string> kf;
    for (int64_t ks = 0; ks < p.d / 16; ++ks)
      kf.push_back(
          ldmatrix(kS, stages, prefix, qRow, addc(qCol, ks * 16), false));
    std::vector<std::string> lv[2];
    featureLogits(kf, projS, tile, "", f, lv);
    std::string norm[2], mx[2];
    rowSquares(kf, norm);
    for (int row = 0; row < 2; ++row)
      mx[row] = logPhi(lv[row], norm[row]);
    std::string wmax = quadReduce(fop("maxnumf", mx[0], mx[1]), "maxnumf");
    for (int mask : {4, 8, 16}) {
      std::string name = w.fresh("shfl");
      w.line(name + ", " + name + "_ok = gpu.shuffle xor " + wmax + ", " +
             w.i32(mask) + ", " + w.i32(32) + " : f32");
      wmax = fop("maxnumf", wmax, name);
    }
    std::string lane0 =
        w.def("lane0", "arith.cmpi eq, " + lane_ + ", " + idx(0) + " : index");
    w.open("scf.if " + lane0);
    w.line("memref.store " + wmax + ", " + red + "[" + warp + "] : " + redType);
    w.close();
    w.line("gpu.barrier");
    std::vector<std::string> warpMax;
    for (int i = 0; i < 4; ++i)
      warpMax.push_back(
          w.def("wm", "memref.load " + red + "[" + idx(i) + "] : " + redType));
    std::string mChunk = tree(warpMax, "maxnumf");
    std::string mNew = fop("maxnumf", mRun, mChunk);
    std::string alpha = ex2(fop("subf", mRun, mNew));
    // phi = 2^(L - m) (m >= this chunk's max, so phi <= 1) into smem; the
    // chunk's scale m goes to mc, the tile to phik (16-byte rows, below).
    for (int row = 0; row < 2; ++row)
      for (int64_t n = 0; n < f / 8; ++n) {
        std::string l0 = lv[row][n * 2], l1 = lv[row][n * 2 + 1];
        std::string v = w.def(
            "p", "vector.from_elements " + ex2(fop("subf", l0, mNew)) + ", " +
                     ex2(fop("subf", l1, mNew)) + " : " + t.pairF32);
        v = w.def("p",
                  "arith.truncf " + v + " : " + t.pairF32 + " to " + t.pair);
        w.line("vector.store " + v + ", " + phiS + "[" + rowInTile[row] + ", " +
               addc(col2t, n * 8) + "] {alignment = 4 : i64} : " + tile + ", " +
               t.pair);
      }
    w.open("scf.if " + first);
    w.line("memref.store " + mNew + ", %mc[" + bh + ", " + c + "] : " + t.mc);
    w.close();
    w.line("gpu.barrier");
    std::string vec16 =
        "vector<" + std::to_string(kCopyElems) + "x" + t.elem + ">";
    for (int64_t rr = 0; rr < kBlockN; rr += p.threads / (f / kCopyElems)) {
      std::string lr = addc(cpRow, rr);
      std::string x =
          w.def("ph", "vector.load " + phiS + "[" + lr + ", " + cpCol +
                          "] {alignment = 16 : i64} : " + tile + ", " + vec16);
      w.line("vector.store " + x + ", " + at(opPhiK, add(row0, lr), cpCol) +
             " {alignment = 16 : i64} : " + t.phik + ", " + vec16);
    }
    std::string alphaV =
        w.def("av", "vector.broadcast " + alpha + " : f32 to " + t.fragC);
    std::vector<std::string> out;
    for (const std::string &a : acc)
      out.push_back(
          w.def("acc", "arith.mulf " + a + ", " + alphaV + " : " + t.fragC));
    for (int64_t ks = 0; ks < kBlockN / 16; ++ks) {
      std::string a =
          ldmatrix(phiS, tile, "", addc(kRow, ks * 16), featCol, true);
      for (int64_t np = 0; np < p.d / 16; ++np) {
        std::string x4 = ldmatrix(vS, stages, prefix, addc(vRow, ks * 16),
                                  addc(vCol, np * 16), true);
        out[2 * np] = mma(a, bFrag(x4, 0), out[2 * np]);
        out[2 * np + 1] = mma(a, bFrag(x4, 2), out[2 * np + 1]);
      }
      out.back() = mma(a, ones, out.back());
    }
    std::string yield = "scf.yield ";
    for (const std::string &o : out)
      yield += o + ", ";
    w.line(yield + mNew + " : " + types);
    w.close();

    // Group results: kvg[bh, group, d, f] (C rows = features), zg, mg.
    auto result = [&](int64_t i) { return res + "#" + std::to_string(i); };
    auto element = [&](int64_t i, int row, int cc) {
      return w.def("kvv", "vector.extract " + result(i) + "[" +
                              std::to_string(row) + ", " + std::to_string(cc) +
                              "] : f32 from " + t.fragC);
    };
    for (int64_t n = 0; n < p.d / 8; ++n)
      for (int row = 0; row < 2; ++row)
        for (int cc = 0; cc < 2; ++cc) {
          std::string feature = add(mul(warp, 16), addc(g, row * 8));
          std::string d = addc(col2t, n * 8 + cc);
          w.line("memref.store " + element(n, row, cc) + ", %kvg[" + bh + ", " +
                 group + ", " + d + ", " + feature + "] : " + t.kvg);
        }
    std::string zOwner =
        w.def("zown", "arith.cmpi eq, " + tq + ", " + idx(0) + " : index");
    w.open("scf.if " + zOwner);
    for (int row = 0; row < 2; ++row)
      w.line("memref.store " + element(p.d / 8, row, 0) + ", %zg[" + bh + ", " +
             group + ", " + add(mul(warp, 16), addc(g, row * 8)) +
             "] : " + t.zg);
    w.close();
    w.open("scf.if " + first);
    w.line("memref.store " + result(p.d / 8 + 1) + ", %mg[" + bh + ", " +
           group + "] : " + t.mg);
    w.close();
    w.line("gpu.return");

    std::ostringstream os;
    os << "    gpu.func @" << scatterbrainKeyFeaturesName(s)
       << keyFeatureArgs(t, ": ")
       << " kernel attributes {known_block_size = array<i32: " << p.threads
       << ", 1, 1>} {\n";
    os << w.finish();
    os << "    }\n";
    return os.str();
  }

  /// Scatterbrain step 2 (FlashAttention.h): CTA = 256 (d, f) entries of
  /// one batch*head; every thread folds the G groups (stab = max mg, then
  /// the 2^(mg - stab - shift) weighted sums); the first CTA also writes z
  /// and stab.
  std::string emitCombine() {
    const AttentionSpec &s = p.spec;
    int64_t f = s.features, groups = scatterbrainGroups(s);
    tid = w.def("tid", "gpu.thread_id x");
    std::string bx = w.def("bx", "gpu.block_id x");
    bh = w.def("bh", "gpu.block_id y");
    std::string e = add(mul(bx, kCombineThreads), tid);
    std::string d = divc(e, f), fe = remc(e, f);
    auto loop = [&](const std::string &init, const std::string &type,
                    const std::function<std::string(
                        const std::string &, const std::string &)> &body) {
      std::string res = w.fresh("fold"), g = w.fresh("g"), a = w.fresh("a");
      w.open(res + " = scf.for " + g + " = " + idx(0) + " to " + idx(groups) +
             " step " + idx(1) + " iter_args(" + a + " = " + init + ") -> (" +
             type + ")");
      w.line("scf.yield " + body(g, a) + " : " + type);
      w.close();
      return res;
    };
    auto mgAt = [&](const std::string &g) {
      return w.def("mg", "memref.load %mg[" + bh + ", " + g + "] : " + t.mg);
    };
    std::string stab = loop(w.f32Lowest(), "f32",
                            [&](const std::string &g, const std::string &a) {
                              return fop("maxnumf", a, mgAt(g));
                            });
    std::string shifted =
        fop("addf", stab, w.f32(double(scatterbrainShift(s))));
    auto weight = [&](const std::string &g) {
      return ex2(fop("subf", mgAt(g), shifted));
    };
    std::string kv = loop(
        w.f32(0.0), "f32", [&](const std::string &g, const std::string &a) {
          std::string x =
              w.def("kv", "memref.load %kvg[" + bh + ", " + g + ", " + d +
                              ", " + fe + "] : " + t.kvg);
          return w.def("f", "math.fma " + x + ", " + weight(g) + ", " + a +
                                " : f32");
        });
    std::string h = w.def("h", "arith.truncf " + kv + " : f32 to " + t.elem);
    w.line("memref.store " + h + ", %kvt[" + bh + ", " + d + ", " + fe +
           "] : " + t.kvt);
    std::string firstBlock =
        w.def("fb", "arith.cmpi eq, " + bx + ", " + idx(0) + " : index");
    std::string zThread =
        w.def("zt", "arith.cmpi ult, " + tid + ", " + idx(f) + " : index");
    w.open("scf.if " +
           w.def("zz", "arith.andi " + firstBlock + ", " + zThread + " : i1"));
    std::string z = loop(
        w.f32(0.0), "f32", [&](const std::string &g, const std::string &a) {
          std::string x = w.def("z", "memref.load %zg[" + bh + ", " + g + ", " +
                                         tid + "] : " + t.zg);
          return w.def("f", "math.fma " + x + ", " + weight(g) + ", " + a +
                                " : f32");
        });
    w.line("memref.store " + z + ", %zl[" + bh + ", " + tid + "] : " + t.zl);
    w.close();
    std::string first =
        w.def("first", "arith.cmpi eq, " + tid + ", " + idx(0) + " : index");
    w.open("scf.if " +
           w.def("sf", "arith.andi " + firstBlock + ", " + first + " : i1"));
    w.line("memref.store " + stab + ", %stab[" + bh + "] : " + t.stab);
    w.close();
    w.line("gpu.return");
    std::ostringstream os;
    os << "    gpu.func @" << scatterbrainCombineName(s) << combineArgs(t, ": ")
       << " kernel attributes {known_block_size = array<i32: "
       << kCombineThreads << ", 1, 1>} {\n";
    os << w.finish();
    os << "    }\n";
    return os.str();
  }

private:
  std::string idx(int64_t v) { return w.index(v); }
  std::string add(const std::string &a, const std::string &b) {
    return w.def("i", "arith.addi " + a + ", " + b + " : index");
  }
  std::string addc(const std::string &a, int64_t c) {
    return c == 0 ? a : add(a, idx(c));
  }
  std::string mul(const std::string &a, int64_t c) {
    return w.def("i", "arith.muli " + a + ", " + idx(c) + " : index");
  }
  std::string divc(const std::string &a, int64_t c) {
    return w.def("i", "arith.divui " + a + ", " + idx(c) + " : index");
  }
  std::string remc(const std::string &a, int64_t c) {
    return w.def("i", "arith.remui " + a + ", " + idx(c) + " : index");
  }

  void emitSetup() {
    const AttentionSpec &s = p.spec;
    tid = w.def("tid", "gpu.thread_id x");
    std::string bx = w.def("bx", "gpu.block_id x");
    bh = w.def("bh", "gpu.block_id y");
    // Long causal rows first, across a group of heads
    // (attentionHeadsPerTileGroup). With a window every tile has about the
    // same work: natural order (neighbouring CTAs share most of their K/V
    // tiles in L2 either way).
    int64_t group = attentionHeadsPerTileGroup(s);
    if (s.window > 0) {
      qTile = bx;
    } else if (group > 1) {
      int64_t span = group * p.numQTiles;
      std::string n = w.def("cta", "arith.addi " + bx + ", " +
                                       mul(bh, p.numQTiles) + " : index");
      std::string within = remc(n, span);
      qTile = w.def("q_tile", "arith.subi " + idx(p.numQTiles - 1) + ", " +
                                  divc(within, group) + " : index");
      bh = w.def("bh_grouped", "arith.addi " + mul(divc(n, span), group) +
                                   ", " + remc(within, group) + " : index");
    } else {
      qTile = w.def("q_tile", "arith.subi " + idx(p.numQTiles - 1) + ", " + bx +
                                  " : index");
    }
    q0 = mul(qTile, p.blockM);
    emitLaneSetup();

    if (p.packed) {
      // b = bh / H, h = bh % H: rows b*T.., columns h*D (+ H*D for K, 2H*D
      // for V).
      int64_t hd = s.heads * p.d;
      rowBase = mul(divc(bh, s.heads), s.seq);
      std::string hCol = mul(remc(bh, s.heads), p.d);
      opQ = {"%qkv", t.qkvGlobal, hCol};
      opK = {"%qkv", t.qkvGlobal, addc(hCol, hd)};
      opV = {"%qkv", t.qkvGlobal, addc(hCol, 2 * hd)};
      opO = {"%o", t.oGlobal, hCol};
    } else {
      opQ = {"%q", t.global, ""};
      opK = {"%k", t.global, ""};
      opV = {"%v", t.global, ""};
      opO = {"%o", t.global, ""};
    }
    std::string smem =
        w.def("smem", "gpu.dynamic_shared_memory : " + t.smemBytes);
    // wgmma: the tiles start at the first swizzle atom boundary (the
    // swizzle is a function of the shared address); their shared
    // addresses feed the wgmma descriptors.
    std::string base = idx(0);
    if (p.wgmma) {
      std::string addr =
          w.def("smem_addr", "memref.extract_aligned_pointer_as_index " + smem +
                                 " : " + t.smemBytes + " -> index");
      std::string up = addc(addr, kSwizzleAtom - 1);
      std::string aligned =
          w.def("aligned",
                "arith.andi " + up + ", " + idx(-kSwizzleAtom) + " : index");
      base = w.def("base", "arith.subi " + aligned + ", " + addr + " : index");
      qAddr = aligned;
      kAddr = addc(aligned, p.qBytes);
      vAddr = addc(kAddr, p.stages * p.kvStageBytes);
    }
    auto viewAt = [&](const std::string &hint, int64_t offset,
                      const std::string &type) {
      return w.def(hint, "memref.view " + smem + "[" + addc(base, offset) +
                             "][] : " + t.smemBytes + " to " + type);
    };
    qS = viewAt("q_smem", 0, t.qSmem);
    qLoadS = p.wgmma ? viewAt("q_load_smem", 0, t.qLoadSmem) : qS;
    kS = viewAt("k_smem", p.qBytes, t.kvSmem);
    vS = viewAt("v_smem", p.qBytes + p.stages * p.kvStageBytes, t.kvSmem);
    if (p.sb) {
      int64_t phiOffset = p.qBytes + 2 * p.stages * p.kvStageBytes;
      phiS = w.def("phik_smem", "memref.view " + smem + "[" + idx(phiOffset) +
                                    "][] : " + t.smemBytes + " to " + t.kvSmem);
      projS =
          w.def("proj_smem", "memref.view " + smem + "[" +
                                 idx(phiOffset + p.stages * p.kvStageBytes) +
                                 "][] : " + t.smemBytes + " to " + t.projSmem);
      opPhiK = {"%phik", t.phik, ""};
    }

    // Key tile bounds: [0, fullEnd) need no mask, [fullEnd, total) do.
    if (s.window > 0) {
      emitWindowBounds();
    } else if (s.causal) {
      int64_t ratio = p.blockM / kBlockN;
      fullEnd = mul(qTile, ratio);
      std::string end = mul(addc(qTile, 1), ratio);
      total = w.def("total", "arith.minsi " + end + ", " + idx(p.numKTiles) +
                                 " : index");
    } else {
      bool ragged = s.seq % kBlockN != 0;
      fullEnd = idx(ragged ? p.numKTiles - 1 : p.numKTiles);
      total = idx(p.numKTiles);
    }
  }

  /// Per-thread indices from tid: warp, fragment coordinates, ldmatrix and
  /// cp.async addresses.
  void emitLaneSetup() {
    std::string lane = remc(tid, 32);
    warp = divc(tid, 32);
    g = divc(lane, 4);
    tq = remc(lane, 4);
    std::string l16 = remc(lane, 16), h16 = divc(lane, 16);
    std::string l8 = remc(lane, 8), h8 = remc(divc(lane, 8), 2);
    // ldmatrix row addresses (see the file comment).
    warpRow = mul(warp, kRowsPerWarp);
    lane_ = lane;
    qRow = add(warpRow, l16);
    qCol = mul(h16, 8);
    kRow = add(mul(h16, 8), l8);
    kCol = mul(h8, 8);
    vRow = add(mul(h8, 8), l8);
    vCol = qCol;
    // The thread's two query rows (in the tile) and key column offset 2t.
    rowInTile[0] = add(warpRow, g);
    rowInTile[1] = addc(rowInTile[0], 8);
    col2t = mul(tq, 2);
    // cp.async: chunk (row, col) of 8 elements.
    int64_t chunksPerRow = p.d / kCopyElems;
    cpRow = divc(tid, chunksPerRow);
    cpCol = mul(remc(tid, chunksPerRow), kCopyElems);
    // 128-byte swizzle: 16-byte chunk c of row r sits at chunk c ^ (r % 8).
    // Every copy pass moves a multiple of 8 rows, so r % 8 = cpRow % 8.
    if (p.wgmma)
      cpColSwz = mul(w.def("swz", "arith.xori " + divc(cpCol, kCopyElems) +
                                      ", " + remc(cpRow, 8) + " : index"),
                     kCopyElems);
  }

  /// Sliding window: query i sees keys [i - loOff, i + hiOff] (and [0, T)).
  /// Offsets beyond T change nothing: clamped to T, so that the key
  /// arithmetic fits i32 (verifyAttentionSpec bounds T).
  int64_t windowLoOff() const {
    const AttentionSpec &s = p.spec;
    return std::min(s.causal ? s.window - 1 : s.window / 2, s.seq);
  }
  int64_t windowHiOff() const {
    const AttentionSpec &s = p.spec;
    return std::min(s.causal ? 0 : s.window - s.window / 2 - 1, s.seq);
  }

  /// Key tiles of a windowed CTA, rows [q0, qLast] (qLast < T):
  ///   visited  [firstTile, total) = keys [max(0, q0 - loOff),
  ///                                      min(T, qLast + hiOff + 1)),
  ///   unmasked [fullBegin, fullEnd): tiles inside every row's band, i.e.
  ///            keys >= qLast - loOff and < min(T, q0 + hiOff + 1);
  /// the tiles before fullBegin (the band's lower edge) and from fullEnd on
  /// (upper edge / diagonal, ragged end) are masked.
  void emitWindowBounds() {
    const AttentionSpec &s = p.spec;
    int64_t loOff = windowLoOff(), hiOff = windowHiOff();
    auto op2 = [&](const std::string &op, const std::string &a,
                   const std::string &b) {
      return w.def("i", "arith." + op + " " + a + ", " + b + " : index");
    };
    std::string qEnd = op2("minsi", addc(q0, p.blockM), idx(s.seq));
    std::string qLast = addc(qEnd, -1);
    // ceil(max(0, x) / BN)
    auto tileCeil = [&](const std::string &x) {
      return divc(addc(op2("maxsi", x, idx(0)), kBlockN - 1), kBlockN);
    };
    firstTile = w.def("first_tile", "arith.divui " +
                                        op2("maxsi", addc(q0, -loOff), idx(0)) +
                                        ", " + idx(kBlockN) + " : index");
    total = w.def("total",
                  "arith.divui " +
                      addc(op2("minsi", addc(qLast, hiOff + 1), idx(s.seq)),
                           kBlockN - 1) +
                      ", " + idx(kBlockN) + " : index");
    fullBegin = op2("minsi", tileCeil(addc(qLast, -loOff)), total);
    fullEnd = op2("maxsi",
                  divc(op2("minsi", addc(q0, hiOff + 1), idx(s.seq)), kBlockN),
                  fullBegin);
    // Live across the key loop: as i32 (tile counts fit) to save registers.
    total32 = w.def("total", "arith.index_cast " + total + " : index to i32");
    fullBegin = w.def("full_begin",
                      "arith.index_cast " + fullBegin + " : index to i32");
    fullEnd =
        w.def("full_end", "arith.index_cast " + fullEnd + " : index to i32");
  }

  /// "mem[indices]" of element (row, col) of this batch*head's [T, D] slice.
  std::string at(const Operand &op, const std::string &row,
                 const std::string &col) {
    if (!p.packed)
      return op.mem + "[" + bh + ", " + row + ", " + col + "]";
    return op.mem + "[" + add(rowBase, row) + ", " + add(op.colBase, col) + "]";
  }

  /// cp.async of `rows` rows starting at global row `row0` into smem `dst`
  /// (indices `dstPrefix` first, e.g. the stage), zero-filling rows >= T;
  /// `zeroFill` false: rows >= T read row T-1 instead (finite values, for
  /// keys the mask removes anyway).
  void emitTileCopy(const Operand &src, const std::string &dst,
                    const std::string &dstType, const std::string &dstPrefix,
                    const std::string &row0, int64_t rows, bool mayBeRagged,
                    bool zeroFill = true, bool global2D = false) {
    int64_t rowsPerPass = p.threads / (p.d / kCopyElems);
    for (int64_t r = 0; r < rows; r += rowsPerPass) {
      std::string lr = addc(cpRow, r);
      std::string gr = add(row0, lr);
      std::string extra;
      if (mayBeRagged && !zeroFill) {
        gr = w.def("i", "arith.minsi " + gr + ", " + idx(p.spec.seq - 1) +
                            " : index");
      } else if (mayBeRagged) {
        std::string inside = w.def("in", "arith.cmpi slt, " + gr + ", " +
                                             idx(p.spec.seq) + " : index");
        std::string n =
            w.def("n", "arith.select " + inside + ", " + idx(kCopyElems) +
                           ", " + idx(0) + " : index");
        gr = w.def("i", "arith.minsi " + gr + ", " + idx(p.spec.seq - 1) +
                            " : index");
        extra = ", " + n;
      }
      w.line("%" + std::string("cp_") + std::to_string(copyCounter++) +
             " = nvgpu.device_async_copy " +
             (global2D ? src.mem + "[" + gr + ", " + cpCol + "]"
                       : at(src, gr, cpCol)) +
             ", " + dst + "[" + dstPrefix + lr + ", " +
             (p.wgmma ? cpColSwz : cpCol) + "], " + std::to_string(kCopyElems) +
             extra + " {bypassL1} : " + src.type + " to " + dstType);
    }
  }

  /// K (withK) and/or V (withV) of key tile `tile` into `stage`.
  void emitKVCopy(const std::string &tile, const std::string &stage,
                  bool withK = true, bool withV = true) {
    std::string row0 = mul(tile, kBlockN);
    bool ragged = p.spec.seq % kBlockN != 0;
    // Windowed: the ragged last tile is always an edge tile, where keys >= T
    // are masked (select, so any finite K works) and get p = 0 (so V only
    // needs to be finite): clamp the rows instead of zero-filling them, one
    // register operand less per copy.
    bool zeroFill = p.spec.window == 0;
    if (withK)
      emitTileCopy(opK, kS, t.kvSmem, stage + ", ", row0, kBlockN, ragged,
                   zeroFill);
    if (withK && p.sb)
      emitTileCopy(opPhiK, phiS, t.kvSmem, stage + ", ", row0, kBlockN, ragged,
                   zeroFill);
    if (withV)
      emitTileCopy(opV, vS, t.kvSmem, stage + ", ", row0, kBlockN, ragged,
                   zeroFill);
  }

  void commit() { w.line("nvvm.cp.async.commit.group"); }
  /// wgmma reads shared memory through the async proxy: make this thread's
  /// cp.async writes (generic proxy) visible to it before the barrier.
  void fenceForWgmma() {
    if (p.wgmma)
      w.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, "
             "space = #nvvm.shared_space<cta>}");
  }
  void waitGroups(int64_t pending) {
    w.line("nvvm.cp.async.wait.group " + std::to_string(pending));
  }
  /// cp.async groups that may still be pending when the one we need is done.
  /// Commit order: (Q, K0), [V0], then per tile K, [V] (split: separate
  /// groups), S-1 tiles ahead.
  int64_t pendingAllowed() const {
    return p.splitKV ? 2 * p.stages - 3 : p.stages - 2;
  }

  /// Copies of tile `tile` (K and/or V) when tile < total, then a commit
  /// (empty groups keep the counting uniform). `tile32`: the same tile as
  /// i32 (windowed key loop), compared with total32.
  void emitGuardedKVCopy(const std::string &tile, bool withK, bool withV,
                         const std::string &tile32 = "") {
    std::string has = tile32.empty()
                          ? w.def("has_tile", "arith.cmpi slt, " + tile + ", " +
                                                  total + " : index")
                          : w.def("has_tile", "arith.cmpi slt, " + tile32 +
                                                  ", " + total32 + " : i32");
    w.open("scf.if " + has);
    emitKVCopy(tile, remc(tile, p.stages), withK, withV);
    w.close();
    commit();
  }

  void emitPrologue() {
    bool windowed = p.spec.window > 0;
    w.line(windowed ? "// Prologue: Q tile and K/V tiles first_tile .. "
                      "first_tile + stages-2."
                    : "// Prologue: Q tile and K/V tiles 0 .. stages-2.");
    emitTileCopy(opQ, qLoadS, t.qLoadSmem, "", q0, p.blockM,
                 p.spec.seq % p.blockM != 0);
    if (p.sb) {
      Operand proj{"%proj", t.proj, ""};
      emitTileCopy(proj, projS, t.projSmem, "", idx(0), p.spec.features, false,
                   true, /*global2D=*/true);
    }
    // Key tile j lives in stage j % stages (the first visited tile always
    // exists: every band holds key i).
    std::string first = windowed ? firstTile : idx(0);
    std::string firstStage = windowed ? remc(firstTile, p.stages) : idx(0);
    emitKVCopy(first, firstStage, true, !p.splitKV);
    commit();
    if (p.splitKV) {
      emitKVCopy(first, firstStage, false, true);
      commit();
    }
    for (int64_t tile = 1; tile + 1 < p.stages; ++tile) {
      std::string next = windowed ? addc(firstTile, tile) : idx(tile);
      if (p.splitKV) {
        emitGuardedKVCopy(next, true, false);
        emitGuardedKVCopy(next, false, true);
      } else {
        emitGuardedKVCopy(next, true, true);
      }
    }
    waitGroups(pendingAllowed());
    fenceForWgmma();
    w.line("gpu.barrier");
    if (p.qInRegisters && !p.wgmma)
      qFrag = loadQFragments();
    if (p.sb)
      emitQueryFeatures();
  }

  /// Scatterbrain: phi(q) of this warp's rows, from Q.proj^T on the tensor
  /// cores. L = log2 phi(q)_f = log2(e) (c q.w_f - c^2 |q|^2 / 2 - ln(F) / 2);
  /// stabQ = max_f L (per row); the fragments hold 2^(L - stabQ) <= 1, as
  /// the A operand of F = phi(Q).phi(K)^T and of the linear part.
  void emitQueryFeatures() {
    const AttentionSpec &s = p.spec;
    w.line("// Scatterbrain: phi(Q) of the warp's rows (Q.proj^T, row norms).");
    std::vector<std::string> qf = p.qInRegisters ? qFrag : loadQFragments();
    std::vector<std::string> lv[2];
    featureLogits(qf, projS, t.projSmem, "", s.features, lv);
    std::string norm[2];
    rowSquares(qf, norm);
    for (int row = 0; row < 2; ++row) {
      std::string mx = logPhi(lv[row], norm[row]);
      stabQ[row] = quadReduce(mx, "maxnumf");
      for (std::string &x : lv[row])
        x = ex2(fop("subf", x, stabQ[row]));
    }
    phiFrag = packAFragments(lv, s.features);
    std::string stabK =
        w.def("stabk", "memref.load %stab[" + bh + "] : " + t.stab);
    for (int row = 0; row < 2; ++row)
      mInit[row] = fop("addf", stabQ[row], stabK);
    linLog2 = fop("addf", stabK, w.f32(double(scatterbrainShift(s))));
  }

  /// Scores x = A.B^T of the warp's 16 rows against `cols` rows of the smem
  /// tile `mem` (row-major, D columns): as scalars x[row][n-tile * 2 + c]
  /// (column 8 n-tile + 2t + c).
  void featureLogits(const std::vector<std::string> &a, const std::string &mem,
                     const std::string &type, const std::string &prefix,
                     int64_t cols, std::vector<std::string> *out) {
    std::vector<std::string> acc(cols / 8, w.zeros(t.fragC));
    for (int64_t np = 0; np < cols / 16; ++np)
      for (size_t ks = 0; ks < a.size(); ++ks) {
        std::string x4 = ldmatrix(mem, type, prefix, addc(kRow, np * 16),
                                  addc(kCol, int64_t(ks) * 16), false);
        acc[2 * np] = mma(a[ks], bFrag(x4, 0), acc[2 * np]);
        acc[2 * np + 1] = mma(a[ks], bFrag(x4, 2), acc[2 * np + 1]);
      }
    for (size_t n = 0; n < acc.size(); ++n)
      for (int row = 0; row < 2; ++row)
        for (int c = 0; c < 2; ++c)
          out[row].push_back(w.def(
              "x", "vector.extract " + acc[n] + "[" + std::to_string(row) +
                       ", " + std::to_string(c) + "] : f32 from " + t.fragC));
  }

  /// Thread-partial... then quad-reduced |x|^2 of the two rows whose A
  /// fragments (k-steps) are `a`.
  void rowSquares(const std::vector<std::string> &a, std::string *norm) {
    std::vector<std::string> parts[2];
    for (const std::string &frag : a)
      for (int i = 0; i < 4; ++i) {
        std::string h =
            w.def("r", "vector.extract " + frag + "[" + std::to_string(i) +
                           "] : " + t.pair + " from " + t.fragA);
        std::string f =
            w.def("r", "arith.extf " + h + " : " + t.pair + " to " + t.pairF32);
        for (int c = 0; c < 2; ++c) {
          std::string e =
              w.def("r", "vector.extract " + f + "[" + std::to_string(c) +
                             "] : f32 from " + t.pairF32);
          parts[i % 2].push_back(fop("mulf", e, e));
        }
      }
    for (int row = 0; row < 2; ++row)
      norm[row] = quadReduce(tree(parts[row], "addf"), "addf");
  }

  /// In place: logits x -> log2 phi = log2(e) (c x - c^2 norm / 2 -
  /// ln(F) / 2); returns the thread's maximum.
  std::string logPhi(std::vector<std::string> &x, const std::string &norm) {
    const AttentionSpec &s = p.spec;
    double scale = s.scale > 0 ? s.scale : 1.0 / std::sqrt(double(p.d));
    double log2e = 1.4426950408889634, c = std::sqrt(scale);
    std::string bias = fop("addf", fop("mulf", norm, w.f32(-c * c / 2 * log2e)),
                           w.f32(-0.5 * std::log(double(s.features)) * log2e));
    std::string k = w.f32(c * log2e);
    for (std::string &v : x)
      v = fop("addf", fop("mulf", v, k), bias);
    return tree(x, "maxnumf");
  }

  /// A fragments (k-steps of 16 columns) of the scalars v[row][n * 2 + c]
  /// laid out like a C fragment row block (as P for P.V).
  std::vector<std::string> packAFragments(std::vector<std::string> *v,
                                          int64_t cols) {
    auto pair = [&](int64_t n, int row) {
      std::string x =
          w.def("p", "vector.from_elements " + v[row][n * 2] + ", " +
                         v[row][n * 2 + 1] + " : " + t.pairF32);
      return w.def("p",
                   "arith.truncf " + x + " : " + t.pairF32 + " to " + t.pair);
    };
    std::vector<std::string> frags;
    for (int64_t kk = 0; kk < cols / 16; ++kk) {
      std::string a = w.zeros(t.fragA);
      std::string parts[4] = {pair(2 * kk, 0), pair(2 * kk, 1),
                              pair(2 * kk + 1, 0), pair(2 * kk + 1, 1)};
      for (int i = 0; i < 4; ++i)
        a = w.def("pa", "vector.insert " + parts[i] + ", " + a + "[" +
                            std::to_string(i) + "] : " + t.pair + " into " +
                            t.fragA);
      frags.push_back(a);
    }
    return frags;
  }

  /// Q's A fragments of this warp's rows (k-steps of 16 columns).
  std::vector<std::string> loadQFragments() {
    std::vector<std::string> frags;
    for (int64_t ks = 0; ks < p.d / 16; ++ks)
      frags.push_back(
          ldmatrix(qS, t.qSmem, "", qRow, addc(qCol, ks * 16), false));
    return frags;
  }

  std::string ldmatrix(const std::string &mem, const std::string &type,
                       const std::string &prefix, const std::string &row,
                       const std::string &col, bool transpose) {
    return w.def("frag", "nvgpu.ldmatrix " + mem + "[" + prefix + row + ", " +
                             col + "] {numTiles = 4 : i32, transpose = " +
                             (transpose ? "true" : "false") + "} : " + type +
                             " -> " + t.fragA);
  }

  /// Registers [first, first+1] of an x4 ldmatrix result as a B fragment.
  std::string bFrag(const std::string &x4, int first) {
    std::string r0 =
        w.def("r", "vector.extract " + x4 + "[" + std::to_string(first) +
                       "] : " + t.pair + " from " + t.fragA);
    std::string r1 =
        w.def("r", "vector.extract " + x4 + "[" + std::to_string(first + 1) +
                       "] : " + t.pair + " from " + t.fragA);
    std::string b = w.def("b", "vector.insert " + r0 + ", " + w.zeros(t.fragB) +
                                   "[0] : " + t.pair + " into " + t.fragB);
    return w.def("b", "vector.insert " + r1 + ", " + b + "[1] : " + t.pair +
                          " into " + t.fragB);
  }

  std::string mma(const std::string &a, const std::string &b,
                  const std::string &c) {
    if (!p.bf16)
      return w.def("acc", "nvgpu.mma.sync (" + a + ", " + b + ", " + c +
                              ") {mmaShape = [16, 8, 16]} : (" + t.fragA +
                              ", " + t.fragB + ", " + t.fragC + ") -> " +
                              t.fragC);
    // bf16: nvvm.mma.sync on packed i32 registers.
    auto packed = [&](const std::string &v, const std::string &type, int i) {
      std::string r =
          w.def("r", "vector.extract " + v + "[" + std::to_string(i) +
                         "] : " + t.pair + " from " + type);
      return w.def("r", "llvm.bitcast " + r + " : " + t.pair + " to i32");
    };
    std::string as[4], bs[2], cs[4];
    for (int i = 0; i < 4; ++i)
      as[i] = packed(a, t.fragA, i);
    for (int i = 0; i < 2; ++i)
      bs[i] = packed(b, t.fragB, i);
    for (int i = 0; i < 4; ++i)
      cs[i] = w.def("c", "vector.extract " + c + "[" + std::to_string(i / 2) +
                             ", " + std::to_string(i % 2) + "] : f32 from " +
                             t.fragC);
    std::string st = "!llvm.struct<(f32, f32, f32, f32)>";
    std::string r = w.def(
        "mma", "nvvm.mma.sync A[" + as[0] + ", " + as[1] + ", " + as[2] + ", " +
                   as[3] + "] B[" + bs[0] + ", " + bs[1] + "] C[" + cs[0] +
                   ", " + cs[1] + ", " + cs[2] + ", " + cs[3] +
                   "] {layoutA = #nvvm.mma_layout<row>, layoutB = "
                   "#nvvm.mma_layout<col>, multiplicandAPtxType = "
                   "#nvvm.mma_type<bf16>, multiplicandBPtxType = "
                   "#nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, "
                   "k = 16>} : (i32, i32, f32) -> " +
                   st);
    std::string e[4];
    for (int i = 0; i < 4; ++i)
      e[i] = w.def("e", "llvm.extractvalue " + r + "[" + std::to_string(i) +
                            "] : " + st);
    return cFragment(e, "acc");
  }

  /// A C fragment from its 4 scalars: (g, 2t), (g, 2t+1), (g+8, 2t),
  /// (g+8, 2t+1); `hint` names the SSA values.
  std::string cFragment(const std::string *e, const std::string &hint) {
    std::string frag = w.zeros(t.fragC);
    for (int row = 0; row < 2; ++row) {
      std::string v = w.def("v", "vector.from_elements " + e[2 * row] + ", " +
                                     e[2 * row + 1] + " : " + t.pairF32);
      frag = w.def(hint, "vector.insert " + v + ", " + frag + "[" +
                             std::to_string(row) + "] : " + t.pairF32 +
                             " into " + t.fragC);
    }
    return frag;
  }

  /// wgmma matrix descriptor of a 128-byte swizzled tile at shared address
  /// `addr` (a swizzle atom boundary, plus 32-byte k16 steps): start
  /// address >> 4 (bits 0-13), leading byte offset 16 >> 4 (unused with
  /// this swizzle, bits 16-29), stride byte offset 1024 >> 4 between 8-row
  /// groups (bits 32-45), swizzle mode 1 = 128 B (bits 62-63). The same
  /// numbers describe K-major (Q, K) and MN-major (V) tiles of 128-byte
  /// rows.
  std::string wgmmaDescriptor(const std::string &addr) {
    constexpr int64_t kFixedBits = (int64_t(1) << 16) |
                                   (int64_t(kSwizzleAtom >> 4) << 32) |
                                   (int64_t(1) << 62);
    std::string a =
        w.def("desc", "arith.index_cast " + addr + " : index to i64");
    a = w.def("desc", "arith.andi " + a + ", " + w.i64(0x3FFFF) + " : i64");
    a = w.def("desc", "arith.shrui " + a + ", " + w.i64(4) + " : i64");
    return w.def("desc",
                 "arith.ori " + a + ", " + w.i64(kFixedBits) + " : i64");
  }
  std::string descriptorStep(const std::string &desc, int64_t bytes) {
    if (bytes == 0)
      return desc;
    return w.def("desc",
                 "arith.addi " + desc + ", " + w.i64(bytes >> 4) + " : i64");
  }
  /// One inline-asm block (KernelText.h, "wgmma as inline asm") and its
  /// 32 accumulator values.
  std::vector<std::string> wgmmaBlock(const std::string &body,
                                      const std::string &constraints,
                                      const std::vector<std::string> &args,
                                      const std::vector<std::string> &types) {
    std::string st = detail::wgmmaResultStruct(32);
    std::string argText, typeText;
    for (size_t i = 0; i < args.size(); ++i) {
      argText += (i ? ", " : "") + args[i];
      typeText += (i ? ", " : "") + types[i];
    }
    return accumulatorValues(
        w.def("wgmma", "llvm.inline_asm has_side_effects asm_dialect = att \"" +
                           body + "\", \"" + constraints + "\" " + argText +
                           " : (" + typeText + ") -> " + st));
  }
  std::vector<std::string> accumulatorValues(const std::string &r) {
    std::string st = detail::wgmmaResultStruct(32);
    std::vector<std::string> d;
    for (int i = 0; i < 32; ++i)
      d.push_back(w.def("d", "llvm.extractvalue " + r + "[" +
                                 std::to_string(i) + "] : " + st));
    return d;
  }
  std::string wgmmaShape() const {
    std::string e = p.bf16 ? "bf16" : "f16";
    return "wgmma.mma_async.sync.aligned.m64n64k16.f32." + e + "." + e;
  }
  /// S of this warpgroup's 64 query rows and key tile `stage`: 4 wgmmas
  /// (k16 steps over D = 64), A = Q and B = K from shared memory (both
  /// K-major), the first one without accumulate. Element i of the result:
  /// row 16 warp + g (+ 8 for i % 4 >= 2), column 8 (i / 4) + 2t + i % 2,
  /// i.e. the C fragments of mma.sync n-tile i / 4.
  std::vector<std::string> wgmmaScores(const std::string &stage) {
    std::string qBase = add(qAddr, mul(divc(warp, 4), kWgmmaRows * p.d * 2));
    std::string qd = wgmmaDescriptor(qBase);
    std::string kd = wgmmaDescriptor(add(kAddr, mul(stage, p.kvStageBytes)));
    std::vector<std::string> aDescs, bDescs;
    for (int64_t ks = 0; ks < p.d / 16; ++ks)
      aDescs.push_back(descriptorStep(qd, ks * 32));
    for (int64_t ks = 0; ks < p.d / 16; ++ks)
      bDescs.push_back(descriptorStep(kd, ks * 32));
    return accumulatorValues(
        detail::wgmmaSharedOperandsBlock(w, wgmmaShape(), 32, aDescs, bDescs));
  }
  /// O += P.V for key tile `stage`: 4 wgmmas (k16 steps over the 64 keys),
  /// A = P from registers (`aRegs`: 4 per k-step, the mma.sync A fragment
  /// layout, which is wgmma's too), B = V from shared memory (MN-major:
  /// imm-trans-b; a k16 step is 16 rows = 2048 bytes). `o`: the O
  /// fragments (mma.sync C layout), returned updated.
  std::vector<std::string>
  wgmmaAccumulatePV(const std::vector<std::string> &aRegs,
                    const std::string &stage,
                    const std::vector<std::string> &o) {
    int64_t steps = kBlockN / 16;
    std::string vd = wgmmaDescriptor(add(vAddr, mul(stage, p.kvStageBytes)));
    std::vector<std::string> args, types;
    for (int64_t n = 0; n < p.d / 8; ++n)
      for (int row = 0; row < 2; ++row)
        for (int c = 0; c < 2; ++c) {
          std::string r = w.def(
              "o", "vector.extract " + o[n] + "[" + std::to_string(row) + ", " +
                       std::to_string(c) + "] : f32 from " + t.fragC);
          args.push_back(r);
        }
    std::vector<std::string> acc = args; // tied inputs, appended last
    args.assign(aRegs.begin(), aRegs.end());
    for (int64_t kk = 0; kk < steps; ++kk)
      args.push_back(descriptorStep(vd, kk * 16 * p.d * 2));
    args.push_back(w.i32(1));
    types.assign(aRegs.size(), "i32");
    types.insert(types.end(), steps, "i64");
    types.push_back("i32");
    args.insert(args.end(), acc.begin(), acc.end());
    types.insert(types.end(), acc.size(), "f32");
    int64_t aFirst = 32, descFirst = aFirst + 4 * steps,
            one = descFirst + steps;
    std::string body = "{ .reg .pred fly_acc; setp.ne.b32 fly_acc, $" +
                       std::to_string(one) + ", 0; wgmma.fence.sync.aligned; ";
    for (int64_t kk = 0; kk < steps; ++kk) {
      std::string a = "{";
      for (int i = 0; i < 4; ++i)
        a += (i ? ", $" : "$") + std::to_string(aFirst + 4 * kk + i);
      body += wgmmaShape() + " " + detail::wgmmaAccumulatorList(32) + ", " + a +
              "}, $" + std::to_string(descFirst + kk) + ", fly_acc, 1, 1, 1; ";
    }
    body += detail::kWgmmaCommitAndWait;
    std::string constraints = detail::wgmmaAccumulatorOutputs(32);
    for (int64_t i = 0; i < 4 * steps; ++i)
      constraints += ",r";
    for (int64_t i = 0; i < steps; ++i)
      constraints += ",l";
    constraints += ",r";
    for (int i = 0; i < 32; ++i)
      constraints += "," + std::to_string(i);
    std::vector<std::string> d = wgmmaBlock(body, constraints, args, types);
    std::vector<std::string> out;
    for (int64_t n = 0; n < p.d / 8; ++n)
      out.push_back(cFragment(&d[4 * n], "o"));
    return out;
  }

  std::string ex2(const std::string &x) {
    return w.def("ex2", "llvm.inline_asm asm_dialect = att "
                        "\"ex2.approx.ftz.f32 $0, $1;\", \"=f,f\" " +
                            x + " : (f32) -> f32");
  }
  std::string fop(const std::string &op, const std::string &a,
                  const std::string &b) {
    return w.def("f", "arith." + op + " " + a + ", " + b +
                          " fastmath<contract> : f32");
  }
  std::string quadReduce(const std::string &x, const std::string &op) {
    std::string v = x;
    for (int mask : {1, 2}) {
      std::string name = w.fresh("shfl");
      w.line(name + ", " + name + "_ok = gpu.shuffle xor " + v + ", " +
             w.i32(mask) + ", " + w.i32(32) + " : f32");
      v = fop(op, v, name);
    }
    return v;
  }
  std::string tree(std::vector<std::string> v, const std::string &op) {
    while (v.size() > 1) {
      std::vector<std::string> next;
      for (size_t i = 0; i + 1 < v.size(); i += 2)
        next.push_back(fop(op, v[i], v[i + 1]));
      if (v.size() % 2)
        next.push_back(v.back());
      v = std::move(next);
    }
    return v[0];
  }

  std::string stateTypes() const {
    std::string types;
    for (int64_t i = 0; i < p.d / 8; ++i)
      types += t.fragC + ", ";
    return types + "f32, f32, f32, f32";
  }

  /// One key tile: returns the new state. Windowed: `jIn` is the i32
  /// induction variable.
  State emitIteration(const std::string &jIn, const State &in, bool masked) {
    const AttentionSpec &s = p.spec;
    int64_t nTilesS = kBlockN / 8, nTilesO = p.d / 8;
    bool windowed = s.window > 0;
    std::string j = jIn, j32, next32;
    if (windowed) {
      j32 = jIn;
      j = w.def("j", "arith.index_cast " + j32 + " : i32 to index");
    }
    w.line("// Key tile: wait for it (split: its K), then prefetch tile "
           "j + stages - 1 into the stage tile j - 1 used.");
    waitGroups(pendingAllowed());
    fenceForWgmma();
    w.line("gpu.barrier");
    std::string stage = remc(j, p.stages);
    std::string next = addc(j, p.stages - 1);
    if (windowed)
      next32 = w.def("next", "arith.addi " + j32 + ", " + w.i32(p.stages - 1) +
                                 " : i32");
    emitGuardedKVCopy(next, true, !p.splitKV, next32);

    // S = Q . K^T
    std::string prefix = stage + ", ";
    // Scores as scalars: sv[row][n-tile * 2 + c].
    std::vector<std::string> sv[2];
    if (p.wgmma) {
      std::vector<std::string> d = wgmmaScores(stage);
      for (int64_t n = 0; n < nTilesS; ++n)
        for (int row = 0; row < 2; ++row)
          for (int c = 0; c < 2; ++c)
            sv[row].push_back(d[4 * n + 2 * row + c]);
    } else {
      std::vector<std::string> qf = p.qInRegisters ? qFrag : loadQFragments();
      std::vector<std::string> sAcc(nTilesS, w.zeros(t.fragC));
      for (int64_t np = 0; np < kBlockN / 16; ++np) {
        for (int64_t ks = 0; ks < p.d / 16; ++ks) {
          std::string x4 = ldmatrix(kS, t.kvSmem, prefix, addc(kRow, np * 16),
                                    addc(kCol, ks * 16), false);
          sAcc[2 * np] = mma(qf[ks], bFrag(x4, 0), sAcc[2 * np]);
          sAcc[2 * np + 1] = mma(qf[ks], bFrag(x4, 2), sAcc[2 * np + 1]);
        }
      }
      for (int64_t n = 0; n < nTilesS; ++n)
        for (int row = 0; row < 2; ++row)
          for (int c = 0; c < 2; ++c)
            sv[row].push_back(w.def(
                "s", "vector.extract " + sAcc[n] + "[" + std::to_string(row) +
                         ", " + std::to_string(c) + "] : f32 from " + t.fragC));
    }

    // Scatterbrain: F = phi(Q).phi(K)^T of the tile (phi(K) scaled by
    // 2^-mc[j]).
    std::vector<std::string> fv[2];
    if (p.sb)
      featureLogits(phiFrag, phiS, t.kvSmem, prefix, kBlockN, fv);

    if (masked && windowed) {
      emitWindowMask(j32, sv, p.sb ? fv : nullptr);
    } else if (masked) {
      w.line("// Mask: key > limit(row), limit = causal ? min(row, T-1) : "
             "T-1.");
      std::string key0 = add(mul(j, kBlockN), col2t);
      for (int row = 0; row < 2; ++row) {
        std::string limit = idx(s.seq - 1);
        if (s.causal) {
          std::string qr = add(q0, rowInTile[row]);
          limit = w.def("lim", "arith.minsi " + qr + ", " + limit + " : index");
        }
        std::string rel =
            w.def("rel", "arith.subi " + limit + ", " + key0 + " : index");
        for (int64_t n = 0; n < nTilesS; ++n)
          for (int c = 0; c < 2; ++c) {
            std::string &x = sv[row][n * 2 + c];
            std::string out = w.def("out", "arith.cmpi sgt, " + idx(n * 8 + c) +
                                               ", " + rel + " : index");
            x = w.def("s", "arith.select " + out + ", " + w.f32NegInf() + ", " +
                               x + " : f32");
          }
      }
    }

    State st;
    std::string scale = w.f32(p.scaleLog2);
    std::string alpha[2];
    std::string mcj;
    if (p.sb)
      mcj = w.def("mc", "memref.load %mc[" + bh + ", " + j + "] : " + t.mc);
    for (int row = 0; row < 2; ++row) {
      std::string mx = quadReduce(tree(sv[row], "maxnumf"), "maxnumf");
      std::string mNew = fop("maxnumf", in.m[row], fop("mulf", mx, scale));
      alpha[row] = ex2(fop("subf", in.m[row], mNew));
      // Scatterbrain: weight e^s - phi(q).phi(k) inside the band (F is 0
      // outside it), both scaled by 2^-m.
      std::string fScale;
      if (p.sb)
        fScale = ex2(fop("subf", fop("addf", stabQ[row], mcj), mNew));
      for (size_t e = 0; e < sv[row].size(); ++e) {
        std::string &x = sv[row][e];
        x = ex2(fop("subf", fop("mulf", x, scale), mNew));
        if (p.sb)
          x = fop("subf", x, fop("mulf", fv[row][e], fScale));
      }
      std::string sum = tree(sv[row], "addf");
      st.l[row] = fop("addf", fop("mulf", in.l[row], alpha[row]), sum);
      st.m[row] = mNew;
    }
    // O *= alpha (per row).
    std::string alphaV[2];
    for (int row = 0; row < 2; ++row)
      alphaV[row] = w.def("av", "vector.broadcast " + alpha[row] +
                                    " : f32 to " + t.pairF32);
    st.o.resize(nTilesO);
    for (int64_t n = 0; n < nTilesO; ++n) {
      std::string acc = in.o[n];
      for (int row = 0; row < 2; ++row) {
        std::string r =
            w.def("orow", "vector.extract " + acc + "[" + std::to_string(row) +
                              "] : " + t.pairF32 + " from " + t.fragC);
        r = w.def("orow",
                  "arith.mulf " + r + ", " + alphaV[row] + " : " + t.pairF32);
        acc = w.def("o", "vector.insert " + r + ", " + acc + "[" +
                             std::to_string(row) + "] : " + t.pairF32 +
                             " into " + t.fragC);
      }
      st.o[n] = acc;
    }
    // P as A fragments: k-step kk = S n-tiles 2kk, 2kk+1.
    auto pPair = [&](int64_t n, int row) {
      std::string v =
          w.def("p", "vector.from_elements " + sv[row][n * 2] + ", " +
                         sv[row][n * 2 + 1] + " : " + t.pairF32);
      return w.def("p",
                   "arith.truncf " + v + " : " + t.pairF32 + " to " + t.pair);
    };
    if (p.splitKV) {
      w.line("// V of tile j: wait for it, then prefetch the next V.");
      waitGroups(pendingAllowed());
      fenceForWgmma();
      w.line("gpu.barrier");
      emitGuardedKVCopy(next, false, true, next32);
    }
    if (p.wgmma) {
      std::vector<std::string> aRegs;
      for (int64_t kk = 0; kk < kBlockN / 16; ++kk) {
        std::string parts[4] = {pPair(2 * kk, 0), pPair(2 * kk, 1),
                                pPair(2 * kk + 1, 0), pPair(2 * kk + 1, 1)};
        for (const std::string &part : parts)
          aRegs.push_back(
              w.def("pa", "llvm.bitcast " + part + " : " + t.pair + " to i32"));
      }
      st.o = wgmmaAccumulatePV(aRegs, stage, st.o);
      return st;
    }
    for (int64_t kk = 0; kk < kBlockN / 16; ++kk) {
      std::string a = w.zeros(t.fragA);
      std::string parts[4] = {pPair(2 * kk, 0), pPair(2 * kk, 1),
                              pPair(2 * kk + 1, 0), pPair(2 * kk + 1, 1)};
      for (int i = 0; i < 4; ++i)
        a = w.def("pa", "vector.insert " + parts[i] + ", " + a + "[" +
                            std::to_string(i) + "] : " + t.pair + " into " +
                            t.fragA);
      for (int64_t np = 0; np < p.d / 16; ++np) {
        std::string x4 = ldmatrix(vS, t.kvSmem, prefix, addc(vRow, kk * 16),
                                  addc(vCol, np * 16), true);
        st.o[2 * np] = mma(a, bFrag(x4, 0), st.o[2 * np]);
        st.o[2 * np + 1] = mma(a, bFrag(x4, 2), st.o[2 * np + 1]);
      }
    }
    return st;
  }

  /// Window mask of key tile j on the scores sv[row][n * 2 + c] (key
  /// j * BN + 2t + n * 8 + c): -inf outside the row's band, on the edge
  /// tiles only (j < fullBegin or j >= fullEnd; a CTA-uniform branch).
  /// Scatterbrain: the feature scores fv (same layout) become 0 there.
  void emitWindowMask(const std::string &j32, std::vector<std::string> *sv,
                      std::vector<std::string> *fv) {
    const AttentionSpec &s = p.spec;
    int64_t nTilesS = kBlockN / 8;
    int lists = fv ? 2 : 1;
    auto rows = [&](int li) { return li == 0 ? sv : fv; };
    auto list = [&](const char *what) {
      std::string text;
      for (int li = 0; li < lists; ++li)
        for (int row = 0; row < 2; ++row)
          for (const std::string &x : rows(li)[row])
            text += (text.empty() ? "" : ", ") + (what ? std::string(what) : x);
      return text;
    };
    std::string types = list("f32");
    std::string below = w.def("low_edge", "arith.cmpi ult, " + j32 + ", " +
                                              fullBegin + " : i32");
    std::string above = w.def("high_edge", "arith.cmpi uge, " + j32 + ", " +
                                               fullEnd + " : i32");
    std::string edge =
        w.def("edge", "arith.ori " + below + ", " + above + " : i1");
    std::string unmasked = "scf.yield " + list(nullptr) + " : " + types;
    std::string res = w.fresh("masked");
    w.open(res + ":" + std::to_string(lists * 2 * 2 * nTilesS) + " = scf.if " +
           edge + " -> (" + types + ")");
    w.line("// Mask: key - row outside [-loOff, hiOff], or key > T-1 "
           "(i32: few registers live across the loop).");
    auto i32op = [&](const std::string &op, const std::string &a,
                     const std::string &b) {
      return w.def("m", "arith." + op + " " + a + ", " + b + " : i32");
    };
    auto toI32 = [&](const std::string &x) {
      return w.def("m", "arith.index_cast " + x + " : index to i32");
    };
    // key0 = j * BN + 2t; rel = key0 - row0 (row0 = q0 + rowInTile[0]).
    std::string key0 =
        i32op("addi", i32op("muli", j32, w.i32(kBlockN)), toI32(col2t));
    std::string rel = i32op("subi", key0, toI32(add(q0, rowInTile[0])));
    std::string relT = i32op("subi", w.i32(s.seq - 1), key0);
    std::vector<std::string> masked[2] = {sv[0], sv[1]};
    std::vector<std::string> maskedF[2];
    if (fv)
      maskedF[0] = fv[0], maskedF[1] = fv[1];
    for (int row = 0; row < 2; ++row) {
      // Key key0 + off is allowed for row0 + 8 row iff
      //   -loOff + 8 row - rel <= off <= min(hiOff + 8 row - rel, relT).
      std::string lo = i32op("subi", w.i32(8 * row - windowLoOff()), rel);
      std::string hi = i32op(
          "minsi", i32op("subi", w.i32(8 * row + windowHiOff()), rel), relT);
      for (int64_t n = 0; n < nTilesS; ++n)
        for (int c = 0; c < 2; ++c) {
          std::string &x = masked[row][n * 2 + c];
          std::string off = w.i32(n * 8 + c);
          std::string after =
              w.def("out", "arith.cmpi sgt, " + off + ", " + hi + " : i32");
          std::string before =
              w.def("out", "arith.cmpi slt, " + off + ", " + lo + " : i32");
          std::string out =
              w.def("out", "arith.ori " + after + ", " + before + " : i1");
          x = w.def("s", "arith.select " + out + ", " + w.f32NegInf() + ", " +
                             x + " : f32");
          if (fv) {
            std::string &f = maskedF[row][n * 2 + c];
            f = w.def("f", "arith.select " + out + ", " + w.f32(0.0) + ", " +
                               f + " : f32");
          }
        }
    }
    std::string yield;
    for (int li = 0; li < lists; ++li)
      for (int row = 0; row < 2; ++row)
        for (const std::string &x : (li == 0 ? masked : maskedF)[row])
          yield += (yield.empty() ? "" : ", ") + x;
    w.line("scf.yield " + yield + " : " + types);
    w.close();
    w.open("else");
    w.line(unmasked);
    w.close();
    int64_t k = 0;
    for (int li = 0; li < lists; ++li)
      for (int row = 0; row < 2; ++row)
        for (std::string &x : rows(li)[row])
          x = res + "#" + std::to_string(k++);
  }

  State emitLoop(const std::string &lb, const std::string &ub,
                 const State &init, bool masked) {
    std::string res = w.fresh("state");
    std::string j = w.fresh("j");
    State inner;
    // Windowed: an i32 loop (lb, ub i32), fewer registers live across it.
    bool i32Loop = p.spec.window > 0;
    std::string header = res + ":" + std::to_string(p.d / 8 + 4) +
                         " = scf.for " + j + " = " + lb + " to " + ub +
                         " step " + (i32Loop ? w.i32(1) : idx(1)) +
                         " iter_args(";
    for (size_t n = 0; n < init.o.size(); ++n) {
      inner.o.push_back(w.fresh("o_in"));
      header += inner.o.back() + " = " + init.o[n] + ", ";
    }
    for (int row = 0; row < 2; ++row) {
      inner.m[row] = w.fresh("m_in");
      header += inner.m[row] + " = " + init.m[row] + ", ";
    }
    for (int row = 0; row < 2; ++row) {
      inner.l[row] = w.fresh("l_in");
      header += inner.l[row] + " = " + init.l[row] + (row ? "" : ", ");
    }
    header += ") -> (" + stateTypes() + ")" + (i32Loop ? " : i32" : "");
    w.open(header);
    State out = emitIteration(j, inner, masked);
    std::string yield = "scf.yield ";
    for (const std::string &o : out.o)
      yield += o + ", ";
    yield += out.m[0] + ", " + out.m[1] + ", " + out.l[0] + ", " + out.l[1] +
             " : " + stateTypes();
    w.line(yield);
    w.close();
    State result;
    int64_t k = 0;
    for (size_t n = 0; n < init.o.size(); ++n)
      result.o.push_back(res + "#" + std::to_string(k++));
    for (int row = 0; row < 2; ++row)
      result.m[row] = res + "#" + std::to_string(k++);
    for (int row = 0; row < 2; ++row)
      result.l[row] = res + "#" + std::to_string(k++);
    return result;
  }

  void emitLoops() {
    State init;
    for (int64_t n = 0; n < p.d / 8; ++n)
      init.o.push_back(w.zeros(t.fragC));
    for (int row = 0; row < 2; ++row) {
      // A window's first tiles can mask a row entirely: its max must not be
      // -inf then (-inf - -inf is NaN). Starting from the lowest finite
      // float, such a tile gives p = 0, alpha = 1, and the row's first
      // finite score alpha = 0.
      init.m[row] = p.sb                ? mInit[row]
                    : p.spec.window > 0 ? w.f32Lowest()
                                        : w.f32NegInf();
      init.l[row] = w.f32(0.0);
    }
    if (p.spec.window > 0) {
      // One loop over the visited tiles; the mask is a uniform branch on
      // the edge tiles (three loops, edge / inside / edge, spill at the
      // 128-register cap).
      w.line("// Key tiles of the window band (mask on its edges only).");
      std::string first32 =
          w.def("first", "arith.index_cast " + firstTile + " : index to i32");
      final = emitLoop(first32, total32, init, true);
      if (p.sb)
        emitLinearPart();
      return;
    }
    w.line("// Key tiles without mask.");
    State mid = emitLoop(idx(0), fullEnd, init, false);
    bool needMask = p.spec.causal || p.spec.seq % kBlockN != 0;
    if (needMask) {
      w.line("// Key tiles with mask (diagonal / ragged end).");
      final = emitLoop(fullEnd, total, mid, true);
    } else {
      final = mid;
    }
  }

  /// Scatterbrain: the Performer term of every key, phi(q).kvt and
  /// phi(q).z scaled by 2^(stabQ + stab + shift - m), added to O and to the
  /// (thread-partial) row sums; the band's tiles already hold e^s - F.
  void emitLinearPart() {
    const AttentionSpec &s = p.spec;
    w.line("// Scatterbrain: linear part phi(Q).(phi(K)^T V), phi(Q).sum "
           "phi(K).");
    std::string factor[2], factorV[2];
    for (int row = 0; row < 2; ++row) {
      factor[row] =
          ex2(fop("subf", fop("addf", stabQ[row], linLog2), final.m[row]));
      factorV[row] = w.def("fv", "vector.broadcast " + factor[row] +
                                     " : f32 to " + t.pairF32);
    }
    std::string vec2 = "vector<2x" + t.elem + ">";
    for (int64_t nt = 0; nt < p.d / 8; ++nt) {
      // B fragment: (k = feature 2t.., n = column g) of kvt[d][f].
      std::string d = addc(g, nt * 8);
      std::string acc = w.zeros(t.fragC);
      for (int64_t ks = 0; ks < s.features / 16; ++ks) {
        std::string b = w.zeros(t.fragB);
        for (int half = 0; half < 2; ++half) {
          std::string col = addc(col2t, ks * 16 + half * 8);
          std::string v = w.def(
              "kv", "vector.load %kvt[" + bh + ", " + d + ", " + col +
                        "] {alignment = 4 : i64} : " + t.kvt + ", " + vec2);
          b = w.def("b", "vector.insert " + v + ", " + b + "[" +
                             std::to_string(half) + "] : " + t.pair + " into " +
                             t.fragB);
        }
        acc = mma(phiFrag[ks], b, acc);
      }
      std::string o = final.o[nt];
      for (int row = 0; row < 2; ++row) {
        std::string r =
            w.def("lin", "vector.extract " + acc + "[" + std::to_string(row) +
                             "] : " + t.pairF32 + " from " + t.fragC);
        std::string cur =
            w.def("orow", "vector.extract " + o + "[" + std::to_string(row) +
                              "] : " + t.pairF32 + " from " + t.fragC);
        std::string sum = w.def("orow", "math.fma " + r + ", " + factorV[row] +
                                            ", " + cur + " : " + t.pairF32);
        o = w.def("o", "vector.insert " + sum + ", " + o + "[" +
                           std::to_string(row) + "] : " + t.pairF32 + " into " +
                           t.fragC);
      }
      final.o[nt] = o;
    }
    // Row sums: phi(q) . z over the thread's features (A fragment element i
    // holds row i % 2, features 16 ks + 2t (+ 8 for i >= 2)).
    std::vector<std::string> parts[2];
    for (int64_t ks = 0; ks < s.features / 16; ++ks)
      for (int i = 0; i < 4; ++i) {
        std::string h = w.def("r", "vector.extract " + phiFrag[ks] + "[" +
                                       std::to_string(i) + "] : " + t.pair +
                                       " from " + t.fragA);
        std::string f =
            w.def("r", "arith.extf " + h + " : " + t.pair + " to " + t.pairF32);
        std::string col = addc(col2t, ks * 16 + (i / 2) * 8);
        std::string z = w.def("z", "vector.load %zl[" + bh + ", " + col +
                                       "] {alignment = 8 : i64} : " + t.zl +
                                       ", " + t.pairF32);
        std::string prod =
            w.def("r", "arith.mulf " + f + ", " + z + " : " + t.pairF32);
        for (int c = 0; c < 2; ++c)
          parts[i % 2].push_back(w.def("r", "vector.extract " + prod + "[" +
                                                std::to_string(c) +
                                                "] : f32 from " + t.pairF32));
      }
    for (int row = 0; row < 2; ++row)
      final.l[row] = fop("addf", final.l[row],
                         fop("mulf", tree(parts[row], "addf"), factor[row]));
  }

  void emitEpilogue() {
    const AttentionSpec &s = p.spec;
    w.line("// Epilogue: O / rowsum, rows < T only.");
    // wgmma: the Q tile was read by whole warpgroups, and the staged rows of
    // a warp (padded layout) overlap other warps' swizzled Q rows.
    if (p.wgmma && p.stagedEpilogue)
      w.line("gpu.barrier");
    bool ragged = s.seq % p.blockM != 0;
    for (int row = 0; row < 2; ++row) {
      std::string l = quadReduce(final.l[row], "addf");
      std::string inv =
          w.def("inv", "arith.divf " + w.f32(1.0) + ", " + l + " : f32");
      std::string invV =
          w.def("invv", "vector.broadcast " + inv + " : f32 to " + t.pairF32);
      if (p.stagedEpilogue) {
        // Into this warp's own rows of the Q tile (only this warp read them).
        for (int64_t n = 0; n < p.d / 8; ++n) {
          std::string r =
              w.def("orow", "vector.extract " + final.o[n] + "[" +
                                std::to_string(row) + "] : " + t.pairF32 +
                                " from " + t.fragC);
          r = w.def("orow",
                    "arith.mulf " + r + ", " + invV + " : " + t.pairF32);
          std::string h = w.def("oh", "arith.truncf " + r + " : " + t.pairF32 +
                                          " to " + t.pair);
          w.line("vector.store " + h + ", " + qS + "[" + rowInTile[row] + ", " +
                 addc(col2t, n * 8) + "] {alignment = 4 : i64} : " + t.qSmem +
                 ", " + t.pair);
        }
        continue;
      }
      std::string gRow = add(q0, rowInTile[row]);
      if (ragged) {
        std::string inside = w.def("in", "arith.cmpi slt, " + gRow + ", " +
                                             idx(s.seq) + " : index");
        w.open("scf.if " + inside);
      }
      for (int64_t n = 0; n < p.d / 8; ++n) {
        std::string r = w.def(
            "orow", "vector.extract " + final.o[n] + "[" + std::to_string(row) +
                        "] : " + t.pairF32 + " from " + t.fragC);
        r = w.def("orow", "arith.mulf " + r + ", " + invV + " : " + t.pairF32);
        std::string h = w.def("oh", "arith.truncf " + r + " : " + t.pairF32 +
                                        " to " + t.pair);
        std::string col = addc(col2t, n * 8);
        w.line("vector.store " + h + ", " + at(opO, gRow, col) +
               " {alignment = 4 : i64} : " + opO.type + ", " + t.pair);
      }
      if (ragged)
        w.close();
    }
    if (!p.stagedEpilogue)
      return;
    // 16-byte rows out of smem: lane -> (row lane / cpr, chunk lane % cpr) of
    // the warp's 16 rows, 32 / cpr rows per pass.
    w.line("nvvm.bar.warp.sync " + w.i32(-1) + " : i32");
    int64_t cpr = p.d / kCopyElems, rowsPerPass = 32 / cpr;
    std::string vec =
        "vector<" + std::to_string(kCopyElems) + "x" + t.elem + ">";
    std::string lr = add(warpRow, divc(lane_, cpr));
    std::string col = mul(remc(lane_, cpr), kCopyElems);
    for (int64_t r = 0; r < kRowsPerWarp; r += rowsPerPass) {
      std::string sRow = addc(lr, r);
      std::string v =
          w.def("ov", "vector.load " + qS + "[" + sRow + ", " + col +
                          "] {alignment = 16 : i64} : " + t.qSmem + ", " + vec);
      std::string gRow = add(q0, sRow);
      if (ragged) {
        std::string inside = w.def("in", "arith.cmpi slt, " + gRow + ", " +
                                             idx(s.seq) + " : index");
        w.open("scf.if " + inside);
      }
      w.line("vector.store " + v + ", " + at(opO, gRow, col) +
             " {alignment = 16 : i64} : " + opO.type + ", " + vec);
      if (ragged)
        w.close();
    }
  }

  const Plan &p;
  const Types &t;
  FuncWriter w;
  int copyCounter = 0;
  std::string tid, bh, qTile, q0, warp, g, tq, col2t, warpRow, lane_;
  std::string rowBase;
  Operand opQ, opK, opV, opO;
  std::string qRow, qCol, kRow, kCol, vRow, vCol, cpRow, cpCol;
  std::string rowInTile[2];
  std::string qS, kS, vS, fullEnd, total;
  /// wgmma: the Q tile as loaded; shared addresses of Q, K[0], V[0]; the
  /// swizzled column of this thread's cp.async chunk.
  std::string qLoadS, qAddr, kAddr, vAddr, cpColSwz;
  /// Windowed only: the first visited and the first unmasked key tile
  /// (fullBegin and fullEnd are i32 there).
  std::string firstTile, fullBegin, total32;
  std::vector<std::string> qFrag;
  State final;
  /// Scatterbrain: phi(K) stages and the proj tile in smem; phi(Q) A
  /// fragments; per-row stabilisers (log2) and initial maxima; stab + shift.
  std::string phiS, projS;
  Operand opPhiK;
  std::vector<std::string> phiFrag;
  std::string stabQ[2], mInit[2], linLog2;
};

//===----------------------------------------------------------------------===//
// Host side
//===----------------------------------------------------------------------===//

/// A launcher `name` of kernel `kernel` in gpu.module `module`
/// with arguments `params` (": " form) / `args` (" : " form), grid
/// (gridX, BH), `smem` bytes of dynamic shared memory.
std::string emitHostFunction(const Plan &p, const std::string &name,
                             const std::string &module,
                             const std::string &kernel,
                             const std::string &params, const std::string &args,
                             int64_t gridX, int64_t threads, int64_t smem,
                             int64_t repeats) {
  const AttentionSpec &s = p.spec;
  FuncWriter w(/*indent=*/1);
  std::string launch =
      "@" + module + "::@" + kernel + " blocks in (" + w.index(gridX) + ", " +
      w.index(s.batchHeads) + ", " + w.index(1) + ") threads in (" +
      w.index(threads) + ", " + w.index(1) + ", " + w.index(1) +
      ") dynamic_shared_memory_size " + w.i32(smem) + " args" + args;
  detail::emitLaunches(w, launch, repeats);
  w.line("return");
  std::ostringstream os;
  os << "  func.func private @" << name << params << " {\n";
  os << w.finish() << "  }\n";
  return os.str();
}

std::string emitAttentionHost(const Plan &p, const Types &t,
                              const std::string &name, int64_t repeats) {
  return emitHostFunction(p, name, attentionKernelModuleName(p.spec),
                          attentionKernelName(p.spec), argList(p, t, ": "),
                          argList(p, t, " : "), p.numQTiles, p.threads,
                          p.dynamicSmemBytes, repeats);
}

/// Scatterbrain key features: proj and phi tiles, two K and two V stages,
/// 4 floats.
int64_t keyFeatureSmemBytes(const Plan &p) {
  return 6 * kBlockN * p.ld * 2 + 16;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

int64_t attentionHeadsPerTileGroup(const AttentionSpec &s) {
  if (!s.causal || s.window > 0)
    return 1;
  int64_t kvBytesPerHead = 2 * s.seq * s.headDim * 2; // K and V, 16-bit
  int64_t best = 1;
  for (int64_t g = 2; g <= s.batchHeads; ++g)
    if (s.batchHeads % g == 0 &&
        g * kvBytesPerHead <= kAttentionTileGroupL2Bytes)
      best = g;
  return best;
}

std::string verifyAttentionSpec(const AttentionSpec &s) {
  auto str = [](int64_t v) { return std::to_string(v); };
  if (s.elementType != "f16" && s.elementType != "bf16")
    return "element type '" + s.elementType +
           "' is not supported (expected f16 or bf16)";
  if (s.headDim != 64 && s.headDim != 128)
    return "headDim=" + str(s.headDim) +
           " is not supported (expected 64 or 128)";
  if (s.blockM != 0 && s.blockM != 64 && s.blockM != 128)
    return "blockM=" + str(s.blockM) +
           " is not supported (expected 64, 128 or 0)";
  if (s.seq < 1)
    return "seq=" + str(s.seq) + " must be at least 1";
  if (s.batchHeads < 1)
    return "batchHeads=" + str(s.batchHeads) + " must be at least 1";
  if (s.batchHeads > kMaxGridY)
    return "batchHeads=" + str(s.batchHeads) + " exceeds the grid y limit " +
           str(kMaxGridY);
  if (s.packedQkv && (s.heads < 1 || s.batchHeads % s.heads != 0))
    return "packedQkv needs heads >= 1 dividing batchHeads=" +
           str(s.batchHeads) + " (heads=" + str(s.heads) + ")";
  if (!(s.scale >= 0) || std::isinf(s.scale))
    return "scale must be finite and >= 0 (0: 1/sqrt(headDim))";
  if (s.window < 0)
    return "window=" + str(s.window) + " must be >= 1 (0: no window)";
  if (s.window > 0 && s.seq > kMaxWindowSeq)
    return "seq=" + str(s.seq) + " exceeds " + str(kMaxWindowSeq) +
           " (windowed kernels do their key arithmetic in i32)";
  if (s.features != 0) {
    if (s.features != 64)
      return "features=" + str(s.features) +
             " is not supported by the Scatterbrain kernels (expected 64)";
    if (s.window < 1 || s.causal || s.packedQkv || s.headDim != 64 ||
        (s.blockM != 0 && s.blockM != 64))
      return "the Scatterbrain kernels need a window, non-causal attention, "
             "separate q/k/v, headDim=64 and blockM=64";
    if (s.seq % kBlockN != 0)
      return "seq=" + str(s.seq) +
             " is not a multiple of 64 (the Scatterbrain key chunks)";
  }
  Plan p(s);
  if (p.numQTiles > 0x7fffffff)
    return "seq is too large";
  if (p.dynamicSmemBytes > kMaxDynamicSmem)
    return "needs " + str(p.dynamicSmemBytes) + " bytes of shared memory";
  return "";
}

std::string attentionKernelName(const AttentionSpec &s) {
  std::string name = "fly_attn_bh" + std::to_string(s.batchHeads) + "_t" +
                     std::to_string(s.seq) + "_d" + std::to_string(s.headDim) +
                     "_" + s.elementType + (s.causal ? "_causal" : "_full");
  if (s.window > 0)
    name += "_w" + std::to_string(s.window);
  if (s.packedQkv)
    name += "_qkv_h" + std::to_string(s.heads);
  if (s.features > 0)
    name += "_sb" + std::to_string(s.features);
  if (s.blockM != 0 && s.blockM != kDefaultBlockM)
    name += "_bm" + std::to_string(s.blockM);
  if (s.scale > 0)
    name += "_scale" + detail::symbolNumber(s.scale);
  return name;
}

std::string attentionKernelModuleName(const AttentionSpec &s) {
  return detail::moduleNameOf(attentionKernelName(s));
}
std::string attentionLauncherName(const AttentionSpec &s) {
  return detail::launcherNameOf(attentionKernelName(s));
}
std::string attentionBenchmarkName(const AttentionSpec &s) {
  return detail::benchmarkNameOf(attentionKernelName(s));
}

int64_t scatterbrainChunksPerGroup(const AttentionSpec &s) {
  // About 1024 CTAs (8 per SM of an H100), at most 16 chunks each: fewer
  // groups mean less to combine, more mean more CTAs to hide latency.
  int64_t chunks = ceilDiv(s.seq, kBlockN);
  return std::max<int64_t>(1,
                           std::min<int64_t>(16, chunks * s.batchHeads / 1024));
}

int64_t scatterbrainGroups(const AttentionSpec &s) {
  return ceilDiv(ceilDiv(s.seq, kBlockN), scatterbrainChunksPerGroup(s));
}

int64_t scatterbrainShift(const AttentionSpec &s) {
  // ceil(log2(T)): the kv and z sums over T keys (each <= 1 times |v|)
  // scaled by 2^-shift stay within f16's range.
  int64_t shift = 0;
  while ((int64_t(1) << shift) < s.seq)
    ++shift;
  return shift;
}

std::string scatterbrainKeyFeaturesName(const AttentionSpec &s) {
  return attentionKernelName(s) + "_keys";
}
std::string scatterbrainKeyFeaturesLauncherName(const AttentionSpec &s) {
  return detail::launcherNameOf(scatterbrainKeyFeaturesName(s));
}
std::string scatterbrainCombineName(const AttentionSpec &s) {
  return attentionKernelName(s) + "_combine";
}
std::string scatterbrainCombineLauncherName(const AttentionSpec &s) {
  return detail::launcherNameOf(scatterbrainCombineName(s));
}

namespace {
/// One module holding one Scatterbrain helper kernel `name` (made by `body`
/// from an emitter) and its launcher over (gridX, BH).
std::string
emitScatterbrainModule(const AttentionSpec &spec, std::string &error,
                       const std::string &name, const std::string &what,
                       std::string (KernelEmitter::*body)(),
                       std::string (*args)(const Types &, const std::string &),
                       int64_t gridX, int64_t threads, int64_t smem) {
  error = verifyAttentionSpec(spec);
  if (error.empty() && spec.features == 0)
    error = "the Scatterbrain kernels need features > 0";
  if (!error.empty())
    return "";
  Plan plan(spec);
  Types types(plan);
  KernelEmitter emitter(plan, types);
  std::ostringstream os;
  os << "// " << name << ": " << what << "\n";
  os << "module attributes {gpu.container_module} {\n";
  std::string module = detail::moduleNameOf(name);
  os << "  gpu.module @" << module << " {\n";
  os << (emitter.*body)();
  os << "  }\n";
  os << emitHostFunction(plan, detail::launcherNameOf(name), module, name,
                         args(types, ": "), args(types, " : "), gridX, threads,
                         smem, 0);
  os << "}\n";
  return os.str();
}
} // namespace

std::string emitScatterbrainKeyFeatures(const AttentionSpec &spec,
                                        std::string &error) {
  Plan plan(spec);
  return emitScatterbrainModule(
      spec, error, scatterbrainKeyFeaturesName(spec),
      "Scatterbrain key features phi(K), per-chunk scales, per-group "
      "phi(K)^T [V 1]; groups of " +
          std::to_string(scatterbrainChunksPerGroup(spec)) + " chunks, grid " +
          std::to_string(scatterbrainGroups(spec)) + "x" +
          std::to_string(spec.batchHeads),
      &KernelEmitter::emitKeyFeatures, keyFeatureArgs, scatterbrainGroups(spec),
      plan.threads, keyFeatureSmemBytes(plan));
}

std::string emitScatterbrainCombine(const AttentionSpec &spec,
                                    std::string &error) {
  return emitScatterbrainModule(
      spec, error, scatterbrainCombineName(spec),
      "Scatterbrain groups -> per-head phi(K)^T V, sum phi(K), stabiliser",
      &KernelEmitter::emitCombine, combineArgs,
      ceilDiv(spec.headDim * spec.features, kCombineThreads), kCombineThreads,
      0);
}

std::string emitFlashAttention(const AttentionSpec &spec, std::string &error,
                               const AttentionEmitOptions &options) {
  error = verifyAttentionSpec(spec);
  if (error.empty() && options.benchmarkRepeats < 0)
    error = "benchmarkRepeats must not be negative";
  if (error.empty() &&
      (options.minBlocksPerSM < 0 || options.minBlocksPerSM > 32))
    error = "minBlocksPerSM=" + std::to_string(options.minBlocksPerSM) +
            " is not supported (expected 0 .. 32)";
  if (error.empty() && options.kvStages != 2 && options.kvStages != 3)
    error = "kvStages=" + std::to_string(options.kvStages) +
            " is not supported (expected 2 or 3)";
  if (!error.empty())
    return "";
  Plan plan(spec, options);
  if (plan.dynamicSmemBytes > kMaxDynamicSmem) {
    error = "needs " + std::to_string(plan.dynamicSmemBytes) +
            " bytes of shared memory";
    return "";
  }
  Types types(plan);
  std::ostringstream os;
  os << "// " << attentionKernelName(spec) << ": O = softmax("
     << fmtF32(plan.scaleLog2 / 1.4426950408889634) << " Q.K^T"
     << (spec.causal ? " + causal mask" : "")
     << (spec.window > 0 ? ", window " + std::to_string(spec.window) : "")
     << ") V; BM " << plan.blockM << ", BN " << kBlockN << ", " << plan.warps
     << " warps, " << plan.dynamicSmemBytes << " B dynamic smem, "
     << plan.stages << " K/V stages"
     << (plan.splitKV ? " (K, V in separate groups)" : "")
     << (plan.stagedEpilogue ? ", O staged through smem" : "")
     << (spec.packedQkv ? ", packed qkv" : "") << ", grid " << plan.numQTiles
     << "x" << spec.batchHeads << "\n";
  os << "module attributes {gpu.container_module} {\n";
  os << "  gpu.module @" << attentionKernelModuleName(spec) << " {\n";
  os << KernelEmitter(plan, types).emit();
  os << "  }\n";
  os << emitAttentionHost(plan, types, attentionLauncherName(spec), 0);
  if (options.benchmarkRepeats > 0)
    os << emitAttentionHost(plan, types, attentionBenchmarkName(spec),
                            options.benchmarkRepeats);
  os << "}\n";
  return os.str();
}

} // namespace fly::gpu
