//===- WgmmaGemm.cpp - Hopper wgmma + TMA GEMM kernel generator -*- C++ -*-===//
//
// One CTA is one warpgroup (128 threads) computing a 128 x tileN tile of C:
//
//   thread 0:  init one mbarrier per ring slot, then TMA-load k-tiles
//              0 .. STAGES-2 (A box 128x64, B box tileNx64, 128B swizzle)
//   K loop:    wait for slot kt (parity = (kt / STAGES) & 1)
//              2 (m halves) x 4 (k16 steps) nvgpu.warpgroup.mma m64nNk16,
//              each allowing 7 groups in flight, so after the last one the
//              wgmmas of k-tile kt-1 are complete
//              bar.sync, then thread 0 TMA-loads k-tile kt+STAGES-1 into the
//              slot k-tile kt-1 just released
//   epilogue:  wgmma.wait 0; accumulators -> f32 smem tile (reusing the ring)
//              via nvgpu.warpgroup.mma.store; then each warp reads whole rows
//              (4 floats per lane), adds bias / applies GELU / adds the
//              residual, converts and stores rows < m. A folded LayerNorm
//              (GemmSpec::layerNormInput) first turns each value into
//              acc * rstd + shift * colsum, its row's (rstd, shift) merged
//              from the partials in %stats (loaded when the CTA started,
//              merged after the first TMA loads were issued), kept in
//              shared memory. With GemmSpec::rowStatistics each warp also
//              reduces the rounded values of its rows, a batch of 8 rows at
//              once (transposed butterfly), and one lane per row writes the
//              tile's (mean, variance) partial.
//
// Why one nvgpu.warpgroup.mma per (m half, k16 step) instead of one per
// k-tile: the op's lowering (MLIR 22) advances the B descriptor by
// rows(B) * 16 * sizeof(T) per k16 step, i.e. it assumes an MN-major
// ("transposeB") B. Our B is K-major, where the k16 step is +32 bytes inside
// the 128-byte swizzled row, so each op gets a descriptor built by us for
// exactly one m64nNk16 instruction and the op never iterates.
//
// In MLIR 22 `transposeB` sets imm-trans-b = 1 (MN-major B); K-major B, as
// here, takes no transpose flag (checked in the generated PTX).
//
// The kernel receives the TMA descriptors as !llvm.ptr and casts them back to
// !nvgpu.tensormap.descriptor (unrealized_conversion_cast): the descriptor
// type cannot appear in a gpu.func signature that convert-gpu-to-nvvm has to
// lower. Both casts fold once convert-nvgpu-to-nvvm has run on the host and
// on the device code.
//
// Stages: the default for tileN 128 is a 2-slot ring (70.6 KB with the
// epilogue tile) so that three CTAs fit on an SM: measured on H100, this beat
// 3 slots / 2 CTAs per SM by 5-30% on GPT-2 shapes (n=768: the 384 tiles fit
// in one wave of 396 CTAs) and lost 3% on 4096^3. Other CTAs on the SM hide
// the TMA latency a deeper ring would, and overlap this CTA's epilogue.
//
// Schedules. The above is the multistage schedule. GemmSpec::warpSpecialized
// selects a warp-specialised one instead (288 threads, or 384 with
// GemmSpec::producerWarpgroup; one CTA per SM, a persistent grid of
// min(tiles, 132) CTAs, CTA c taking tiles c, c + 132, ... in the grouped
// order):
//
//   thread 256 (producer; warp 8, or the first thread of warpgroup 2,
//              whose registers setmaxnreg hands to the consumers: 40 for
//              it, 232 for them instead of ptxas' 168 for every thread of
//              the block): for every k-tile of every tile of the CTA,
//              wait for the slot's *empty* barrier, arm its full barrier,
//              TMA-load it; 4 slots (128 KB) of 128x64 + tileNx64
//   warpgroups 0 and 1 (consumers, ping-pong): warpgroup g computes the
//              CTA's tiles g, g+2, ...: waits for each k-tile's full
//              barrier, issues its wgmmas as above, and once the k-tile's
//              wgmmas retired each warp arrives on the slot's empty barrier
//              (count 4) -- no CTA barrier in the loop. The epilogue
//              then overlaps the other warpgroup's mainloop. It runs in
//              the registers: each thread finishes its accumulator
//              fragment's values (LayerNorm fold, bias, GELU) and writes
//              them as 16-bit pairs into the warpgroup's 32 KB C buffer
//              (128-byte swizzled, the layout TMA reads), adding the
//              residual it finds there: the leader TMA-loaded the tile's R
//              into the buffer before the mainloop. One TMA store per
//              64-column box sends the tile out; row statistics come from
//              the quads' shuffles. Synchronised by a named barrier per
//              warpgroup. (GemmSpec::stagingEpilogue keeps the multistage
//              kernel's epilogue instead: per 64-row half through a 35 KB
//              f32 staging tile, residual rows loaded from global memory.)
//              Mainloops run in tile order (an "order" mbarrier per
//              warpgroup): otherwise a warpgroup could wait on a slot's
//              full barrier several rounds ahead of its phase, which a
//              parity wait cannot tell apart from the round it wants.
//
// Measured on an H100 against the multistage kernel (self-test, fp16,
// 2026-12-06): 32768x768x768 + bias + residual 89.6 vs 101.4 us, 32768x
// 2304x768 206 vs 219, 16384x768x768 47.8 vs 52.2, 4096^3 217 vs 236,
// 2048x768x768 10.9 vs 14.3, 1000x2304x3072 40.9 vs 48.8; but 8192x768x768
// 27.5 vs 25.9, 8192x768x3072 70.3 vs 65.0, 2048x2304x768 18.0 vs 16.8:
// with 2-4 tiles per CTA, three multistage CTAs per SM overlap their
// pipeline fill and epilogues better than one serialised mainloop per
// tile. gemmWarpSpecializationPays encodes that (<= 1.5 or >= 4 tiles per
// CTA).
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/WgmmaGemm.h"
#include "KernelText.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fly::gpu {
namespace {

using detail::FuncWriter;

constexpr int64_t kTileM = 128;   // two 64-row wgmma blocks
constexpr int64_t kTileK = 64;    // 64 x 2 bytes = one 128-byte swizzle row
constexpr int64_t kWgmmaM = 64;   // rows of one wgmma instruction
constexpr int64_t kWgmmaK = 16;   // k of one f16/bf16 wgmma instruction
constexpr int64_t kThreads = 128; // one warpgroup; mma.store needs it to be WG0
constexpr int64_t kSwizzleAtomBytes = 1024; // 8 rows x 128 B swizzle period
/// f32 padding per row of the epilogue tile: with a row stride = 8 (mod 32)
/// words, the 8 rows one mma.store instruction writes spread over all banks.
constexpr int64_t kEpiloguePad = 8;
constexpr int64_t kEpilogueVector = 4; // columns per thread per row
/// Epilogue passes whose residual loads are issued together (registers:
/// kEpilogueBatch x 2 per thread; the accumulators are in smem by then).
constexpr int64_t kEpilogueBatch = 8;
constexpr int64_t kL2Line = 128;                // bytes per L2 prefetch
constexpr int64_t kMaxDynamicSmem = 227 * 1024; // sm_90 opt-in maximum
/// External (never demoted) zero-length .shared array: the true start of
/// dynamic shared memory, after every static .shared variable.
constexpr const char *kDynamicSmemSymbol = "fly_gemm_dynamic_smem";
constexpr int64_t kMbarrierSpinTicks = 10000000;
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kMaxTmaCoordinate = std::numeric_limits<int32_t>::max();

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Warp-specialised schedule: two consumer warpgroups + one producer warp
/// (or, GemmSpec::producerWarpgroup, a producer warpgroup).
constexpr int64_t kWsConsumers = 2;
constexpr int64_t kWsThreads = kWsConsumers * kThreads + 32;
/// Rows of a consumer's epilogue staging tile (its 128-row tile goes
/// through it in two halves, so that the ring keeps 4 slots).
constexpr int64_t kWsStagingRows = 64;
constexpr int64_t kDefaultPersistentCtas = 132; // H100 SXM
/// Named barrier ids of the consumer warpgroups: 1 + warpgroup (0 is the
/// CTA barrier).
constexpr int64_t kWsFirstNamedBarrier = 1;

/// See "Stages" above; 4 x 24 KB for tileN 64 allows two CTAs per SM. The
/// warp-specialised kernel runs one CTA per SM: 4 slots fit beside its two
/// staging tiles.
int64_t defaultStages(int64_t tileN, bool warpSpecialized) {
  if (warpSpecialized)
    return 4;
  return tileN == 128 ? 2 : 4;
}

/// M tiles per group of the grouped tile order (emitSetup).
constexpr int64_t kGroupM = 8;

/// Every size the emitter needs, derived once from a valid spec.
struct Plan {
  GemmSpec spec;
  int64_t elemBytes = 2;
  int64_t stages = 0;
  int64_t numKTiles = 0;
  int64_t gridX = 0, gridY = 0; // tiles along m and n
  bool ws = false;              // GemmSpec::warpSpecialized
  bool regEpilogue = false;     // ws && !GemmSpec::stagingEpilogue
  int64_t outTileBytes = 0;     // register epilogue: one consumer's C tile
  int64_t threads = kThreads;
  int64_t ctas = 0;         // launched CTAs (persistent grid, or gridX*gridY)
  int64_t stagingBytes = 0; // warp-specialised: one consumer's staging tile
  int64_t aSlotBytes = 0, bSlotBytes = 0, ringBytes = 0;
  int64_t accRowStride = 0; // f32 per row of the epilogue tile
  int64_t accTileBytes = 0;
  int64_t dynamicSmemBytes = 0; // + kSwizzleAtomBytes of alignment slack
  /// Folded LayerNorm: the CTA's row statistics, after the ring / f32 tile.
  int64_t statsOffset = 0;
  int64_t wgmmaPerKTile = 0;

  explicit Plan(const GemmSpec &s) : spec(s) {
    ws = s.warpSpecialized;
    stages = s.stages ? s.stages : defaultStages(s.tileN, ws);
    numKTiles = s.k / kTileK;
    gridX = ceilDiv(s.m, kTileM);
    gridY = s.n / s.tileN;
    aSlotBytes = kTileM * kTileK * elemBytes;
    bSlotBytes = s.tileN * kTileK * elemBytes;
    ringBytes = stages * (aSlotBytes + bSlotBytes);
    accRowStride = s.tileN + kEpiloguePad;
    accTileBytes = kTileM * accRowStride * 4;
    int64_t statsBytes = s.layerNormInput ? kTileM * 2 * 4 : 0;
    if (ws) {
      // [ring][staging 0][staging 1][stats 0][stats 1]: nothing is shared,
      // because the other consumer's wgmmas read the ring meanwhile. The
      // register epilogue's staging is a 16-bit C tile per consumer (128
      // rows per 64-column TMA box, 128-byte swizzled), 1024-aligned as the
      // ring's size is.
      threads =
          s.producerWarpgroup ? (kWsConsumers + 1) * kThreads : kWsThreads;
      ctas = std::min(gridX * gridY, s.persistentCtas ? s.persistentCtas
                                                      : kDefaultPersistentCtas);
      regEpilogue = !s.stagingEpilogue;
      outTileBytes = kTileM * s.tileN * elemBytes;
      stagingBytes =
          regEpilogue ? outTileBytes : kWsStagingRows * accRowStride * 4;
      statsOffset = ringBytes + kWsConsumers * stagingBytes;
      dynamicSmemBytes =
          statsOffset + kWsConsumers * statsBytes + kSwizzleAtomBytes;
    } else {
      ctas = gridX * gridY;
      statsOffset = std::max(ringBytes, accTileBytes);
      dynamicSmemBytes = statsOffset + statsBytes + kSwizzleAtomBytes;
    }
    wgmmaPerKTile = (kTileM / kWgmmaM) * (kTileK / kWgmmaK);
  }
  bool hasBias() const { return spec.epilogue != GemmEpilogue::None; }
};

/// The MLIR types of one kernel, spelled out once.
struct Types {
  std::string elem;
  std::string smemSpace = "#gpu.address_space<workgroup>";
  std::string smemBytes, tmaA, tmaB, barriers, acc;
  std::string orderBarriers;  // warp-specialised: one per consumer
  std::string aSlot, bSlot;   // one ring slot, as TMA writes it
  std::string aStep, bStep;   // what one m64nNk16 wgmma reads
  std::string wgmmaA, wgmmaB; // warpgroup matrix descriptors
  std::string accTile, accHalf[2];
  std::string stagingTile; // warp-specialised: one consumer's 64-row tile
  /// Register epilogue: one TMA box of C / R (128 rows x 64 columns), a
  /// consumer's whole C tile (tileN / 64 boxes stacked), C's descriptor, a
  /// fragment column pair, the accumulator as convert-nvgpu-to-nvvm's
  /// struct.
  std::string outBox, outTile, tmaC, pair, accStruct;
  std::string globalA, globalB, globalBias, globalC;
  std::string globalColsum, globalStats, statsTile, globalStatsOut;

  explicit Types(const Plan &p) {
    const GemmSpec &s = p.spec;
    elem = s.elementType;
    auto smem = [&](const std::string &shape, const std::string &e) {
      return "memref<" + shape + "x" + e + ", " + smemSpace + ">";
    };
    auto tensorMap = [&](const std::string &box) {
      return "!nvgpu.tensormap.descriptor<tensor = " + box +
             ", swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, "
             "interleave = none>";
    };
    std::string n = std::to_string(s.tileN);
    std::string kt = std::to_string(kTileK);
    smemBytes = "memref<?xi8, " + smemSpace + ">";
    aSlot = smem(std::to_string(kTileM) + "x" + kt, elem);
    bSlot = smem(n + "x" + kt, elem);
    tmaA = tensorMap(aSlot);
    tmaB = tensorMap(bSlot);
    barriers = "!nvgpu.mbarrier.group<memorySpace = " + smemSpace +
               ", num_barriers = " + std::to_string(p.stages) + ">";
    orderBarriers = "!nvgpu.mbarrier.group<memorySpace = " + smemSpace +
                    ", num_barriers = " + std::to_string(kWsConsumers) + ">";
    acc = "!nvgpu.warpgroup.accumulator<fragmented = vector<" +
          std::to_string(kWgmmaM) + "x" + n + "xf32>>";
    aStep = smem(std::to_string(kWgmmaM) + "x" + std::to_string(kWgmmaK), elem);
    bStep = smem(std::to_string(kWgmmaK) + "x" + n, elem);
    wgmmaA = "!nvgpu.warpgroup.descriptor<tensor = " + aStep + ">";
    wgmmaB = "!nvgpu.warpgroup.descriptor<tensor = " + bStep + ">";
    std::string stride = std::to_string(p.accRowStride);
    accTile = smem(std::to_string(kTileM) + "x" + stride, "f32");
    stagingTile = smem(std::to_string(kWsStagingRows) + "x" + stride, "f32");
    outBox = smem(std::to_string(kTileM) + "x" + kt, elem);
    outTile =
        smem(std::to_string(kTileM * (s.tileN / kTileK)) + "x" + kt, elem);
    tmaC = tensorMap(outBox);
    pair = "vector<2x" + elem + ">";
    std::string fields;
    for (int64_t i = 0; i < s.tileN / 2; ++i)
      fields += i ? ", f32" : "f32";
    accStruct = "!llvm.struct<(struct<(" + fields + ")>)>";
    for (int half = 0; half < 2; ++half) {
      std::string offset =
          half ? ", offset: " + std::to_string(kWgmmaM * p.accRowStride) : "";
      accHalf[half] = "memref<" + std::to_string(kWgmmaM) + "x" + n +
                      "xf32, strided<[" + stride + ", 1]" + offset + ">, " +
                      smemSpace + ">";
    }
    auto global = [&](int64_t rows, int64_t cols) {
      return "memref<" + std::to_string(rows) + "x" + std::to_string(cols) +
             "x" + elem + ">";
    };
    globalA = global(s.m, s.k);
    globalB = global(s.n, s.k);
    globalBias = "memref<" + std::to_string(s.n) + "x" + elem + ">";
    globalColsum = "memref<" + std::to_string(s.n) + "xf32>";
    globalStats = detail::rowPartialsType(s.m, s.layerNormPartials);
    globalStatsOut = detail::rowPartialsType(s.m, gemmRowStatisticsPartials(s));
    statsTile = smem(std::to_string(kTileM) + "x2", "f32");
    globalC = global(s.m, s.n);
  }
};

/// The buffer arguments after the operands' TMA descriptors (kernel) or
/// %a, %b (host functions), as (name, type); `out` names C.
std::vector<std::pair<std::string, std::string>>
bufferArgs(const Plan &p, const Types &t, const std::string &out) {
  std::vector<std::pair<std::string, std::string>> args;
  if (p.hasBias())
    args.emplace_back("%bias", t.globalBias);
  if (p.spec.layerNormInput) {
    args.emplace_back("%colsum", t.globalColsum);
    args.emplace_back("%stats", t.globalStats);
  }
  if (p.spec.residual)
    args.emplace_back("%residual", t.globalC);
  args.emplace_back(out, t.globalC);
  if (p.spec.rowStatistics)
    args.emplace_back("%stats_out", t.globalStatsOut);
  return args;
}

/// The kernel's TMA descriptor arguments (%tma_<name>_ptr), in order: A,
/// B, and for the register epilogue C and, with a residual, R.
std::vector<std::string> descriptorNames(const Plan &p) {
  std::vector<std::string> names = {"a", "b"};
  if (p.regEpilogue)
    names.emplace_back("c");
  if (p.regEpilogue && p.spec.residual)
    names.emplace_back("r");
  return names;
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

class KernelEmitter {
public:
  KernelEmitter(const Plan &plan, const Types &types)
      : p(plan), t(types), w(/*indent=*/2) {}

  std::string emit() {
    if (p.ws) {
      emitWarpSpecialized();
    } else {
      emitSetup();
      emitResidualPrefetch();
      emitRowStatisticsLoad();
      emitPrologue();
      emitRowStatisticsMerge();
      emitMainLoop();
      emitAccumulatorsToSmem();
      emitEpilogue();
    }
    w.line("gpu.return");

    std::ostringstream os;
    os << "    gpu.func @" << gemmKernelName(p.spec) << "(";
    for (const std::string &d : descriptorNames(p))
      os << (d == "a" ? "" : ", ") << "%tma_" << d << "_ptr: !llvm.ptr";
    os << detail::joinArgs(bufferArgs(p, t, "%out"), ": ")
       << ") kernel attributes {known_block_size = array<i32: " << p.threads
       << ", 1, 1>";
    // GemmSpec::producerWarpgroup hands its registers to the consumers.
    if (p.spec.producerWarpgroup)
      os << detail::registerHandOffAttributes(p.threads);
    os << "} {\n";
    os << w.finish();
    os << "    }\n";
    return os.str();
  }

private:
  //===--------------------------------------------------------------------===//
  // Warp-specialised schedule (GemmSpec::warpSpecialized)
  //===--------------------------------------------------------------------===//

  /// CTA c of the persistent grid owns tiles c, c + ctas, c + 2 ctas, ...
  /// (its local tiles j = 0, 1, ...). Thread 256 (the producer's first
  /// lane) streams their k-tiles through the ring in that order; consumer
  /// warpgroup g (threads 128 g ..) computes local tiles g, g + 2, ..., so
  /// the two alternate: while one runs its epilogue the other's data
  /// arrives and its wgmmas run. Ring use number seq = j * numKTiles + kt
  /// picks slot seq % stages in round seq / stages for everyone.
  void emitWarpSpecialized() {
    emitKernelStart();
    emitBarrierInit();
    std::string cta = w.def("cta", "gpu.block_id x");
    // ceil((tiles - cta) / ctas) local tiles; cta < ctas <= tiles.
    std::string left = w.def(
        "tiles_left", "arith.subi " + w.index(p.gridX * p.gridY + p.ctas - 1) +
                          ", " + cta + " : index");
    std::string numLocal = w.def("num_local", "arith.divui " + left + ", " +
                                                  w.index(p.ctas) + " : index");
    std::string isProducer =
        w.def("is_producer", "arith.cmpi eq, " + tid + ", " +
                                 w.index(kWsConsumers * kThreads) + " : index");
    if (!p.spec.producerWarpgroup) {
      w.open("scf.if " + isProducer);
      emitWsProducer(cta, numLocal);
      w.close();
    }
    std::string wg = detail::uniformWarpgroup(w, tid, kThreads);
    std::string isConsumer =
        w.def("is_consumer", "arith.cmpi ult, " + wg + ", " +
                                 w.index(kWsConsumers) + " : index");
    w.open("scf.if " + isConsumer);
    if (p.spec.producerWarpgroup)
      w.line("nvvm.setmaxregister increase " +
             std::to_string(detail::kConsumerRegisters));
    emitWsConsumer(cta, numLocal, wg);
    if (p.spec.producerWarpgroup) {
      // The producer warpgroup is the else-region, so that nothing the
      // consumers use is live through its 40 registers; one thread works.
      w.elseRegion();
      w.line("nvvm.setmaxregister decrease " +
             std::to_string(detail::kProducerRegisters));
      w.open("scf.if " + isProducer);
      emitWsProducer(cta, numLocal);
      w.close();
    }
    w.close();
  }

  /// Linear tile index of local tile `j` of CTA `cta`.
  std::string localTile(const std::string &cta, const std::string &j) {
    std::string scaled = w.def("tile_off", "arith.muli " + j + ", " +
                                               w.index(p.ctas) + " : index");
    return w.def("tile", "arith.addi " + cta + ", " + scaled + " : index");
  }

  /// Slot and round parity (true = odd) of ring use `seq`.
  std::pair<std::string, std::string> ringPosition(const std::string &seq) {
    std::string slot = w.def("slot", "arith.remui " + seq + ", " +
                                         w.index(p.stages) + " : index");
    std::string round = w.def("round", "arith.divui " + seq + ", " +
                                           w.index(p.stages) + " : index");
    return {slot, isOdd(round, "round_odd", "parity")};
  }

  /// i1: whether index `v` is odd (a phase parity for try_wait.parity).
  std::string isOdd(const std::string &v, const std::string &bitHint,
                    const std::string &hint) {
    std::string bit =
        w.def(bitHint, "arith.andi " + v + ", " + w.index(1) + " : index");
    return w.def(hint,
                 "arith.cmpi ne, " + bit + ", " + w.index(0) + " : index");
  }

  /// ring + base + wg * perWarpgroup: a warpgroup's region of shared memory.
  std::string warpgroupOffset(const std::string &hint, const std::string &wg,
                              int64_t base, int64_t perWarpgroup) {
    std::string scaled = w.def("g", "arith.muli " + wg + ", " +
                                        w.index(perWarpgroup) + " : index");
    std::string offset =
        w.def("g", "arith.addi " + w.index(base) + ", " + scaled + " : index");
    return w.def(hint, "arith.addi " + ring + ", " + offset + " : index");
  }

  void emitWsProducer(const std::string &cta, const std::string &numLocal) {
    w.line("// Producer: every k-tile of every local tile, in order.");
    std::string j = w.fresh("j");
    w.open("scf.for " + j + " = " + w.index(0) + " to " + numLocal + " step " +
           w.index(1));
    setTile(localTile(cta, j));
    std::string seqBase =
        w.def("seq_base",
              "arith.muli " + j + ", " + w.index(p.numKTiles) + " : index");
    std::string kt = w.fresh("kt");
    w.open("scf.for " + kt + " = " + w.index(0) + " to " +
           w.index(p.numKTiles) + " step " + w.index(1));
    std::string seq =
        w.def("seq", "arith.addi " + seqBase + ", " + kt + " : index");
    auto [slot, odd] = ringPosition(seq);
    // Round r may fill the slot once its consumer released round r - 1,
    // i.e. the empty barrier completed phase r - 1 (parity !odd); for r = 0
    // that is the phase "before" a fresh barrier, which counts as complete.
    std::string freeParity = w.def(
        "free_parity", "arith.xori " + odd + ", " +
                           w.def("true", "arith.constant true") + " : i1");
    w.line("nvgpu.mbarrier.try_wait.parity " + empty + "[" + slot + "], " +
           freeParity + ", " + w.index(kMbarrierSpinTicks) + " : " +
           t.barriers);
    emitTmaLoad(kt, slot);
    w.close();
    w.close();
  }

  /// `wg`: this thread's warpgroup, known uniform (see the caller).
  void emitWsConsumer(const std::string &cta, const std::string &numLocal,
                      const std::string &wg) {
    w.line("// Consumers: warpgroup g computes local tiles g, g + 2, ...");
    std::string localTid = w.def("wg_tid", "arith.remui " + tid + ", " +
                                               w.index(kThreads) + " : index");
    std::string lane =
        w.def("lane", "arith.remui " + tid + ", " + w.index(32) + " : index");
    std::string warpLeader =
        w.def("warp_leader",
              "arith.cmpi eq, " + lane + ", " + w.index(0) + " : index");
    std::string barrierId =
        w.def("bar_id", "arith.index_cast " +
                            w.def("bar_idx", "arith.addi " + wg + ", " +
                                                 w.index(kWsFirstNamedBarrier) +
                                                 " : index") +
                            " : index to i32");
    std::string barrierThreads = w.i32(kThreads);
    auto warpgroupBarrier = [&] {
      w.line("nvvm.barrier id = " + barrierId +
             " number_of_threads = " + barrierThreads);
    };
    // This warpgroup's staging tile (register epilogue: its C tile).
    std::string stagingOff =
        warpgroupOffset("staging_off", wg, p.ringBytes, p.stagingBytes);
    std::string storeView;
    if (p.regEpilogue) {
      outTileOff = stagingOff;
      outTile = view("out_tile", stagingOff, t.outTile);
    } else {
      accTile = view("staging", stagingOff, t.stagingTile);
      accTileType = t.stagingTile;
      storeView = stagingStoreView(stagingOff, wg);
    }
    if (p.spec.layerNormInput)
      statsTile =
          view("stats_tile",
               warpgroupOffset("stats_off", wg, p.statsOffset, kTileM * 2 * 4),
               t.statsTile);
    std::string isWgLeader =
        w.def("is_wg_leader",
              "arith.cmpi eq, " + localTid + ", " + w.index(0) + " : index");
    tid = localTid; // the per-tile code below indexes rows by it
    epilogueRows = kWsStagingRows;

    std::string j = w.fresh("j");
    w.open("scf.for " + j + " = " + wg + " to " + numLocal + " step " +
           w.index(kWsConsumers));
    setTile(localTile(cta, j));
    if (p.regEpilogue && p.spec.residual)
      emitOutTileRefill(isWgLeader, wg);
    else if (!p.regEpilogue)
      emitResidualPrefetch();
    emitRowStatisticsLoad();
    std::string seqBase =
        w.def("seq_base",
              "arith.muli " + j + ", " + w.index(p.numKTiles) + " : index");
    // Mainloops run in tile order: tile j waits until the other warpgroup
    // has waited for all of tile j-1's k-tiles (phase (j-1)/2 of its order
    // barrier). Otherwise a slot's full barrier could be several rounds
    // behind this warpgroup's use of it, which a parity wait cannot tell.
    // (The epilogues still overlap the other warpgroup's mainloop.)
    std::string other =
        w.def("other", "arith.xori " + wg + ", " + w.index(1) + " : index");
    w.open("scf.if " + w.def("has_prev", "arith.cmpi ugt, " + j + ", " +
                                             w.index(0) + " : index"));
    std::string prevPhase =
        w.def("prev_phase", "arith.divui " +
                                w.def("g", "arith.subi " + j + ", " +
                                               w.index(1) + " : index") +
                                ", " + w.index(kWsConsumers) + " : index");
    std::string prevParity = isOdd(prevPhase, "g", "prev_parity");
    w.line("nvgpu.mbarrier.try_wait.parity " + order + "[" + other + "], " +
           prevParity + ", " + w.index(kMbarrierSpinTicks) + " : " +
           t.orderBarriers);
    w.close();

    std::string accIn[2];
    std::string kt = openKLoop(accIn);
    std::string seq =
        w.def("seq", "arith.addi " + seqBase + ", " + kt + " : index");
    auto [slot, parity] = ringPosition(seq);
    w.line("nvgpu.mbarrier.try_wait.parity " + bars + "[" + slot + "], " +
           parity + ", " + w.index(kMbarrierSpinTicks) + " : " + t.barriers);
    std::string acc[2] = {accIn[0], accIn[1]};
    emitKTileMmas(slot, acc);
    // This warp's wgmmas of k-tile kt-1 are retired: release its slot.
    std::string notFirst = w.def("not_first", "arith.cmpi ugt, " + kt + ", " +
                                                  w.index(0) + " : index");
    w.open("scf.if " + w.def("release", "arith.andi " + notFirst + ", " +
                                            warpLeader + " : i1"));
    emitRelease(w.def("prev_seq",
                      "arith.subi " + seq + ", " + w.index(1) + " : index"));
    w.close();
    w.line("scf.yield " + acc[0] + ", " + acc[1] + " : " + t.acc + ", " +
           t.acc);
    w.close();
    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    w.open("scf.if " + warpLeader);
    emitRelease(w.def("last_seq", "arith.addi " + seqBase + ", " +
                                      w.index(p.numKTiles - 1) + " : index"));
    // This warp has waited for all of the tile's k-tiles.
    w.def("order_token", "nvgpu.mbarrier.arrive " + order + "[" + wg + "] : " +
                             t.orderBarriers + " -> !nvgpu.mbarrier.token");
    w.close();
    emitRowStatisticsMerge();

    // Register epilogue with a residual: the leader waits for the R tile
    // and the barrier below publishes it. (Every thread spinning on the
    // mbarrier here made ptxas serialise the wgmmas, C7520.)
    if (p.regEpilogue && !p.spec.residual)
      emitOutTileRefill(isWgLeader, wg);
    if (p.regEpilogue && p.spec.residual) {
      w.open("scf.if " + isWgLeader);
      std::string parity =
          isOdd(w.def("res_phase", "arith.divui " + j + ", " +
                                       w.index(kWsConsumers) + " : index"),
                "g", "parity");
      w.line("nvgpu.mbarrier.try_wait.parity " + resFull + "[" + wg + "], " +
             parity + ", " + w.index(kMbarrierSpinTicks) + " : " +
             t.orderBarriers);
      w.close();
    }
    // The previous tile's epilogue is done with the staging tile (register
    // epilogue: the leader's waits for the C buffer and R are published).
    warpgroupBarrier();
    emitRowStatisticsStore();
    if (p.regEpilogue) {
      emitRegisterEpilogue(isWgLeader, warpgroupBarrier);
      w.close();
      // The CTA's shared memory must outlive the last stores' reads.
      w.open("scf.if " + isWgLeader);
      w.line("nvvm.cp.async.bulk.wait_group 0");
      w.close();
      return;
    }
    std::string tileRow0 = row0;
    for (int half = 0; half < 2; ++half) {
      if (half)
        warpgroupBarrier();
      w.line("nvgpu.warpgroup.mma.store " + accs + "#" + std::to_string(half) +
             ", " + storeView + " : " + t.acc + " to " + t.accHalf[0]);
      warpgroupBarrier();
      row0 = w.def("half_row0", "arith.addi " + tileRow0 + ", " +
                                    w.index(half * kWgmmaM) + " : index");
      statsRowBase = half * kWgmmaM;
      emitEpilogue();
    }
    w.close();
  }

  /// Register epilogue: the warpgroup's C buffer is free once the TMA store
  /// of its previous tile has read it (the leader issued that store, so the
  /// leader waits); with a residual, the leader then TMA-loads the tile's R
  /// into the buffer, where the epilogue reads it and writes C over it.
  /// With a residual this runs before the tile's mainloop, so that R
  /// arrives while the wgmmas run (the wait costs nothing in steady state:
  /// the mainloop cannot start before the other warpgroup's has ended);
  /// without one, at the start of the epilogue. (Without a residual and
  /// with one k-tile, the first placement made ptxas serialise the wgmmas,
  /// C7520; so did placing it inside the k loop.)
  void emitOutTileRefill(const std::string &isWgLeader, const std::string &wg) {
    w.open("scf.if " + isWgLeader);
    w.line("nvvm.cp.async.bulk.wait_group 0 {read}");
    if (p.spec.residual) {
      w.line("nvgpu.mbarrier.arrive.expect_tx " + resFull + "[" + wg + "], " +
             w.index(p.outTileBytes) + " : " + t.orderBarriers);
      for (int64_t box = 0; box < p.spec.tileN / kTileK; ++box) {
        std::string dst = outBoxView(box);
        std::string col =
            w.def("r_col", "arith.addi " + col0 + ", " + w.index(box * kTileK) +
                               " : index");
        w.line("nvgpu.tma.async.load %tma_r[" + col + ", " + row0 + "], " +
               resFull + "[" + wg + "] to " + dst + " : " + t.tmaC + ", " +
               t.orderBarriers + " -> " + t.outBox);
      }
    }
    w.close();
  }

  /// Box `box` (C columns 64 box ..) of this warpgroup's C buffer.
  std::string outBoxView(int64_t box) {
    int64_t boxBytes = kTileM * kTileK * p.elemBytes;
    return view("out_box",
                w.def("box_off", "arith.addi " + outTileOff + ", " +
                                     w.index(box * boxBytes) + " : index"),
                t.outBox);
  }

  /// Register epilogue of the current tile, after its wgmmas completed:
  /// every value is computed in the accumulator fragment (m64nNk16 f32:
  /// thread 32 w + 4 a + b holds, per 8-column group jj, columns
  /// 8 jj + 2 b + 0/1 of rows 16 w + a and 16 w + a + 8 of each 64-row
  /// half), its 16-bit pair read from (residual) and written back to the C
  /// buffer, which is in TMA's 128-byte swizzled layout: column 8 jj + 2 b
  /// of a row r lies in box jj / 8 at 16-byte chunk (jj % 8) ^ (r % 8), and
  /// r % 8 == a, so a warp's 32 accesses hit 32 distinct banks. Then one
  /// TMA store per box, committed as a bulk group that the leader waits
  /// for before the buffer is reused. Why: the staging epilogue's global
  /// residual loads (latency-bound, per 64-row half) made the projection
  /// GEMM's epilogue longer than the other warpgroup's mainloop.
  void emitRegisterEpilogue(const std::string &isWgLeader,
                            const std::function<void()> &warpgroupBarrier) {
    const GemmSpec &s = p.spec;
    auto idx = [&](int64_t v) { return w.index(v); };
    auto op = [&](const std::string &hint, const std::string &name,
                  const std::string &a, const std::string &b) {
      return w.def(hint, "arith." + name + " " + a + ", " + b + " : index");
    };
    // The thread index, read again per tile through a volatile asm: LLVM
    // would otherwise hoist the ~20 index values derived from it (64-bit
    // each) out of the tile loop, live across the mainloop, and ptxas
    // spilled at its 168-register budget.
    std::string tidAsm =
        w.def("tid_here", "llvm.inline_asm has_side_effects asm_dialect = att "
                          "\"mov.u32 $0, %tid.x;\", \"=r\" : () -> i32");
    std::string localTid =
        op("wg_tid", "remui",
           w.def("tid_here", "arith.index_cast " + tidAsm + " : i32 to index"),
           idx(kThreads));
    std::string lane = op("lane", "remui", localTid, idx(32));
    std::string quad = op("quad", "divui", lane, idx(4));      // a
    std::string inQuad = op("in_quad", "remui", lane, idx(4)); // b
    std::string warpRow =
        op("warp_row", "muli", op("warp", "divui", localTid, idx(32)), idx(16));
    std::string rowA = op("frag_row", "addi", warpRow, quad);
    std::string colPair = op("col_pair", "muli", inQuad, idx(2));
    std::string swzCol[8];
    for (int64_t c = 0; c < 8; ++c)
      swzCol[c] =
          op("swz_col", "addi",
             op("swz_col", "muli", op("swz", "xori", quad, idx(c)), idx(8)),
             colPair);
    // The four tile rows this thread holds: (half, +8) -> 64 half + 8 e.
    auto tileRow = [&](int64_t r) {
      return op("t_row", "addi", rowA, idx(64 * (r / 2) + 8 * (r % 2)));
    };
    std::string vf = "vector<2xf32>";
    if (s.layerNormInput)
      warpgroupBarrier(); // every row's statistics are in statsTile
    std::string frag[2];
    for (int half = 0; half < 2; ++half)
      frag[half] = w.def("frag", "builtin.unrealized_conversion_cast " + accs +
                                     "#" + std::to_string(half) + " : " +
                                     t.acc + " to " + t.accStruct);
    // The thread's four rows r = 2 half + e: LayerNorm statistics, and for
    // the output statistics this lane's first value of the row (the shift)
    // and the sums of the shifted values and of their squares (scalars:
    // few registers live beside the 128 accumulators).
    std::string rstd[4], shift[4], first[4], sum1[4], sum2[4];
    for (int64_t r = 0; r < 4 && s.layerNormInput; ++r) {
      std::string st = w.def("row_stats", "vector.load " + statsTile + "[" +
                                              tileRow(r) + ", " + idx(0) +
                                              "] : " + t.statsTile + ", " + vf);
      for (int64_t k = 0; k < 2; ++k) {
        std::string x =
            w.def("st_e", "vector.extract " + st + "[" + std::to_string(k) +
                              "] : f32 from " + vf);
        (k ? shift[r] : rstd[r]) =
            w.def("st_splat", "vector.broadcast " + x + " : f32 to " + vf);
      }
    }
    // Column groups in the order (jj % 8, jj / 8), all four rows each: a
    // group's bias and column sums die after it, and the boxes' accesses of
    // one (row, chunk) follow each other (addresses a constant apart).
    // (Rows outer kept them all live: ptxas spilled at its 168 registers.)
    int64_t boxes = s.tileN / kTileK;
    for (int64_t step = 0; step < s.tileN / 8; ++step) {
      int64_t jj = step % boxes * 8 + step / boxes;
      std::string col = op("col", "addi", col0, idx(8 * jj));
      col = op("col", "addi", col, colPair);
      std::string bias, colsum;
      if (p.hasBias())
        bias = w.def("bias_f32",
                     "arith.extf " +
                         w.def("bias_raw", "vector.load %bias[" + col +
                                               "] {alignment = 4 : i64} : " +
                                               t.globalBias + ", " + t.pair) +
                         " : " + t.pair + " to " + vf);
      if (s.layerNormInput)
        colsum =
            w.def("colsum", "vector.load %colsum[" + col +
                                "] {alignment = 8 : i64} : " + t.globalColsum +
                                ", " + vf);
      for (int64_t r = 0; r < 4; ++r) {
        int64_t i = 4 * jj + 2 * (r % 2);
        std::string v[2];
        for (int64_t k = 0; k < 2; ++k)
          v[k] = w.def("y", "llvm.extractvalue " + frag[r / 2] + "[0, " +
                                std::to_string(i + k) + "] : " + t.accStruct);
        std::string y = w.def("y", "vector.from_elements " + v[0] + ", " +
                                       v[1] + " : " + vf);
        if (s.layerNormInput) {
          std::string corr = w.def("corr", "arith.mulf " + shift[r] + ", " +
                                               colsum + " : " + vf);
          y = w.def("y", "vector.fma " + y + ", " + rstd[r] + ", " + corr +
                             " : " + vf);
        }
        if (p.hasBias())
          y = w.def("y", "arith.addf " + y + ", " + bias + " : " + vf);
        if (s.epilogue == GemmEpilogue::BiasGeluTanh)
          y = emitGeluTanh(y, 2);
        std::string row = op("c_row", "addi", tileRow(r), idx(jj / 8 * kTileM));
        const std::string &c = swzCol[jj % 8];
        if (s.residual) {
          std::string res =
              w.def("res_raw", "vector.load " + outTile + "[" + row + ", " + c +
                                   "] {alignment = 4 : i64} : " + t.outTile +
                                   ", " + t.pair);
          y = w.def("y", "arith.addf " + y + ", " +
                             w.def("res_f32", "arith.extf " + res + " : " +
                                                  t.pair + " to " + vf) +
                             " : " + vf);
        }
        std::string out =
            w.def("out_v", "arith.truncf " + y + " : " + vf + " to " + t.pair);
        w.line("vector.store " + out + ", " + outTile + "[" + row + ", " + c +
               "] {alignment = 4 : i64} : " + t.outTile + ", " + t.pair);
        if (!s.rowStatistics)
          continue;
        std::string stored =
            w.def("st_v", "arith.extf " + out + " : " + t.pair + " to " + vf);
        for (int64_t k = 0; k < 2; ++k) {
          std::string x =
              w.def("st_x", "vector.extract " + stored + "[" +
                                std::to_string(k) + "] : f32 from " + vf);
          if (step == 0 && k == 0) {
            first[r] = x; // its shifted value is 0
            sum1[r] = sum2[r] = w.f32(0.0);
            continue;
          }
          std::string d =
              w.def("st_d", "arith.subf " + x + ", " + first[r] + " : f32");
          sum1[r] =
              w.def("st_s1", "arith.addf " + sum1[r] + ", " + d + " : f32");
          sum2[r] = w.def("st_s2", "math.fma " + d + ", " + d + ", " + sum2[r] +
                                       " : f32");
        }
      }
    }
    for (int64_t r = 0; r < 4 && s.rowStatistics; ++r)
      emitFragmentRowStatistics(first[r], sum1[r], sum2[r], inQuad, tileRow(r));
    // Generic-proxy writes -> the TMA store (async proxy).
    w.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
           "#nvvm.shared_space<cta>}");
    warpgroupBarrier();
    w.open("scf.if " + isWgLeader);
    for (int64_t box = 0; box < boxes; ++box) {
      std::string src = outBoxView(box);
      std::string col = w.def("c_col", "arith.addi " + col0 + ", " +
                                           idx(box * kTileK) + " : index");
      w.line("nvgpu.tma.async.store " + src + " to %tma_c[" + col + ", " +
             row0 + "] : " + t.outBox + " -> " + t.tmaC);
    }
    w.line("nvvm.cp.async.bulk.commit.group");
    w.close();
  }

  /// GemmSpec::rowStatistics with the register epilogue: a row's values of
  /// this tile are spread over the 4 lanes of a quad (tileN / 4 each). Each
  /// lane's (mean, M2) comes from the sums of its values shifted by its
  /// first one (`first`, `sum1`, `sum2`: one pass, no cancellation unless
  /// the values' spread is tiny next to their distance from that value),
  /// then the quad merges them by Chan's update for equal counts (symmetric,
  /// so every lane gets the same pair) and lane 0 writes the tile's partial
  /// of row `tileRow` (if it is below m).
  void emitFragmentRowStatistics(const std::string &first,
                                 const std::string &sum1,
                                 const std::string &sum2,
                                 const std::string &inQuad,
                                 const std::string &tileRow) {
    const GemmSpec &s = p.spec;
    double perLane = double(s.tileN / 4);
    std::string meanOff = w.def("st_off", "arith.mulf " + sum1 + ", " +
                                              w.f32(1.0 / perLane) + " : f32");
    std::string mean =
        w.def("st_mean", "arith.addf " + first + ", " + meanOff + " : f32");
    std::string m2 = w.def("st_m2", "arith.subf " + sum2 + ", " +
                                        w.def("g", "arith.mulf " + sum1 + ", " +
                                                       meanOff + " : f32") +
                                        " : f32");
    m2 = w.def("st_m2", "arith.maximumf " + m2 + ", " + w.f32(0.0) + " : f32");
    int64_t count = s.tileN / 4;
    for (int64_t mask : {1, 2}) {
      std::tie(mean, m2) =
          detail::xorChanMerge(w, mean, m2, mean, m2, mask, count);
      count *= 2;
    }
    std::string var =
        w.def("st_var", "arith.mulf " + m2 + ", " +
                            w.f32(1.0 / double(s.tileN)) + " : f32");
    std::string pairV = w.def("st_pair", "vector.from_elements " + mean + ", " +
                                             var + " : vector<2xf32>");
    std::string row =
        w.def("st_row", "arith.addi " + row0 + ", " + tileRow + " : index");
    std::string writer = w.def("st_writer", "arith.cmpi eq, " + inQuad + ", " +
                                                w.index(0) + " : index");
    std::string inside = w.def("st_inside", "arith.cmpi slt, " + row + ", " +
                                                w.index(s.m) + " : index");
    w.open("scf.if " +
           w.def("st_write", "arith.andi " + writer + ", " + inside + " : i1"));
    w.line("vector.store " + pairV + ", %stats_out[" + row + ", " + blockN +
           ", " + w.index(0) + "] {alignment = 8 : i64} : " + t.globalStatsOut +
           ", vector<2xf32>");
    w.close();
  }

  /// Staging epilogue: the view mma.store writes a 64-row half through.
  /// mma.store places warp w's rows at row 16 w of the memref it is given,
  /// w counted from thread 0 (4..7 in warpgroup 1, MLIR 22), so the view
  /// starts 64 rows before the tile for warpgroup 1.
  std::string stagingStoreView(const std::string &stagingOff,
                               const std::string &wg) {
    std::string storeOff =
        w.def("store_off",
              "arith.subi " + stagingOff + ", " +
                  w.def("g", "arith.muli " + wg + ", " +
                                 w.index(kWsStagingRows * p.accRowStride * 4) +
                                 " : index") +
                  " : index");
    std::string storeView =
        w.def("store_view",
              "memref.subview " + view("store_base", storeOff, t.stagingTile) +
                  "[0, 0] [" + std::to_string(kWgmmaM) + ", " +
                  std::to_string(p.spec.tileN) + "] [1, 1] : " + t.stagingTile +
                  " to " + t.accHalf[0]);
    return storeView;
  }

  /// One consumer warp's arrival on the empty barrier of ring use `seq`.
  void emitRelease(const std::string &seq) {
    std::string slot = w.def("rel_slot", "arith.remui " + seq + ", " +
                                             w.index(p.stages) + " : index");
    w.def("rel_token", "nvgpu.mbarrier.arrive " + empty + "[" + slot +
                           "] : " + t.barriers + " -> !nvgpu.mbarrier.token");
  }

  void emitSetup() {
    emitKernelStart();
    std::string bx = w.def("bx", "gpu.block_id x");
    std::string by = w.def("by", "gpu.block_id y");
    std::string pid =
        w.def("pid", "arith.addi " + bx + ", " +
                         w.def("g", "arith.muli " + by + ", " +
                                        w.index(p.gridX) + " : index") +
                         " : index");
    setTile(pid);
    emitBarrierInit();
  }

  /// Descriptor casts, thread id, shared memory and where the ring starts.
  void emitKernelStart() {
    // TMA descriptors arrive as !llvm.ptr (see the file comment).
    w.line("%tma_a = builtin.unrealized_conversion_cast %tma_a_ptr : "
           "!llvm.ptr to " +
           t.tmaA);
    w.line("%tma_b = builtin.unrealized_conversion_cast %tma_b_ptr : "
           "!llvm.ptr to " +
           t.tmaB);
    for (const std::string &d : descriptorNames(p))
      if (d != "a" && d != "b")
        w.line("%tma_" + d + " = builtin.unrealized_conversion_cast %tma_" + d +
               "_ptr : !llvm.ptr to " + t.tmaC);
    tid = w.def("tid", "gpu.thread_id x");
    isLeader = w.def("is_leader",
                     "arith.cmpi eq, " + tid + ", " + w.index(0) + " : index");
    emitRingAddress();
  }

  /// row0 / col0 / blockN of linear tile `pid` (index) in the grouped order.
  void setTile(const std::string &pid) {
    // Grouped tile order: CTAs are launched x fastest, so reading block_id x
    // as the M tile makes a wave of CTAs cover ~132 M tiles of one N column:
    // A is streamed once per N column, from HBM once it outgrows L2 (M >
    // ~16K rows). Instead, the linear launch index walks kGroupM M tiles
    // down one N column, then the next column: a wave touches a few M tiles
    // and N columns that all stay in L2.
    auto idx = [&](int64_t v) { return w.index(v); };
    auto op = [&](const std::string &name, const std::string &a,
                  const std::string &b) {
      return w.def("g", "arith." + name + " " + a + ", " + b + " : index");
    };
    int64_t groupTiles = kGroupM * p.gridY;
    std::string group = op("divui", pid, idx(groupTiles));
    std::string inGroup = op("remui", pid, idx(groupTiles));
    std::string firstM = op("muli", group, idx(kGroupM));
    std::string sizeM =
        op("minui", op("subi", idx(p.gridX), firstM), idx(kGroupM));
    std::string blockM =
        w.def("block_m", "arith.addi " + firstM + ", " +
                             op("remui", inGroup, sizeM) + " : index");
    blockN =
        w.def("block_n", "arith.divui " + inGroup + ", " + sizeM + " : index");
    row0 = w.def("row0",
                 "arith.muli " + blockM + ", " + w.index(kTileM) + " : index");
    col0 = w.def("col0", "arith.muli " + blockN + ", " + w.index(p.spec.tileN) +
                             " : index");
  }

  void emitRingAddress() {
    smem = w.def("smem", "gpu.dynamic_shared_memory : " + t.smemBytes);

    // TMA's 128B swizzle and the wgmma descriptors (base_offset = 0) both
    // assume each 8-row swizzle atom starts 1024-byte aligned, so the ring
    // starts at the first multiple of 1024 of the dynamic shared memory
    // (the launch reserves that slack). Where that memory starts is taken
    // from an external zero-length .shared array, not from
    // gpu.dynamic_shared_memory: NVPTX demotes the latter's internal global
    // to a 1-byte static variable with the mbarriers placed right after
    // it, inside what would otherwise be the ring (compute-sanitizer
    // racecheck found this in the Monarch kernel, which shares the design).
    w.line("// The ring starts at the first 1024-byte boundary of dynamic "
           "smem.");
    std::string addr =
        w.def("smem_addr", "memref.extract_aligned_pointer_as_index " + smem +
                               " : " + t.smemBytes + " -> index");
    std::string dynPtr = w.def("dyn_ptr", "llvm.mlir.addressof @" +
                                              std::string(kDynamicSmemSymbol) +
                                              " : !llvm.ptr<3>");
    std::string dynInt =
        w.def("dyn_i64", "llvm.ptrtoint " + dynPtr + " : !llvm.ptr<3> to i64");
    std::string dyn =
        w.def("dyn_addr", "arith.index_cast " + dynInt + " : i64 to index");
    std::string up =
        w.def("dyn_up", "arith.addi " + dyn + ", " +
                            w.index(kSwizzleAtomBytes - 1) + " : index");
    std::string aligned =
        w.def("ring_addr", "arith.andi " + up + ", " +
                               w.index(~(kSwizzleAtomBytes - 1)) + " : index");
    ring = w.def("ring", "arith.subi " + aligned + ", " + addr + " : index");
  }

  /// The ring's full barriers (TMA completion), and for the warp-specialised
  /// kernel its empty barriers (one arrival per consumer warp).
  void emitBarrierInit() {
    bars = w.def("full", "nvgpu.mbarrier.create -> " + t.barriers);
    if (p.ws) {
      empty = w.def("empty", "nvgpu.mbarrier.create -> " + t.barriers);
      order = w.def("order", "nvgpu.mbarrier.create -> " + t.orderBarriers);
    }
    // Register epilogue with a residual: one barrier per consumer, armed
    // with the R tile's bytes, completed by its TMA load.
    if (p.regEpilogue && p.spec.residual)
      resFull =
          w.def("res_full", "nvgpu.mbarrier.create -> " + t.orderBarriers);
    w.open("scf.if " + isLeader);
    if (p.ws)
      for (int64_t c = 0; c < kWsConsumers; ++c)
        w.line("nvgpu.mbarrier.init " + order + "[" + w.index(c) + "], " +
               w.index(kThreads / 32) + " : " + t.orderBarriers);
    for (int64_t s = 0; s < p.stages; ++s) {
      w.line("nvgpu.mbarrier.init " + bars + "[" + w.index(s) + "], " +
             w.index(1) + " : " + t.barriers);
      if (p.ws)
        w.line("nvgpu.mbarrier.init " + empty + "[" + w.index(s) + "], " +
               w.index(kThreads / 32) + " : " + t.barriers);
    }
    w.line("nvgpu.tma.prefetch.descriptor %tma_a : " + t.tmaA);
    w.line("nvgpu.tma.prefetch.descriptor %tma_b : " + t.tmaB);
    for (const std::string &d : descriptorNames(p))
      if (d != "a" && d != "b")
        w.line("nvgpu.tma.prefetch.descriptor %tma_" + d + " : " + t.tmaC);
    if (!resFull.empty())
      for (int64_t c = 0; c < kWsConsumers; ++c)
        w.line("nvgpu.mbarrier.init " + resFull + "[" + w.index(c) + "], " +
               w.index(1) + " : " + t.orderBarriers);
    w.close();
    w.line("gpu.barrier");
  }

  /// Byte offset (index SSA value) of slot `slot` of operand A or B.
  std::string slotOffset(const std::string &slot, bool operandB) {
    std::string scaled =
        w.def(operandB ? "b_slot_off" : "a_slot_off",
              "arith.muli " + slot + ", " +
                  w.index(operandB ? p.bSlotBytes : p.aSlotBytes) + " : index");
    std::string base =
        operandB
            ? w.def("b_ring", "arith.addi " + ring + ", " +
                                  w.index(p.stages * p.aSlotBytes) + " : index")
            : ring;
    return w.def(operandB ? "b_base" : "a_base",
                 "arith.addi " + base + ", " + scaled + " : index");
  }

  std::string view(const std::string &hint, const std::string &byteOffset,
                   const std::string &type) {
    return w.def(hint, "memref.view " + smem + "[" + byteOffset +
                           "][] : " + t.smemBytes + " to " + type);
  }

  /// Thread 0 only: arm the slot's barrier and TMA-load k-tile `kTile`.
  void emitTmaLoad(const std::string &kTile, const std::string &slot) {
    std::string aDst = view("a_dst", slotOffset(slot, false), t.aSlot);
    std::string bDst = view("b_dst", slotOffset(slot, true), t.bSlot);
    std::string kElem = w.def("k_elem", "arith.muli " + kTile + ", " +
                                            w.index(kTileK) + " : index");
    int64_t txBytes = p.aSlotBytes + p.bSlotBytes; // OOB fill counts too
    w.line("nvgpu.mbarrier.arrive.expect_tx " + bars + "[" + slot + "], " +
           w.index(txBytes) + " : " + t.barriers);
    // Coordinates are innermost first: (k, row).
    w.line("nvgpu.tma.async.load %tma_a[" + kElem + ", " + row0 + "], " + bars +
           "[" + slot + "] to " + aDst + " : " + t.tmaA + ", " + t.barriers +
           " -> " + t.aSlot);
    w.line("nvgpu.tma.async.load %tma_b[" + kElem + ", " + col0 + "], " + bars +
           "[" + slot + "] to " + bDst + " : " + t.tmaB + ", " + t.barriers +
           " -> " + t.bSlot);
  }

  void emitPrologue() {
    int64_t preload = std::min(p.stages - 1, p.numKTiles);
    w.line("// Prologue: k-tiles 0.." + std::to_string(preload - 1) +
           " in flight before the first wgmma.");
    w.open("scf.if " + isLeader);
    for (int64_t s = 0; s < preload; ++s)
      emitTmaLoad(w.index(s), w.index(s));
    w.close();
  }

  /// Opens the k loop that carries the two accumulators (its results:
  /// `accs`); returns the induction variable, `accIn` the carried values.
  std::string openKLoop(std::string accIn[2]) {
    std::string init0 =
        w.def("acc_init", "nvgpu.warpgroup.mma.init.accumulator -> " + t.acc);
    std::string init1 =
        w.def("acc_init", "nvgpu.warpgroup.mma.init.accumulator -> " + t.acc);
    accs = w.fresh("accs");
    std::string kt = w.fresh("kt");
    accIn[0] = w.fresh("acc_top");
    accIn[1] = w.fresh("acc_bottom");
    w.open(accs + ":2 = scf.for " + kt + " = " + w.index(0) + " to " +
           w.index(p.numKTiles) + " step " + w.index(1) + " iter_args(" +
           accIn[0] + " = " + init0 + ", " + accIn[1] + " = " + init1 +
           ") -> (" + t.acc + ", " + t.acc + ")");
    return kt;
  }

  void emitMainLoop() {
    std::string accIn[2];
    std::string kt = openKLoop(accIn);
    // Slot kt % STAGES is on its (kt / STAGES)-th use: wait for that phase.
    auto [slot, parity] = ringPosition(kt);
    w.line("nvgpu.mbarrier.try_wait.parity " + bars + "[" + slot + "], " +
           parity + ", " + w.index(kMbarrierSpinTicks) + " : " + t.barriers);
    std::string acc[2] = {accIn[0], accIn[1]};
    emitKTileMmas(slot, acc);

    // Every warp has retired k-tile kt-1, so its slot may be refilled.
    w.line("gpu.barrier");
    std::string next = w.def("kt_next", "arith.addi " + kt + ", " +
                                            w.index(p.stages - 1) + " : index");
    std::string inRange =
        w.def("in_range", "arith.cmpi ult, " + next + ", " +
                              w.index(p.numKTiles) + " : index");
    std::string doLoad =
        w.def("do_load", "arith.andi " + isLeader + ", " + inRange + " : i1");
    w.open("scf.if " + doLoad);
    std::string nextSlot =
        w.def("next_slot",
              "arith.remui " + next + ", " + w.index(p.stages) + " : index");
    emitTmaLoad(next, nextSlot);
    w.close();
    w.line("scf.yield " + acc[0] + ", " + acc[1] + " : " + t.acc + ", " +
           t.acc);
    w.close();
  }

  /// The wgmmas of one k-tile in ring slot `slot` into acc[0] (rows 0..63)
  /// and acc[1] (rows 64..127), replaced by their results.
  void emitKTileMmas(const std::string &slot, std::string acc[2]) {
    std::string aBase = slotOffset(slot, false);
    std::string bBase = slotOffset(slot, true);
    // Each op is one wgmma group; allowing wgmmaPerKTile-1 groups in flight
    // means the last op of this k-tile retires all of k-tile kt-1.
    std::string waitGroup = std::to_string(p.wgmmaPerKTile - 1);
    int64_t aHalfBytes = kWgmmaM * kTileK * p.elemBytes;
    int64_t kStepBytes = kWgmmaK * p.elemBytes;
    for (int64_t ks = 0; ks < kTileK / kWgmmaK; ++ks) {
      std::string bOff =
          w.def("b_off", "arith.addi " + bBase + ", " +
                             w.index(ks * kStepBytes) + " : index");
      std::string bView = view("b_step", bOff, t.bStep);
      std::string bDesc =
          w.def("b_desc", "nvgpu.warpgroup.generate.descriptor " + bView +
                              ", %tma_b : " + t.bStep + ", " + t.tmaB + " -> " +
                              t.wgmmaB);
      for (int half = 0; half < 2; ++half) {
        std::string aOff =
            w.def("a_off", "arith.addi " + aBase + ", " +
                               w.index(half * aHalfBytes + ks * kStepBytes) +
                               " : index");
        std::string aView = view("a_step", aOff, t.aStep);
        std::string aDesc =
            w.def("a_desc", "nvgpu.warpgroup.generate.descriptor " + aView +
                                ", %tma_a : " + t.aStep + ", " + t.tmaA +
                                " -> " + t.wgmmaA);
        acc[half] = w.def(half ? "acc_bottom" : "acc_top",
                          "nvgpu.warpgroup.mma " + aDesc + ", " + bDesc + ", " +
                              acc[half] + " {waitGroup = " + waitGroup +
                              " : i64} : " + t.wgmmaA + ", " + t.wgmmaB + ", " +
                              t.acc + " -> " + t.acc);
      }
    }
  }

  void emitAccumulatorsToSmem() {
    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    // The f32 tile overwrites ring slots other warps' wgmmas read.
    w.line("gpu.barrier");
    accTile = view("acc_tile", ring, t.accTile);
    for (int half = 0; half < 2; ++half) {
      std::string sub =
          w.def("acc_half", "memref.subview " + accTile + "[" +
                                std::to_string(half * kWgmmaM) + ", 0] [" +
                                std::to_string(kWgmmaM) + ", " +
                                std::to_string(p.spec.tileN) + "] [1, 1] : " +
                                t.accTile + " to " + t.accHalf[half]);
      // The store derives rows from threadIdx.x / 32 * 16, which is right
      // because this warpgroup is threads 0..127.
      w.line("nvgpu.warpgroup.mma.store " + accs + "#" + std::to_string(half) +
             ", " + sub + " : " + t.acc + " to " + t.accHalf[half]);
    }
    if (p.spec.layerNormInput)
      statsTile =
          view("stats_tile",
               w.def("stats_off", "arith.addi " + ring + ", " +
                                      w.index(p.statsOffset) + " : index"),
               t.statsTile);
    emitRowStatisticsStore();
    w.line("gpu.barrier");
  }

  /// 0.5 x (1 + tanh(u)) == x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715
  /// x^3), evaluated as x * rcp(1 + 2^(x (c0 + c1 x^2))) with the MUFU
  /// ex2.approx and rcp.approx (relative error ~1e-6 after rounding; no
  /// cancellation in 1 + tanh(u) for negative x, and exp overflow to +inf
  /// gives the correct -0). IEEE division would take its slow path for the
  /// huge denominators of negative x.
  std::string emitGeluTanh(const std::string &x,
                           int64_t lanesPerValue = kEpilogueVector) {
    const double sqrt2OverPi = 0.7978845608028654;
    const double log2e = 1.4426950408889634;
    const double cubic = 0.044715;
    const double c0 = -2.0 * log2e * sqrt2OverPi; // exp(-2u) = 2^(x (c0 + ..))
    std::string vt = "vector<" + std::to_string(lanesPerValue) + "xf32>";
    std::string fm = " fastmath<contract> : " + vt;
    std::string x2 = w.def("x2", "arith.mulf " + x + ", " + x + fm);
    std::string poly =
        w.def("poly", "arith.mulf " + x2 + ", " +
                          w.splatF32(c0 * cubic, lanesPerValue) + fm);
    poly = w.def("poly", "arith.addf " + poly + ", " +
                             w.splatF32(c0, lanesPerValue) + fm);
    std::string arg = w.def("exp2_arg", "arith.mulf " + x + ", " + poly + fm);
    std::string lanes;
    for (int64_t i = 0; i < lanesPerValue; ++i) {
      std::string lane =
          w.def("lane", "vector.extract " + arg + "[" + std::to_string(i) +
                            "] : f32 from " + vt);
      std::string e = w.def(
          "exp2", "llvm.inline_asm asm_dialect = att \"ex2.approx.ftz.f32 $0, "
                  "$1;\", \"=f,f\" " +
                      lane + " : (f32) -> f32");
      std::string d =
          w.def("denom", "arith.addf " + e + ", " + w.f32(1.0) + " : f32");
      std::string r = w.def("rcp", "nvvm.rcp.approx.ftz.f " + d + " : f32");
      lanes += (i ? ", " : "") + r;
    }
    std::string rcp =
        w.def("sigmoid", "vector.from_elements " + lanes + " : " + vt);
    return w.def("gelu", "arith.mulf " + x + ", " + rcp + fm);
  }

  void emitEpilogue() {
    const GemmSpec &s = p.spec;
    int64_t chunksPerRow = s.tileN / kEpilogueVector;
    int64_t rowsPerPass = kThreads / chunksPerRow;
    std::string vf = "vector<" + std::to_string(kEpilogueVector) + "xf32>";
    std::string ve =
        "vector<" + std::to_string(kEpilogueVector) + "x" + t.elem + ">";
    int64_t globalAlign = kEpilogueVector * p.elemBytes;

    w.line("// Epilogue: each warp handles whole rows, " +
           std::to_string(kEpilogueVector) + " columns per thread.");
    std::string chunk = w.def("chunk", "arith.remui " + tid + ", " +
                                           w.index(chunksPerRow) + " : index");
    std::string rowFirst =
        w.def("row_first",
              "arith.divui " + tid + ", " + w.index(chunksPerRow) + " : index");
    std::string colLocal =
        w.def("col_local", "arith.muli " + chunk + ", " +
                               w.index(kEpilogueVector) + " : index");
    std::string col =
        w.def("col", "arith.addi " + col0 + ", " + colLocal + " : index");
    // Rows at and beyond m are TMA zero fill: never stored.
    std::string rowsLeft = w.def("rows_left", "arith.subi " + w.index(s.m) +
                                                  ", " + row0 + " : index");
    std::string rowEnd =
        w.def("row_end", "arith.minsi " + rowsLeft + ", " +
                             w.index(epilogueRows) + " : index");
    std::string biasF32;
    if (p.hasBias()) {
      std::string b =
          w.def("bias_raw", "vector.load %bias[" + col + "] {alignment = " +
                                std::to_string(globalAlign) +
                                " : i64} : " + t.globalBias + ", " + ve);
      biasF32 = w.def("bias_f32", "arith.extf " + b + " : " + ve + " to " + vf);
    }
    std::string colsum;
    if (s.layerNormInput)
      colsum =
          w.def("colsum", "vector.load %colsum[" + col +
                              "] {alignment = 16 : i64} : " + t.globalColsum +
                              ", " + vf);

    // Unrolled, in batches of kEpilogueBatch passes: a batch's residual
    // rows are loaded before any of its stores, so that their latencies
    // overlap (the compiler cannot move a load of %residual above a store
    // to %out, which might alias it). Rows at and beyond m are loaded from
    // row m-1 (a valid address) and not stored.
    int64_t passes = epilogueRows / rowsPerPass;
    for (int64_t b0 = 0; b0 < passes; b0 += kEpilogueBatch) {
      int64_t b1 = std::min(passes, b0 + kEpilogueBatch);
      std::vector<std::string> rows, res, stats, stored;
      for (int64_t i = b0; i < b1; ++i) {
        rows.push_back(w.def("r", "arith.addi " + rowFirst + ", " +
                                      w.index(i * rowsPerPass) + " : index"));
        if (s.layerNormInput) {
          std::string statsRow = rows.back();
          if (statsRowBase)
            statsRow =
                w.def("stats_row", "arith.addi " + statsRow + ", " +
                                       w.index(statsRowBase) + " : index");
          stats.push_back(w.def("row_stats", "vector.load " + statsTile + "[" +
                                                 statsRow + ", " + w.index(0) +
                                                 "] : " + t.statsTile +
                                                 ", vector<2xf32>"));
        }
        if (!s.residual)
          continue;
        std::string row = w.def("row", "arith.addi " + row0 + ", " +
                                           rows.back() + " : index");
        row = w.def("row", "arith.minsi " + row + ", " + w.index(s.m - 1) +
                               " : index");
        res.push_back(w.def(
            "res_raw", "vector.load %residual[" + row + ", " + col +
                           "] {alignment = " + std::to_string(globalAlign) +
                           " : i64} : " + t.globalC + ", " + ve));
      }
      for (int64_t i = b0; i < b1; ++i) {
        const std::string &r = rows[i - b0];
        std::string v = w.def(
            "v", "vector.load " + accTile + "[" + r + ", " + colLocal +
                     "] {alignment = 16 : i64} : " + accTileType + ", " + vf);
        if (s.layerNormInput) {
          // rstd * (acc - mean * colsum) = acc * rstd + (-mean * rstd) * colsum
          const std::string &st = stats[i - b0];
          auto splat = [&](int64_t i) {
            std::string e =
                w.def("st_e", "vector.extract " + st + "[" + std::to_string(i) +
                                  "] : f32 from vector<2xf32>");
            return w.def("st_splat",
                         "vector.broadcast " + e + " : f32 to " + vf);
          };
          std::string rstd = splat(0), shift = splat(1);
          std::string corr =
              w.def("corr", "arith.mulf " + shift + ", " + colsum + " : " + vf);
          v = w.def("v",
                    "vector.fma " + v + ", " + rstd + ", " + corr + " : " + vf);
        }
        if (p.hasBias())
          v = w.def("v", "arith.addf " + v + ", " + biasF32 + " : " + vf);
        if (s.epilogue == GemmEpilogue::BiasGeluTanh)
          v = emitGeluTanh(v);
        if (s.residual) {
          std::string resF32 = w.def("res_f32", "arith.extf " + res[i - b0] +
                                                    " : " + ve + " to " + vf);
          v = w.def("v", "arith.addf " + v + ", " + resF32 + " : " + vf);
        }
        std::string outV =
            w.def("out_v", "arith.truncf " + v + " : " + vf + " to " + ve);
        std::string inside = w.def("inside", "arith.cmpi slt, " + r + ", " +
                                                 rowEnd + " : index");
        std::string row =
            w.def("row", "arith.addi " + row0 + ", " + r + " : index");
        w.open("scf.if " + inside);
        w.line("vector.store " + outV + ", %out[" + row + ", " + col +
               "] {alignment = " + std::to_string(globalAlign) +
               " : i64} : " + t.globalC + ", " + ve);
        w.close();
        if (s.rowStatistics)
          stored.push_back(
              w.def("st_v", "arith.extf " + outV + " : " + ve + " to " + vf));
      }
      if (s.rowStatistics)
        emitRowStatisticsPartials(stored, vf, chunksPerRow, rowFirst, b0,
                                  rowsPerPass, rowEnd);
    }
  }

  /// GemmSpec::rowStatistics: the (mean, variance) of the rounded values
  /// `stored` of one batch of passes (this lane's columns of rows
  /// rowFirst + (b0 + i) * rowsPerPass) over the tile's tileN columns, all
  /// rows of the batch reduced together across their `lanes` lanes by
  /// detail::transposedRowMeanM2 (every lane takes part: rows past m too);
  /// lane i * lanes / B of a row group then holds row i's pair and writes
  /// it as partial block_n of the row. (One butterfly per row took 10
  /// dependent shuffles per row: the projection GEMM grew by 15%.)
  void emitRowStatisticsPartials(const std::vector<std::string> &stored,
                                 const std::string &vf, int64_t lanes,
                                 const std::string &rowFirst, int64_t b0,
                                 int64_t rowsPerPass,
                                 const std::string &rowEnd) {
    int64_t batch = static_cast<int64_t>(stored.size());
    // passes (128 / rows per pass) and kEpilogueBatch are powers of two, and
    // lanes = tileN / 4 >= 16 > kEpilogueBatch.
    assert(batch > 0 && (batch & (batch - 1)) == 0 && lanes % batch == 0);
    int64_t lanesPerResult = lanes / batch;
    std::string lane = w.def("st_lane", "arith.remui " + tid + ", " +
                                            w.index(32) + " : index");
    auto [mean, m2] = detail::transposedRowMeanM2(w, stored, vf,
                                                  kEpilogueVector, lanes, lane);
    std::string var =
        w.def("st_var", "arith.mulf " + m2 + ", " +
                            w.f32(1.0 / double(p.spec.tileN)) + " : f32");
    std::string pair = w.def("st_pair", "vector.from_elements " + mean + ", " +
                                            var + " : vector<2xf32>");
    std::string inGroup = w.def("st_in_group", "arith.remui " + lane + ", " +
                                                   w.index(lanes) + " : index");
    std::string which =
        w.def("st_which", "arith.divui " + inGroup + ", " +
                              w.index(lanesPerResult) + " : index");
    std::string sub = w.def("st_sub", "arith.remui " + inGroup + ", " +
                                          w.index(lanesPerResult) + " : index");
    std::string pass = w.def("st_pass", "arith.addi " + which + ", " +
                                            w.index(b0) + " : index");
    std::string r = w.def("st_r", "arith.muli " + pass + ", " +
                                      w.index(rowsPerPass) + " : index");
    r = w.def("st_r", "arith.addi " + rowFirst + ", " + r + " : index");
    std::string writer = w.def("st_writer", "arith.cmpi eq, " + sub + ", " +
                                                w.index(0) + " : index");
    std::string inside =
        w.def("st_inside", "arith.cmpi slt, " + r + ", " + rowEnd + " : index");
    std::string write =
        w.def("st_write", "arith.andi " + writer + ", " + inside + " : i1");
    std::string row =
        w.def("st_row", "arith.addi " + row0 + ", " + r + " : index");
    w.open("scf.if " + write);
    w.line("vector.store " + pair + ", %stats_out[" + row + ", " + blockN +
           ", " + w.index(0) + "] {alignment = 8 : i64} : " + t.globalStatsOut +
           ", vector<2xf32>");
    w.close();
  }

  /// Folded LayerNorm: thread t's row statistics (merged from what it
  /// loaded when the tile started) into statsTile row t, for the epilogue.
  void emitRowStatisticsStore() {
    if (!p.spec.layerNormInput)
      return;
    w.line("vector.store " + rowStats + ", " + statsTile + "[" + tid + ", " +
           w.index(0) + "] : " + t.statsTile + ", vector<2xf32>");
  }

  /// Folded LayerNorm: thread t loads the statistics partials of the CTA's
  /// row t when the CTA starts (they are ready at launch), so that the
  /// epilogue does not wait for them; rows past m read row m-1 (never
  /// stored).
  void emitRowStatisticsLoad() {
    if (!p.spec.layerNormInput)
      return;
    std::string row =
        w.def("st_row", "arith.addi " + row0 + ", " + tid + " : index");
    row = w.def("st_row", "arith.minsi " + row + ", " + w.index(p.spec.m - 1) +
                              " : index");
    rowParts = w.def(
        "row_parts",
        "vector.load %stats[" + row + ", " + w.index(0) + ", " + w.index(0) +
            "] {alignment = 8 : i64} : " + t.globalStats + ", vector<" +
            std::to_string(2 * p.spec.layerNormPartials) + "xf32>");
  }

  /// Folded LayerNorm: the loaded partials -> (rstd, shift), after thread 0
  /// has issued the first TMA loads (the arithmetic waits for the load;
  /// placed here, that wait overlaps the TMA latency and delays no copy).
  void emitRowStatisticsMerge() {
    if (!p.spec.layerNormInput)
      return;
    auto [rstd, shift] = detail::mergeRowPartials(
        w, rowParts, p.spec.layerNormPartials, p.spec.layerNormEps);
    rowStats = w.def("row_stats", "vector.from_elements " + rstd + ", " +
                                      shift + " : vector<2xf32>");
  }

  /// Residual epilogue: each thread asks L2 for one row of this CTA's
  /// residual tile when the CTA starts, so that the epilogue's loads (after
  /// the k loop) hit L2 instead of waiting for HBM.
  void emitResidualPrefetch() {
    const GemmSpec &s = p.spec;
    if (!s.residual)
      return;
    w.line("// Residual tile -> L2 (read in the epilogue).");
    std::string row =
        w.def("pf_row", "arith.addi " + row0 + ", " + tid + " : index");
    row = w.def("pf_row",
                "arith.minsi " + row + ", " + w.index(s.m - 1) + " : index");
    std::string base = w.def(
        "pf_base", "memref.extract_aligned_pointer_as_index %residual : " +
                       t.globalC + " -> index");
    std::string elem =
        w.def("pf_elem", "arith.addi " +
                             w.def("pf_elem", "arith.muli " + row + ", " +
                                                  w.index(s.n) + " : index") +
                             ", " + col0 + " : index");
    std::string addr = w.def(
        "pf_addr", "arith.addi " + base + ", " +
                       w.def("pf_off", "arith.muli " + elem + ", " +
                                           w.index(p.elemBytes) + " : index") +
                       " : index");
    for (int64_t off = 0; off < s.tileN * p.elemBytes; off += kL2Line) {
      std::string a = w.def("pf_addr", "arith.addi " + addr + ", " +
                                           w.index(off) + " : index");
      std::string i =
          w.def("pf_i", "arith.index_cast " + a + " : index to i64");
      std::string ptr =
          w.def("pf_ptr", "llvm.inttoptr " + i + " : i64 to !llvm.ptr<1>");
      w.line("nvvm.prefetch level = L2, " + ptr + " : !llvm.ptr<1>");
    }
  }

  const Plan &p;
  const Types &t;
  FuncWriter w;
  std::string tid, row0, col0, isLeader, smem, ring, bars, empty, order, accs,
      accTile, resFull;
  /// Register epilogue: this warpgroup's C buffer (byte offset, view).
  std::string outTileOff, outTile;
  /// Rows of accTile the epilogue stores (from row0), and the first of them
  /// as a row of the CTA tile (statsTile's row index).
  int64_t epilogueRows = kTileM;
  int64_t statsRowBase = 0;
  std::string accTileType = t.accTile;
  std::string rowParts, rowStats, statsTile;
  std::string blockN; // this CTA's column tile
};

//===----------------------------------------------------------------------===//
// Host side
//===----------------------------------------------------------------------===//

/// `func.func` that builds both TMA descriptors, then launches the kernel
/// `repeats` times. repeats == 0: one synchronous launch (the launcher).
/// repeats > 0: an async chain on one stream, one wait at the end (for
/// benchmarks: the descriptors, which allocate device memory, are built once
/// and launch latency overlaps the previous kernel).
std::string emitHostFunction(const Plan &p, const Types &t,
                             const std::string &name, int64_t repeats) {
  const GemmSpec &s = p.spec;
  FuncWriter w(/*indent=*/1);
  std::string unranked = "memref<*x" + t.elem + ">";
  std::string aAny =
      w.def("a_any", "memref.cast %a : " + t.globalA + " to " + unranked);
  std::string bAny =
      w.def("b_any", "memref.cast %b : " + t.globalB + " to " + unranked);
  // Box dims are outermost first.
  std::string tmaA =
      w.def("tma_a", "nvgpu.tma.create.descriptor " + aAny + " box[" +
                         w.index(kTileM) + ", " + w.index(kTileK) +
                         "] : " + unranked + " -> " + t.tmaA);
  std::string tmaB =
      w.def("tma_b", "nvgpu.tma.create.descriptor " + bAny + " box[" +
                         w.index(s.tileN) + ", " + w.index(kTileK) +
                         "] : " + unranked + " -> " + t.tmaB);
  // The kernel takes the descriptors as !llvm.ptr (see the kernel).
  std::string tmaAPtr =
      w.def("tma_a_ptr", "builtin.unrealized_conversion_cast " + tmaA + " : " +
                             t.tmaA + " to !llvm.ptr");
  std::string tmaBPtr =
      w.def("tma_b_ptr", "builtin.unrealized_conversion_cast " + tmaB + " : " +
                             t.tmaB + " to !llvm.ptr");
  std::string args =
      "args(" + tmaAPtr + " : !llvm.ptr, " + tmaBPtr + " : !llvm.ptr";
  // Register epilogue: C (and R) move by TMA in 128 x 64 boxes.
  for (const std::string &d : descriptorNames(p)) {
    if (d == "a" || d == "b")
      continue;
    std::string buffer = d == "c" ? "%c" : "%residual";
    std::string any = w.def(d + "_any", "memref.cast " + buffer + " : " +
                                            t.globalC + " to " + unranked);
    std::string desc =
        w.def("tma_" + d, "nvgpu.tma.create.descriptor " + any + " box[" +
                              w.index(kTileM) + ", " + w.index(kTileK) +
                              "] : " + unranked + " -> " + t.tmaC);
    args += ", " +
            w.def("tma_" + d + "_ptr", "builtin.unrealized_conversion_cast " +
                                           desc + " : " + t.tmaC +
                                           " to !llvm.ptr") +
            " : !llvm.ptr";
  }
  args += detail::joinArgs(bufferArgs(p, t, "%c"), " : ") + ")";
  std::string launch =
      "@" + gemmKernelModuleName(s) + "::@" + gemmKernelName(s) +
      " blocks in (" + w.index(p.ws ? p.ctas : p.gridX) + ", " +
      w.index(p.ws ? 1 : p.gridY) + ", " + w.index(1) + ") threads in (" +
      w.index(p.threads) + ", " + w.index(1) + ", " + w.index(1) +
      ") dynamic_shared_memory_size " + w.i32(p.dynamicSmemBytes) + " " + args;
  detail::emitLaunches(w, launch, repeats);
  w.line("return");

  std::ostringstream os;
  os << "  func.func private @" << name << "(%a: " << t.globalA
     << ", %b: " << t.globalB << detail::joinArgs(bufferArgs(p, t, "%c"), ": ")
     << ") {\n";
  os << w.finish() << "  }\n";
  return os.str();
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

std::string verifyGemmSpec(const GemmSpec &s) {
  auto str = [](int64_t v) { return std::to_string(v); };
  if (s.elementType != "f16" && s.elementType != "bf16")
    return "element type '" + s.elementType +
           "' is not supported (expected f16 or bf16)";
  if (s.tileN != 128 && s.tileN != 64)
    return "tileN=" + str(s.tileN) + " is not supported (expected 128 or 64)";
  if (s.m < 1)
    return "m=" + str(s.m) + " must be at least 1";
  if (s.n < 1 || s.n % s.tileN != 0)
    return "n=" + str(s.n) +
           " is not a positive multiple of tileN=" + str(s.tileN);
  if (s.k < 1 || s.k % kTileK != 0)
    return "k=" + str(s.k) + " is not a positive multiple of " + str(kTileK);
  if (s.layerNormInput && s.epilogue == GemmEpilogue::None)
    return "a folded LayerNorm needs the bias epilogue (beta is folded into "
           "the bias)";
  if (s.layerNormInput)
    if (std::string why = detail::verifyLayerNormFields(
            s.layerNormEps, s.layerNormPartials, s.k);
        !why.empty())
      return why;
  if (s.stages != 0 && (s.stages < 2 || s.stages > 6))
    return "stages=" + str(s.stages) + " is out of range (2..6, or 0)";
  // TMA coordinates are 32-bit signed.
  if (s.m > kMaxTmaCoordinate || s.n > kMaxTmaCoordinate ||
      s.k > kMaxTmaCoordinate)
    return "m, n and k must each be below 2^31 (TMA coordinates are i32)";
  if (s.persistentCtas < 0)
    return "persistentCtas=" + str(s.persistentCtas) + " must not be negative";
  if (s.persistentCtas != 0 && !s.warpSpecialized)
    return "persistentCtas applies to the warp-specialised schedule only";
  if (s.producerWarpgroup && !s.warpSpecialized)
    return "producerWarpgroup applies to the warp-specialised schedule only";
  if (s.stagingEpilogue && !s.warpSpecialized)
    return "stagingEpilogue applies to the warp-specialised schedule only "
           "(the multistage kernel always uses it)";
  if (s.n / s.tileN > kMaxGridY)
    return "n/tileN=" + str(s.n / s.tileN) + " exceeds the grid y limit " +
           str(kMaxGridY);
  Plan p(s);
  if (p.dynamicSmemBytes > kMaxDynamicSmem)
    return "stages=" + str(p.stages) + " needs " + str(p.dynamicSmemBytes) +
           " bytes of shared memory, more than the " + str(kMaxDynamicSmem) +
           " an sm_90 CTA may use";
  return "";
}

std::string gemmKernelName(const GemmSpec &s) {
  std::string name = "fly_gemm_m" + std::to_string(s.m) + "_n" +
                     std::to_string(s.n) + "_k" + std::to_string(s.k) + "_" +
                     s.elementType;
  if (s.epilogue == GemmEpilogue::Bias)
    name += "_bias";
  else if (s.epilogue == GemmEpilogue::BiasGeluTanh)
    name += "_bias_gelu";
  if (s.residual)
    name += "_res";
  if (s.layerNormInput)
    name += "_ln" + detail::symbolNumber(s.layerNormEps);
  if (s.layerNormInput && s.layerNormPartials != 1)
    name += "_p" + std::to_string(s.layerNormPartials);
  if (s.rowStatistics)
    name += "_rs";
  if (s.tileN != 128)
    name += "_tn" + std::to_string(s.tileN);
  if (s.stages != 0 && s.stages != defaultStages(s.tileN, s.warpSpecialized))
    name += "_s" + std::to_string(s.stages);
  if (s.warpSpecialized)
    name += "_ws";
  if (s.warpSpecialized && s.persistentCtas != 0)
    name += "_ctas" + std::to_string(s.persistentCtas);
  if (s.warpSpecialized && s.stagingEpilogue)
    name += "_stg";
  if (s.warpSpecialized && s.producerWarpgroup)
    name += "_pwg";
  return name;
}

bool gemmWarpSpecializationPays(const GemmSpec &s) {
  if (s.tileN <= 0 || s.n % s.tileN != 0)
    return false;
  int64_t tiles = ceilDiv(s.m, kTileM) * (s.n / s.tileN);
  int64_t ctas = s.persistentCtas ? s.persistentCtas : kDefaultPersistentCtas;
  return 2 * tiles <= 3 * ctas || tiles >= 4 * ctas;
}

bool gemmRegisterEpiloguePays(const GemmSpec &s) {
  return s.residual || s.epilogue == GemmEpilogue::BiasGeluTanh;
}

int64_t defaultGemmTileN(int64_t n) {
  return n % 128 != 0 && n % 64 == 0 ? 64 : 128;
}

int64_t gemmRowStatisticsPartials(const GemmSpec &s) {
  return s.tileN > 0 ? s.n / s.tileN : 0;
}

std::string gemmKernelModuleName(const GemmSpec &s) {
  return detail::moduleNameOf(gemmKernelName(s));
}

std::string gemmLauncherName(const GemmSpec &s) {
  return detail::launcherNameOf(gemmKernelName(s));
}

std::string gemmBenchmarkName(const GemmSpec &s) {
  return detail::benchmarkNameOf(gemmKernelName(s));
}

std::string emitWgmmaGemm(const GemmSpec &spec, std::string &error,
                          const GemmEmitOptions &options) {
  error = verifyGemmSpec(spec);
  if (error.empty() && options.benchmarkRepeats < 0)
    error = "benchmarkRepeats must not be negative";
  if (!error.empty())
    return "";
  Plan plan(spec);
  Types types(plan);

  std::ostringstream os;
  os << "// " << gemmKernelName(spec) << ": C = ";
  if (spec.epilogue == GemmEpilogue::BiasGeluTanh)
    os << "gelu_tanh(A.B^T + bias)";
  else if (spec.epilogue == GemmEpilogue::Bias)
    os << "A.B^T + bias";
  else
    os << "A.B^T";
  if (spec.residual)
    os << " + R";
  if (spec.layerNormInput)
    os << " (A = LayerNorm input: rstd (A.B^T - mean colsum) before the "
          "bias, row statistics from "
       << spec.layerNormPartials << " partials in %stats)";
  if (spec.rowStatistics)
    os << ", C's row statistics to %stats_out";
  os << "; CTA tile " << kTileM << "x" << spec.tileN << "x" << kTileK << ", "
     << plan.stages << " TMA stages, " << plan.dynamicSmemBytes
     << " B dynamic smem, ";
  if (plan.ws)
    os << "warp-specialised: " << plan.ctas << " persistent CTAs of "
       << plan.threads << " threads over " << plan.gridX << "x" << plan.gridY
       << " tiles\n";
  else
    os << "grid " << plan.gridX << "x" << plan.gridY << "\n";
  os << "module attributes {gpu.container_module} {\n";
  os << "  gpu.module @" << gemmKernelModuleName(spec) << " {\n";
  os << "    llvm.mlir.global external @" << kDynamicSmemSymbol
     << "() {addr_space = 3 : i32, alignment = 16 : i64} : "
        "!llvm.array<0 x i8>\n";
  os << KernelEmitter(plan, types).emit();
  os << "  }\n";
  os << emitHostFunction(plan, types, gemmLauncherName(spec), 0);
  if (options.benchmarkRepeats > 0)
    os << emitHostFunction(plan, types, gemmBenchmarkName(spec),
                           options.benchmarkRepeats);
  os << "}\n";
  return os.str();
}

} // namespace fly::gpu
